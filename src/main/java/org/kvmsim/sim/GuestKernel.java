package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.kvmsim.model.ByteSize;
import org.kvmsim.model.Content;
import org.kvmsim.model.ContentsSpec;
import org.kvmsim.model.Image;
import org.kvmsim.model.PageTableSpec;
import org.kvmsim.pages.PageImage;
import org.kvmsim.sim.guest.GuestMemory;
import org.kvmsim.sim.ksm.Ksmd;
import org.kvmsim.sim.mmu.TablePageAllocator;

/**
 * The guest operating system inside each VM, as far as memory goes: booting from an image,
 * contents laid out or written, its page allocator (data from the bottom of guest RAM up, page
 * tables from the top down), its address spaces (the default one workloads share, one per
 * `pagetable` block), and its page faults (a fresh guest page of its own content; with guest THP
 * a whole 2 MiB page where it can). A write to a page KSM merged breaks copy-on-write first.
 */
final class GuestKernel {
    /** Where workloads on a VM's default address space start, like an anonymous mmap. */
    static final long WORKLOAD_GVA = 0x7f00_0000_0000L;

    private final Engine e;

    GuestKernel(Engine e) {
        this.e = e;
    }

    /** The guest boots from its image: the footprint is touched, shared pages first, then zero, then unique. */
    void boot(VmState v, Image img) {
        if (img.pages() != null) {
            bootFromDump(v, img);
            return;
        }
        long pages = img.footprint() >>> 12;
        long shared = Math.round(pages * img.sharedPct() / 100.0);
        long zero = Math.min(pages - shared, Math.round(pages * img.zeroPct() / 100.0));
        for (long p = 0; p < pages; p++) {
            long c = p < shared ? GuestMemory.image(img.name(), p) : p < shared + zero ? GuestMemory.ZERO : e.nextUnique();
            setContent(v, p, c);
            e.worked(1);
        }
        v.nextFreeGuestPage = Math.max(v.nextFreeGuestPage, pages);
    }

    /**
     * Boots from real guest memory: the i-th VM booted from the image holds the latest dump of
     * the image's guest i mod k, page for page in every RAM block (guest RAM at its offsets, which
     * are its guest-physical pages as QEMU lays them out; the other blocks after it). What the
     * real host held is present, as a THP where it was one and as 4 KiB pages where it was not;
     * what it mapped to the shared zero page maps it here too (not present, not scanned); what it
     * did not hold is not present. Pages that changed between the guest's dumps change at the
     * rate observed ({@link ObservedChanges}). The guest's allocator (workloads, page tables)
     * continues above the highest page of guest RAM the dump holds.
     */
    private void bootFromDump(VmState v, Image img) {
        PageImage pi = img.pages();
        int guest = (int) (e.nextImageBoot(img.name()) % pi.guests().size());
        PageImage.Dump d = img.dumpOf(guest);
        int ram = pi.ramBlock();
        long top = 0;
        for (int b = 0; b < pi.blocks().size(); b++) {
            if (b != ram && v.blockBase == null) continue; // hugetlbfs RAM: the image's guest RAM only
            long base = b == ram ? 0 : v.blockBase[b];
            int[] codes = d.codes()[b];
            byte[] flags = d.flags()[b];
            // the pages held first: a read fault into an empty region before them could map the
            // huge zero page over the whole 2 MiB
            for (int p = 0; p < codes.length; p++) {
                int c = codes[p];
                if (c < PageImage.ZERO) continue;
                if ((flags[p] & PageImage.THP) == 0) e.qemu.touchSmall(v, base + p);
                if (!v.running()) return;
                setContent(v, base + p, c == PageImage.ZERO ? GuestMemory.ZERO : GuestMemory.image(img.name(), c));
                if (!v.running()) return;
                if (b == ram) top = p + 1;
                e.worked(1);
            }
            for (int p = 0; p < codes.length; p++) {
                if (codes[p] == PageImage.ZERO_PAGE_MAPPED) e.qemu.readFault(v, base + p);
                if (!v.running()) return;
            }
        }
        v.nextFreeGuestPage = Math.max(v.nextFreeGuestPage, top);
        ObservedChanges.schedule(e, v, pi, guest);
    }

    /**
     * Pages that changed between a guest's dumps keep changing: a page seen changed in c of the
     * intervals between its dumps, which span S seconds, gets new content every S / c. Pages of
     * one period are spread over it (page i of the group at phase i mod n of n steps, n at most
     * 64), so the changes do not all land on one instant. A changed page gets content no other
     * page has, as most real changes (counters, buffers, timestamps) do.
     */
    static final class ObservedChanges extends Timer {
        static final int STEPS = 64;
        final VmState vm;
        final long[] pages;
        final long step;
        final int steps;
        int tick;

        ObservedChanges(VmState vm, long[] pages, long periodNs) {
            this.vm = vm;
            this.pages = pages;
            this.steps = Math.min(STEPS, pages.length);
            this.step = Math.max(1, periodNs / steps);
        }

        static void schedule(Engine e, VmState v, PageImage pi, int guest) {
            java.util.TreeMap<Long, java.util.List<Long>> byPeriod = new java.util.TreeMap<>();
            for (int b = 0; b < pi.blocks().size(); b++) {
                if (b != pi.ramBlock() && v.blockBase == null) continue;
                PageImage.Changes ch = pi.changes(guest, b);
                if (ch == null) continue;
                long base = b == pi.ramBlock() ? 0 : v.blockBase[b];
                int[] n = ch.count();
                for (int p = 0; p < n.length; p++) {
                    if (n[p] == 0) continue;
                    long period = Math.round(ch.seconds() / n[p] * 1e9);
                    byPeriod.computeIfAbsent(period, k -> new java.util.ArrayList<>()).add(base + p);
                }
            }
            for (var en : byPeriod.entrySet()) {
                long[] pages = en.getValue().stream().mapToLong(Long::longValue).toArray();
                ObservedChanges t = new ObservedChanges(v, pages, en.getKey());
                e.schedule(e.now + t.step, t);
            }
        }

        @Override
        void fire(Engine e) {
            if (!vm.running()) return;
            for (int i = tick % steps; i < pages.length; i += steps) {
                if (!vm.memory.isPresent(pages[i])) continue;
                if (!e.guest.write(vm, pages[i], e.nextUnique())) return;
            }
            tick++;
            e.schedule(at + step, this);
        }
    }

    void lay(VmState v, ContentsSpec c) {
        for (ContentsSpec.Fill f : c.fills()) fill(v, f.from(), f.to(), f.content());
    }

    /**
     * Sets pages from..to to a content, as the guest writing them would. Cut short by an
     * interrupt, it keeps the pages written so far, as if the range had ended there.
     */
    void fill(VmState v, long from, long to, Content c) {
        long p = from;
        try {
            for (; p <= to; p++) {
                long id = switch (c.kind()) {
                    case SAME -> GuestMemory.same(c.tag());
                    case ZERO -> GuestMemory.ZERO;
                    case UNIQUE, CHANGING -> e.nextUnique();
                    case IMAGE -> GuestMemory.image(c.image(), p - from);
                };
                setContent(v, p, id);
                e.worked(1); // page p is written when this interrupts
            }
        } catch (Engine.Interrupted i) {
            filled(v, from, p, c);
            throw i;
        }
        filled(v, from, to, c);
    }

    /** After pages from..last were filled: the guest's allocator moves past them, a changing range starts changing. */
    private void filled(VmState v, long from, long last, Content c) {
        if (c.kind() == Content.Kind.CHANGING) e.schedule(e.now + c.periodNs(), new ChangingTimer(v, from, last, c.periodNs()));
        v.nextFreeGuestPage = Math.max(v.nextFreeGuestPage, last + 1);
    }

    /** Pages whose content changes at a period (`changing every D`). */
    static final class ChangingTimer extends Timer {
        final VmState vm;
        final long from, to, period;

        ChangingTimer(VmState vm, long from, long to, long period) {
            this.vm = vm;
            this.from = from;
            this.to = to;
            this.period = period;
        }

        @Override
        void fire(Engine e) {
            if (!vm.running()) return;
            for (long p = from; p <= to; p++) {
                if (!e.guest.write(vm, p, e.nextUnique())) return;
            }
            e.schedule(at + period, this);
        }
    }

    /** A guest write or first touch: makes the page present in the host, then sets its content. */
    void setContent(VmState v, long page, long content) {
        e.qemu.touch(v, page);
        if (!v.running()) return;
        write(v, page, content);
    }

    /**
     * Changes a present page's content; a merged page breaks copy-on-write first. Returns false
     * when the copy could not be made because the OOM killer chose this VM (nothing is written).
     */
    boolean write(VmState v, long page, long content) {
        if (v.ksmSlot >= 0 && v.memory.isPresent(page)) {
            Ksmd.Cow cow = e.hosts.get(v.decl.host()).ksmd.onWrite(v.ksmSlot, (int) page);
            if (cow != Ksmd.Cow.NONE) {
                // do_wp_page() -> wp_page_copy(): the KSM page (freed by onWrite if this was its
                // last mapping) or the zero page is unmapped and a fresh private frame mapped.
                if (cow == Ksmd.Cow.ZERO_PAGE) v.ksmZeroMapped--;
                if (!newPrivateFrame(v, page)) return false;
            }
        }
        v.memory.set(page, content);
        return true;
    }

    /** Whether a write to {@code page} only gives it new content (no copy-on-write break to make). */
    boolean writeIsContentOnly(VmState v, long page) {
        return v.ksmSlot < 0 || !v.memory.isPresent(page) || !e.hosts.get(v.decl.host()).ksmd.isMerged(v.ksmSlot, (int) page);
    }

    /**
     * A page that mapped a KSM page or the zero page gets a private frame of its own (a COW break
     * or break_ksm()); the nested entry is zapped and the TLBs shot down, which the MMU prices.
     * False when the OOM killer had to kill this VM for the frame.
     */
    boolean newPrivateFrame(VmState v, long page) {
        v.anon.unmap(page);
        e.qemu.touch(v, page);
        if (!v.running()) return false;
        if (v.mmu != null && v.isRam(page)) v.mmu.invalidateHostPage(v.slots.gpaPage(page) << 12);
        return true;
    }

    /**
     * A fresh guest page (the guest kernel's page allocator), aligned to {@code align} pages: its
     * page in guest RAM, never in the first MiB (Linux reserves it) and never across the split
     * below 4 GiB (the pages on either side are not adjacent in guest-physical memory). The
     * split is a whole number of GiB from 4 GiB, so alignment holds in guest-physical terms too.
     */
    long allocGuestPages(VmState v, long pages, long align) {
        if (align >= GIGANTIC_PAGES) {
            long top = gigantic(v, pages, align);
            if (top >= 0) return top;
        }
        long first = (v.nextFreeGuestPage + align - 1) / align * align;
        long split = v.slots.splitPage();
        if (first < split && first + pages > split) first = (split + align - 1) / align * align;
        long limit = v.nextTablePage < 0 ? v.ramPages : v.nextTablePage + 1;
        if (first + pages > limit) {
            throw new Engine.SimError("vm '" + v.decl.name() + "' is out of guest memory (" + new ByteSize(v.decl.memory())
                    + "): its image, contents, page tables and workloads need more");
        }
        v.nextFreeGuestPage = first + pages;
        return first;
    }

    /** 4 KiB pages in a 1 GiB guest page. */
    private static final long GIGANTIC_PAGES = 1L << 18;

    /**
     * A 1 GiB guest page as Linux reserves gigantic pages at boot: memblock allocates top-down,
     * so it takes the highest free 1 GiB-aligned GiB of guest RAM, never the first (which holds
     * the reserved first MiB and, in KVM, the unaligned edge of the low-RAM memslot), and never
     * across the split below 4 GiB. Page tables, which also come from the top of guest RAM here,
     * continue below it. -1 if no such GiB is free (the page then goes bottom-up).
     */
    private long gigantic(VmState v, long pages, long align) {
        long top = v.nextTablePage < 0 ? v.ramPages : v.nextTablePage + 1;
        long first = (top - pages) / align * align;
        long split = v.slots.splitPage();
        if (first < split && first + pages > split) first = (split - pages) / align * align;
        if (top - pages < 0 || first < GIGANTIC_PAGES || first < v.nextFreeGuestPage) return -1;
        v.nextTablePage = first - 1;
        return first;
    }

    /**
     * Guest page tables live in guest memory: each is a guest page of its own content. A
     * workload's tables are the guest's own writes, whose host faults the first EPT violation (or
     * shadow fault) reaching the page pays for; a `pagetable` block's are laid out like contents.
     */
    private TablePageAllocator tableAllocator(VmState v, boolean workload) {
        return () -> {
            if (v.nextTablePage < 0) v.nextTablePage = v.ramPages - 1;
            long p = v.nextTablePage;
            if (p < v.nextFreeGuestPage) {
                throw new Engine.SimError("vm '" + v.decl.name() + "' is out of guest memory for its page tables");
            }
            v.nextTablePage--;
            if (workload && v.running()) v.ram.touchForGuestFault(p);
            setContent(v, p, e.nextUnique());
            return v.slots.gpaPage(p) << 12;
        };
    }

    int defaultSpace(VmState v) {
        if (v.defaultSpace < 0) v.defaultSpace = v.mmu.newAddressSpace(tableAllocator(v, true));
        return v.defaultSpace;
    }

    void buildPagetable(VmState v, PageTableSpec pt) {
        // the memory first, as a guest reserves huge and gigantic pages before a process maps
        // them; then the address space and its tables
        List<long[]> maps = new ArrayList<>();
        long bytes = 0;
        for (PageTableSpec.Mapping m : pt.mappings()) {
            long first = allocGuestPages(v, m.size() >>> 12, m.pageSize() >>> 12);
            maps.add(new long[] {m.gva(), m.size(), m.pageSize(), first << 12});
            bytes += m.size();
        }
        int space = v.mmu.newAddressSpace(tableAllocator(v, false));
        for (long[] m : maps) {
            for (long off = 0; off < m[1]; off += m[2]) {
                v.mmu.map(space, m[0] + off, (v.slots.gpaPage(m[3] >>> 12) << 12) + off, m[2], true);
            }
        }
        v.pagetables.put(pt.name(), new VmState.PtSpace(space, maps, bytes));
    }

    /** The address space `show walk VM[.PAGETABLE]` and workloads use. */
    int space(VmState v, String pagetable) {
        if (pagetable == null) return defaultSpace(v);
        VmState.PtSpace pt = v.pagetables.get(pagetable);
        if (pt == null) {
            throw new Engine.SimError("pagetable '" + pagetable + "' of vm '" + v.decl.name()
                    + "' has no address space: building it failed");
        }
        return pt.space();
    }

    /** The name of an address space for tables: "default" or the pagetable's name. */
    static String spaceName(VmState v, int space) {
        if (space == v.defaultSpace) return "default";
        for (Map.Entry<String, VmState.PtSpace> en : v.pagetables.entrySet()) if (en.getValue().space() == space) return en.getKey();
        return Integer.toString(space);
    }

    /**
     * A guest page fault: the guest kernel backs the page with a fresh guest-physical page, or
     * under guest THP the whole 2 MiB around it with one huge page when it can.
     */
    void fault(VmState v, int space, long gva, boolean write) {
        Workloads.Run r = v.current;
        if (v.decl.guestThp() && r != null && r.pageToGpa != null && hugeFault(v, space, r, gva)) return;
        long gpaPage = allocGuestPages(v, 1, 1);
        v.mmu.map(space, gva & ~0xfffL, v.slots.gpaPage(gpaPage) << 12, 4096, true);
        // the guest zeroes its new page: the host fault behind it belongs to this access
        if (v.running()) v.ram.touchForGuestFault(gpaPage);
        // The workload's data: every page distinct (as if initialised by the program).
        setContent(v, gpaPage, e.nextUnique());
        if (r != null && r.pageToGpa != null) {
            long idx = ((gva & ~0xfffL) - r.base) >>> 12;
            if (idx >= 0 && idx < r.pageToGpa.length) r.pageToGpa[(int) idx] = gpaPage;
        }
        if (r != null && r.traceGpa != null) r.traceGpa.put(gva >>> 12, gpaPage);
    }

    /**
     * The guest kernel's THP fault (mm/huge_memory.c do_huge_pmd_anonymous_page()): the 2 MiB
     * around {@code gva} gets one huge guest page if it lies wholly inside the workload's range
     * (the VMA), nothing in it is mapped yet (pmd_none()), and the guest has a free 2 MiB-aligned
     * block; all 512 pages are zeroed, which the MMU prices (clear_page_cycles). False, with
     * nothing done, when the fault must fall back to a 4 KiB page.
     */
    private boolean hugeFault(VmState v, int space, Workloads.Run r, long gva) {
        long region = gva & -(2L << 20);
        long first = (region - r.base) >>> 12;
        if (region < r.base || first + 512 > r.pageToGpa.length || !v.mmu.guestUnmapped2m(space, region)) return false;
        long gpaPage = (v.nextFreeGuestPage + 511) & -512L;
        long limit = v.nextTablePage < 0 ? v.ramPages : v.nextTablePage + 1;
        // and room left for the table pages the mapping may need (taken from the top of guest RAM)
        // (at most levels - 2 of them: the root exists, the leaf is the PD entry)
        if (gpaPage + 512 + v.decl.levels() - 2 > limit) return false;
        v.nextFreeGuestPage = gpaPage + 512;
        v.mmu.map(space, region, v.slots.gpaPage(gpaPage) << 12, 2L << 20, true);
        for (int i = 0; i < 512 && v.running(); i++) {
            v.ram.touchForGuestFault(gpaPage + i);
            if (!v.running()) break;
            setContent(v, gpaPage + i, e.nextUnique());
            r.pageToGpa[(int) first + i] = gpaPage + i;
        }
        // the guest zeroed the whole huge page: its writes reached every page (EPT violations)
        if (v.running()) v.mmu.guestWroteRange(v.slots.gpaPage(gpaPage) << 12, 2L << 20);
        return true;
    }
}
