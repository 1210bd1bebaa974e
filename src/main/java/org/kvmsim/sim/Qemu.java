package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.kvmsim.model.Backing;
import org.kvmsim.model.ByteSize;
import org.kvmsim.model.ContentsSpec;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.PageTableSpec;
import org.kvmsim.sim.guest.GuestMemory;
import org.kvmsim.sim.hugetlb.HugetlbException;
import org.kvmsim.sim.hugetlb.HugetlbMapping;
import org.kvmsim.sim.hugetlb.ThpMapping;
import org.kvmsim.sim.ksm.MergeableRegion;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mem.OomKiller;
import org.kvmsim.sim.mmu.Mmu;
import org.kvmsim.sim.view.VmRunState;

/**
 * A VM's life as QEMU runs it, and the host memory behind it. Start: map guest RAM (anonymous,
 * madvised for THP, or a hugetlbfs file that reserves its whole size and fails as QEMU does when
 * the pool cannot cover it), register it with ksmd (MADV_MERGEABLE unless mem-merge=off), fault
 * it all in with -mem-prealloc, boot the guest. Host faults behind guest RAM ({@link #touch}) take
 * frames from the host's buddy allocators; when none is left the OOM killer picks the VM with the
 * highest badness, as mm/oom_kill.c would. Stop or kill: every frame goes back.
 */
final class Qemu {
    /**
     * Where QEMU maps guest RAM in its own address space, 1 GiB aligned: hva = RAM_HVA + the
     * page's offset in the RAM block, which is its gpa below 4 GiB (see {@link Memslots}).
     */
    static final long RAM_HVA = 0x7fc0_0000_0000L;

    private final Engine e;
    /** QEMU processes started so far (their creation order, see {@link VmState#startSeq}). */
    private long starts;

    Qemu(Engine e) {
        this.e = e;
    }

    /** Starts one VM (QEMU's start-up: map guest RAM, reserve, prealloc, boot the image). */
    void start(VmState v, Declarations d) {
        HostState h = e.hosts.get(v.decl.host());
        VmRunState before = v.state;
        long pages = v.decl.memory() >>> 12;
        v.ramPages = pages;
        long mapped = layBlocks(v, d, pages);
        // A VM started again after `stop` boots afresh: a new guest, new tables, new address spaces.
        v.defaultSpace = -1;
        v.pagetables.clear();
        // Linux reserves the first MiB (the BIOS's, and QEMU's VGA window and ROMs sit there)
        v.nextFreeGuestPage = Memslots.LOW_RAM_GPA >>> 12;
        v.slots = new Memslots(v.decl.machine(), v.decl.memory());
        v.nextTablePage = -1;
        v.nextWorkloadGva = GuestKernel.WORKLOAD_GVA;
        v.current = null;
        e.workloads.forget(v);
        v.memory = new GuestMemory(mapped);
        v.startSeq = ++starts;
        if (v.decl.backing().kind() == Backing.Kind.HUGEPAGES) {
            long size = h.decl.pool(v.decl.backing().pool()).pageSize();
            try {
                v.huge = HugetlbMapping.mmap(h.pools.pool(size), v.decl.memory(), !v.decl.reserve());
                v.huge.tableNode(v.decl.node());
            } catch (HugetlbException x) {
                v.state = VmRunState.FAILED;
                // QEMU's message (backends/hostmem-file.c, via qemu_ram_alloc_from_fd): see HugetlbException.
                e.event("vm_failed", v.decl.name(), HugetlbException.QEMU_MAP_FAILED);
                throw new Engine.SimError("vm '" + v.decl.name() + "' failed to start: " + HugetlbException.QEMU_MAP_FAILED);
            }
        } else {
            // backing = thp: guest RAM madvised MADV_HUGEPAGE (as QEMU does), so THP is used under
            // thp = madvise or always; backing = anonymous: 4 KiB pages unless thp = always.
            boolean madvised = v.decl.backing().kind() == Backing.Kind.THP;
            ThpMapping anon = new ThpMapping(h.mem, h.thp, mapped, madvised, v.decl.node());
            v.anon = anon;
            noHugeOutsideBlocks(v, anon, mapped);
            // khugepaged_enter_vma(): at QEMU's madvise (or the mmap under thp = always) if THP is
            // enabled for guest RAM now, else at its first fault in an empty 2 MiB range once it is
            anon.onKhugepagedEnter(() -> e.daemons.khugepagedEnter(h, anon));
            if (anon.thpEnabled()) e.daemons.khugepagedEnter(h, anon);
        }
        int eventsBefore = e.eventCount();
        try {
            startRunning(v, d, h, pages);
        } catch (Engine.Interrupted i) {
            // a start cut short is undone: QEMU never ran, its memory goes back, the VM is as it
            // was (the frames it gets at its next start may differ); what the start did to
            // others stays (a VM the OOM killer took for it, and that event)
            if (e.scratch) throw i;
            release(v);
            v.state = before;
            e.dropEventsOf(v.decl.name(), eventsBefore);
            throw i;
        } catch (Engine.SimError x) {
            // whatever the start had set up goes back (the reservation too), as when QEMU exits
            release(v);
            v.state = VmRunState.FAILED;
            e.event("vm_failed", v.decl.name(), x.getMessage());
            throw x;
        }
    }

    /**
     * An image from a page file brings the other RAM blocks QEMU registered (pc.bios, option
     * ROMs, ACPI tables, vga.vram): ksmd scans them as it scans guest RAM (QEMU's ram_block_add()
     * marks every block mergeable, and madvises it for THP). Each is mapped after guest RAM on
     * a 2 MiB boundary, as QEMU's qemu_ram_mmap() aligns each block on its own. Returns the
     * pages the VM's mapping spans.
     */
    private static long layBlocks(VmState v, Declarations d, long ramPages) {
        v.blockBase = null;
        v.blockEnd = null;
        org.kvmsim.model.Image img = v.decl.image() == null ? null : d.images.get(v.decl.image());
        if (img == null || img.pages() == null || v.decl.backing().kind() == Backing.Kind.HUGEPAGES) return ramPages;
        var blocks = img.pages().blocks();
        int ram = img.pages().ramBlock();
        v.blockBase = new long[blocks.size()];
        v.blockEnd = new long[blocks.size()];
        v.blockEnd[ram] = ramPages;
        long next = (ramPages + ThpMapping.REGION_PAGES - 1) & -(long) ThpMapping.REGION_PAGES;
        long end = ramPages;
        for (int b = 0; b < blocks.size(); b++) {
            if (b == ram) continue;
            v.blockBase[b] = next;
            end = next + blocks.get(b).pages();
            v.blockEnd[b] = end;
            next = (end + ThpMapping.REGION_PAGES - 1) & -(long) ThpMapping.REGION_PAGES;
        }
        return end;
    }

    /** 2 MiB regions past guest RAM that a block does not fill wholly take no THP (a VMA shorter than it). */
    private static void noHugeOutsideBlocks(VmState v, ThpMapping anon, long mapped) {
        if (v.blockBase == null) return;
        long firstExtra = v.ramPages / ThpMapping.REGION_PAGES;
        long regions = (mapped + ThpMapping.REGION_PAGES - 1) / ThpMapping.REGION_PAGES;
        for (long r = firstExtra; r < regions; r++) {
            long lo = r * ThpMapping.REGION_PAGES, hi = lo + ThpMapping.REGION_PAGES;
            boolean whole = hi <= v.ramPages;
            for (int b = 0; b < v.blockBase.length && !whole; b++) whole = lo >= v.blockBase[b] && hi <= v.blockEnd[b];
            if (!whole) anon.noHugeIn((int) r);
        }
    }

    private void startRunning(VmState v, Declarations d, HostState h, long pages) {
        for (int i = 0; i < v.processTables.length; i++) {
            int f = h.mem.alloc(0, v.decl.node());
            if (f < 0) throw new Engine.SimError("host '" + h.decl.name() + "' has no free page for the page tables of vm '" + v.decl.name() + "'");
            v.processTables[i] = f;
            h.mem.add(HostMemory.Counter.PAGE_TABLES, 1);
        }
        v.state = VmRunState.RUNNING;
        // QEMU marks anonymous guest RAM MADV_MERGEABLE unless mem-merge=off; hugetlbfs RAM never is.
        if (h.ksmd != null && v.anon != null && v.decl.memMerge()) {
            GuestMemory gm = v.memory;
            // the region reads this run's memory and mapping, which ksmd may still look at (an
            // exiting slot's unstable entries) after the VM stopped or restarted
            ThpMapping anon = v.anon;
            v.ksmSlot = h.ksmd.addSlot(new MergeableRegion() {
                public int pages() {
                    return (int) gm.pages();
                }

                public long content(int page) {
                    return gm.content(page);
                }

                // where the page's frame is (merge_across_nodes = 0 keeps one tree per node);
                // a KSM page's frame is taken on the node of the page that made it
                public int node(int page) {
                    int f = anon.frameOf(page);
                    return f < 0 ? 0 : h.mem.nodeOf(f);
                }
            });
            if (v.ksmSlot != h.ksmVms.size()) throw new IllegalStateException("ksmd slot ids out of step");
            h.ksmVms.add(v);
            v.anon.setForeignPages(h.ksmFrames.foreignPages(v));
            // KSM's THP split maps zero-filled subpages to the zero page (not present, not scanned)
            // (a page ksmd holds in a tree stays: Linux remaps it too and drops the tree entry
            // as stale at its next lookup, which the model does not follow)
            v.anon.setZeroFilled(p -> gm.content(p) == GuestMemory.ZERO && !h.ksmd.holds(v.ksmSlot, (int) p), gm::clear);
        }
        v.ram = new GuestRamBacking(e, v, h);
        v.mmu = new Mmu(v.decl.name(), v.decl.paging(), h.cores, v.decl.vcpus(), v.decl.levels(), v.decl.levels(),
                v.ram, RAM_HVA);
        v.mmu.setGuestFaultHandler((mmu, space, gva, write) -> e.guest.fault(v, space, gva, write));
        v.mmu.setPvTlbFlush(v.decl.pvTlbFlush());
        v.mmu.setGuestPcid(v.decl.pcid());
        // KVM's default n_max_mmu_pages for the VM's memslots (QEMU does not set KVM_SET_NR_MMU_PAGES)
        v.mmu.setShadowPageLimit(Mmu.shadowPageLimit(v.decl.memory()));
        v.busyThreads = null;
        h.sched.place(v);
        e.event("vm_start", v.decl.name(), "on " + h.decl.name() + ", " + new ByteSize(v.decl.memory()) + ", " + v.decl.backing());
        if (v.decl.prealloc()) {
            // QEMU's -mem-prealloc touches every page: each is faulted in zero-filled, as the guest
            // will find it (and as ksmd reads it: preallocated RAM is mergeable zero pages)
            for (long p = 0; p < pages && v.running(); p++) {
                touch(v, p);
                if (v.running() && !v.memory.isPresent(p)) v.memory.set(p, GuestMemory.ZERO);
                e.worked(1);
            }
            if (!v.running()) return; // the OOM killer chose it (or SIGBUS)
        }
        if (v.decl.image() != null) e.guest.boot(v, d.images.get(v.decl.image()));
        for (ContentsSpec c : d.contents.getOrDefault(v.decl.name(), List.of())) e.guest.lay(v, c);
        for (PageTableSpec pt : d.pagetables.values()) {
            if (pt.vm().equals(v.decl.name())) e.guest.buildPagetable(v, pt);
        }
    }

    /** Makes a guest page present in the host (a fault), OOM-killing a VM if the host is out of frames. */
    void touch(VmState v, long page) {
        if (v.huge != null) {
            long hp = page / (v.huge.pool().pageBytes() >>> 12);
            while (v.huge.frameOf(hp) < 0 && v.huge.needsTablePage(hp) && hostOf(v).mem.freePages() == 0) {
                // no order-0 frame for the PMD page: the kernel's answer is the OOM killer
                if (oomKill(hostOf(v)) == v) return;
            }
            if (v.huge.frameOf(hp) < 0 && !v.huge.fault(hp)) {
                // A MAP_NORESERVE guest touching beyond its pool dies of SIGBUS, as on Linux.
                release(v);
                v.state = VmRunState.KILLED;
                e.event("sigbus", v.decl.name(), "no huge page for a fault of its MAP_NORESERVE mapping (QEMU dies of SIGBUS)");
            }
            return;
        }
        boolean zero = v.anon != null && v.anon.isZeroMapped(page);
        boolean hugeZero = zero && v.anon.isHugeZero(page);
        boolean wasHuge = v.anon != null && v.anon.isHuge(page);
        while (v.anon != null && v.anon.fault(page) < 0) {
            if (oomKill(hostOf(v)) == v) return;
        }
        if (v.anon != null && !wasHuge && v.anon.isHuge(page)) zeroFilled(v, page & -(long) ThpMapping.REGION_PAGES);
        if (zero && v.mmu != null && v.isRam(page)) {
            // the host PTE (or the huge zero PMD) changed from the zero page to a page of its own:
            // the MMU notifier zaps the read-only nested entry or sptes mapping the zero page
            // (RAM pages, so through the memslots to guest-physical addresses; a 2 MiB range of
            // RAM stays one 2 MiB range of GPA, as lowmem is 2 MiB aligned)
            if (hugeZero) v.mmu.invalidateHostRange(v.slots.gpaPage(page & -512L) << 12, 2L << 20);
            else v.mmu.invalidateHostPage(v.slots.gpaPage(page) << 12);
        }
    }

    /**
     * A THP just faulted in or collapsed over a region: the kernel zeroed all 512 pages
     * (clear_huge_page(), or the copy's zero fill of none PTEs in __collapse_huge_page_copy()),
     * so the ones the guest never wrote are present zero pages, which ksmd scans and merges
     * (only through the zero page with use_zero_pages, else as equal pages).
     */
    static void zeroFilled(VmState v, long first) {
        long end = Math.min(first + ThpMapping.REGION_PAGES, v.memory.pages());
        for (long p = first; p < end; p++) if (!v.memory.isPresent(p)) v.memory.set(p, GuestMemory.ZERO);
    }

    /**
     * Makes a page present with a 4 KiB page of its own even where a THP could go (a region the
     * real host held as small pages, laid out again from a dump); OOM as {@link #touch}.
     */
    void touchSmall(VmState v, long page) {
        if (v.anon == null) {
            touch(v, page);
            return;
        }
        while (v.anon.faultSmall(page) < 0) {
            if (oomKill(hostOf(v)) == v) return;
        }
    }

    /**
     * A read fault behind guest RAM (GUP without FOLL_WRITE): on anonymous memory never written,
     * the zero page or the huge zero page is mapped instead of a page of its own. Returns the
     * log2 size of the zero mapping (12 or 21), or 0 with nothing done when the page is present
     * or the read must allocate as a write does (hugetlbfs memory, a THP without use_zero_page).
     */
    int readFault(VmState v, long page) {
        if (v.anon == null) return 0;
        int z;
        while ((z = v.anon.readFault(page)) < 0) {
            if (oomKill(hostOf(v)) == v) return 0;
        }
        return z;
    }

    private HostState hostOf(VmState v) {
        return e.hosts.get(v.decl.host());
    }

    /** The OOM killer on host {@code h}: kills the VM with the highest badness and returns it. */
    private VmState oomKill(HostState h) {
        VmState victim = oomVictim(h);
        if (victim == null) throw new Engine.SimError("host '" + h.decl.name() + "' is out of memory and nothing can be killed");
        release(victim);
        victim.state = VmRunState.KILLED;
        e.event("oom_kill", victim.decl.name(), "out of memory: the OOM killer chose it (largest resident set)");
        return victim;
    }

    private VmState oomVictim(HostState h) {
        List<VmState> live = new ArrayList<>();
        for (VmState v : e.vms.values()) {
            if (v.running() && v.decl.host().equals(h.decl.name())) live.add(v);
        }
        // select_bad_process() visits tasks in creation order, and a later one wins a tie
        live.sort(Comparator.comparingLong(v -> v.startSeq));
        List<OomKiller.Candidate> cands = new ArrayList<>();
        for (VmState v : live) {
            // hugetlb pages are not in a task's RSS (mm/oom_kill.c oom_badness: get_mm_rss counts
            // anon/file/shmem); its page tables count, as mm_pgtables_bytes does: the PUD, PMD and
            // PTE pages, not the PGD (processTables[0])
            long tablePages = v.processTables.length - 1 + (v.anon == null ? 0 : v.anon.tablePages())
                    + (v.huge == null ? 0 : v.huge.tablePages());
            cands.add(new OomKiller.Candidate(v.decl.name(), v.anon == null ? 0 : v.anon.presentPages() - v.ksmZeroMapped,
                    tablePages * 4096));
        }
        int i = OomKiller.selectVictim(cands, h.mem.totalPages());
        return i < 0 ? null : live.get(i);
    }

    /** `stop VM`: the guest shuts down and QEMU exits; every frame goes back to the host. */
    void stop(VmState v) {
        if (!v.running()) return;
        release(v);
        v.state = VmRunState.STOPPED;
        e.event("vm_stop", v.decl.name(), "memory returned to the host");
    }

    /** QEMU exits: ksmd forgets its slot, guest RAM, QEMU's own tables and KVM's go back. */
    private void release(VmState v) {
        HostState h = e.hosts.get(v.decl.host());
        if (v.ksmSlot >= 0) {
            // __ksm_exit() and the unmap: KSM pages this VM mapped last are freed now
            h.ksmd.removeSlot(v.ksmSlot);
            v.ksmSlot = -1;
            v.ksmZeroMapped = 0;
        }
        if (v.anon != null) {
            h.khugepaged.unregister(v.anon);
            v.anon.release();
            v.anon = null;
        }
        if (v.huge != null) {
            v.huge.munmap();
            v.huge = null;
        }
        for (int i = 0; i < v.processTables.length; i++) {
            if (v.processTables[i] >= 0) {
                h.mem.free(v.processTables[i], 0);
                h.mem.add(HostMemory.Counter.PAGE_TABLES, -1);
                v.processTables[i] = -1;
            }
        }
        if (v.mmu != null) {
            // KVM frees the VM's EPT/NPT or shadow pages when the VM goes (kvm_mmu_uninit_vm).
            for (int f : v.tableFrames) h.mem.free(f, 0);
            h.mem.add(HostMemory.Counter.SEC_PAGE_TABLES, -v.tableFrames.size());
            v.tableFrames.clear();
            h.sched.remove(v);
            v.mmu = null;
            v.ram = null;
        }
        v.memory = null;
        e.cancelTimers(t -> t instanceof GuestKernel.ChangingTimer c && c.vm == v
                || t instanceof GuestKernel.ObservedChanges o && o.vm == v
                || t instanceof Workloads.SliceTimer w && w.run.vm == v);
    }
}
