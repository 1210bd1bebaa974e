package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import org.kvmsim.model.Backing;
import org.kvmsim.model.Content;
import org.kvmsim.model.ContentsSpec;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.Image;
import org.kvmsim.model.Vm;
import org.kvmsim.model.Workload;
import org.kvmsim.sim.guest.GuestMemory;
import org.kvmsim.sim.hugetlb.HugePagePool;
import org.kvmsim.sim.hugetlb.HugetlbException;
import org.kvmsim.sim.hugetlb.HugetlbMapping;
import org.kvmsim.sim.hugetlb.HugetlbPools;
import org.kvmsim.sim.hugetlb.Khugepaged;
import org.kvmsim.sim.hugetlb.ThpMapping;
import org.kvmsim.sim.hugetlb.ThpSettings;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mem.OomKiller;
import org.kvmsim.sim.view.Event;
import org.kvmsim.sim.view.Probe;
import org.kvmsim.sim.view.SimView;
import org.kvmsim.sim.view.VmRunState;

/**
 * The simulation: a clock in nanoseconds, an event queue, and the state of every host and VM.
 * Mechanisms (host memory, hugetlb/THP, guest contents, workloads) plug in as state the engine
 * owns and events it schedules. It knows nothing of text, tables or notebooks; the session asks
 * it for numbers. Every random choice comes from a generator seeded from the session's seed and
 * the workload's own seed, so a script and seed give the same run on any machine.
 *
 * <p>VMs start as QEMU starts them: in declaration order, at the first `run` after they are
 * declared. Guest RAM is one mapping of the VM's memory (anonymous, THP or hugetlbfs), populated
 * on first touch; a hugetlbfs-backed VM reserves its whole RAM at start and fails as QEMU does
 * when the pool cannot cover it. When a host runs out of frames, the OOM killer picks the VM with
 * the highest badness (largest resident set), as mm/oom_kill.c would.
 */
public final class Engine {

    /** Raised for a failure the user must see at the statement that caused it. */
    public static final class SimError extends RuntimeException {
        public SimError(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Looks for an interrupt and reports progress. The engine calls it between events and after
     * every {@link #POLL_WORK} units of work inside one (accesses, pages faulted in or scanned),
     * so it is called often however the work is sliced; it may throw {@link Interrupted}.
     */
    public interface Monitor {
        /** {@code doneNs} of {@code totalNs} of the current run simulated; 0 of 0 outside a run. */
        void tick(long doneNs, long totalNs);
    }

    /**
     * Thrown by a {@link Monitor} to stop the work. What was simulated before it counts: the clock
     * stays at the instant reached, a workload slice or ksmd wake-up cut short resumes at that
     * instant with what it had left at the next run, and a VM whose start it cut short goes back
     * to not started (its memory returned). Counters, clock and tables agree with each other.
     */
    public static final class Interrupted extends RuntimeException {
        public Interrupted() {
            super(null, null, false, false);
        }
    }

    /**
     * Units of work between two looks at the monitor: about 4 ms of accesses at 15 M/s, or of
     * pages faulted in or scanned by ksmd, on this project's machine; slower paths (shadow exits)
     * stay well inside a second.
     */
    static final int POLL_WORK = 1 << 16;

    private Monitor monitor;
    /** Simulated start and length of the current run, for progress (0 length outside a run). */
    private long runStart, runLength;
    private long workSincePoll;

    /** The monitor every long computation reports to from now on (null: none). */
    public void monitor(Monitor m) {
        this.monitor = m;
    }

    /** Counts {@code units} of work done inside an event, and looks at the monitor every POLL_WORK. */
    void worked(long units) {
        worked(units, 0);
    }

    /** As {@link #worked(long)}; {@code partialNs}: how far into its slice the current event got. */
    void worked(long units, long partialNs) {
        workSincePoll += units;
        if (workSincePoll >= POLL_WORK) {
            workSincePoll = 0;
            if (monitor != null) monitor.tick(Math.min(runLength, now - runStart + partialNs), runLength);
        }
    }

    final long seed;
    long now;
    private long uniqueSerial;
    private long eventSeq;
    final Map<String, HostState> hosts = new LinkedHashMap<>();
    final Map<String, VmState> vms = new LinkedHashMap<>();
    private final List<Event> events = new ArrayList<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();

    public Engine(long seed) {
        this.seed = seed;
    }

    public long now() {
        return now;
    }

    private final SimView view = new EngineView(this);

    /** The simulation, read-only, as queries see it. */
    public SimView view() {
        return view;
    }

    private final Probe probe = new Probe() {
        @Override
        public int space(String vm, String pagetable) {
            return Engine.this.space(running(vm), pagetable);
        }

        @Override
        public List<org.kvmsim.sim.view.WalkRef> walk(String vm, int space, long gva) {
            try {
                return running(vm).mmu.walk(space, gva);
            } catch (VmGone gone) {
                throw new Probe.VmKilled();
            }
        }

        @Override
        public java.util.Optional<org.kvmsim.sim.view.Translation> translate(String vm, int space, long gva) {
            try {
                return running(vm).mmu.translate(space, gva);
            } catch (VmGone gone) {
                throw new Probe.VmKilled();
            }
        }
    };

    /** The lookups queries may make that change state (walks fill in entries, fault pages in). */
    public Probe probe() {
        return probe;
    }

    private VmState running(String name) {
        VmState v = vms.get(name);
        if (v == null || v.state != VmRunState.RUNNING) throw new IllegalStateException("vm '" + name + "' is not running");
        return v;
    }

    public List<Event> events() {
        return List.copyOf(events);
    }

    void event(String kind, String subject, String detail) {
        events.add(new Event(now, kind, subject, detail));
    }

    long nextUnique() {
        return GuestMemory.unique(++uniqueSerial);
    }

    // --- hosts and VMs

    /** A host's simulated state: its memory, hugetlb pools, THP settings and khugepaged. */
    public static final class HostState {
        public final Host decl;
        public final HostMemory mem;
        public final HugetlbPools pools;
        public final ThpSettings thp = new ThpSettings();
        public final Khugepaged khugepaged;
        /** The physical CPU the host's VMs share (TLBs, walk caches; a switch without VPID flushes). */
        public final org.kvmsim.sim.mmu.Cpu cpu;
        /** ksmd, or null when the host has no KSM policy (run = 0, nothing mergeable is scanned). */
        public final org.kvmsim.sim.ksm.Ksmd ksmd;
        /** The VM of each of ksmd's mm_slots, by slot id. */
        final List<VmState> ksmVms = new ArrayList<>();
        /**
         * The frame of the kernel's zero page (empty_zero_page, in the kernel image: reserved at
         * boot, so outside MemTotal and the buddy allocators): the frame just past the host's RAM.
         */
        public final int zeroFrame;
        /** Frame + 1 of each KSM page, by stable node id (0: none, or not placed yet). */
        int[] kpageFrame = new int[64];

        HostState(Host decl) {
            this.decl = decl;
            this.mem = HostMemory.split(decl.memory(), decl.numaNodes());
            this.pools = new HugetlbPools(mem);
            thp.mode = ThpSettings.Mode.valueOf(decl.thp().name());
            this.khugepaged = new Khugepaged(thp);
            this.cpu = new org.kvmsim.sim.mmu.Cpu(org.kvmsim.model.CpuModel.preset(decl.cpu()).with(decl.cpuOverrides()));
            this.zeroFrame = (int) mem.totalPages();
            if (decl.ksm() != null) {
                ksmd = new org.kvmsim.sim.ksm.Ksmd();
                // Knobs in the order an admin's script must write them: the advisor's mode after
                // pages_to_scan (which it then owns), run last.
                for (Map.Entry<String, Long> k : new java.util.TreeMap<>(decl.ksm().knobs()).entrySet()) {
                    if (k.getKey().equals("run") || k.getKey().equals("advisor_mode")) continue;
                    ksmd.set(k.getKey(), Long.toString(k.getValue()));
                }
                ksmd.set("advisor_mode", decl.ksm().knob("advisor_mode") == 1 ? "scan-time" : "none");
                ksmd.set("run", Long.toString(decl.ksm().knob("run")));
            } else {
                ksmd = null;
            }
            for (org.kvmsim.model.HugePagePool p : decl.pools()) {
                HugePagePool pool = pools.pool(p.pageSize());
                pool.setNrOvercommitHugepages(pool.nrOvercommitHugepages() + p.overcommit());
                pool.setNrHugepages(pool.nrHugepages() + p.count(), p.node());
            }
        }
    }

    /** A VM's simulated state: its guest RAM mapping in the host and the guest's page contents. */
    public static final class VmState {
        public final Vm decl;
        public VmRunState state = VmRunState.DECLARED;
        public GuestMemory memory;
        ThpMapping anon;
        HugetlbMapping huge;
        long nextFreeGuestPage;
        /** Guest page tables are allocated from the top of guest RAM down (data grows up). */
        long nextTablePage = -1;
        /** The VM's mm_slot in its host's ksmd, or -1 when its RAM is not mergeable. */
        public int ksmSlot = -1;
        /** Pages mapping the zero page by KSM (use_zero_pages): not in the RSS (MM_ANONPAGES). */
        long ksmZeroMapped;
        /** Host frames holding this VM's EPT/NPT or shadow tables (a few per thousand guest pages). */
        final java.util.Set<Integer> tableFrames = new java.util.LinkedHashSet<>();
        /** QEMU's top-level page tables (PGD and PUD page) over guest RAM: frames, -1 when none. */
        final int[] processTables = {-1, -1};
        /** When its QEMU started, among all starts: the order for_each_process() visits it in. */
        long startSeq;
        /** Address translation of this VM (guest tables, EPT/NPT or shadow tables, TLB costs). */
        public org.kvmsim.sim.mmu.Mmu mmu;
        /** The guest's default address space (workloads on the VM), -1 until first used. */
        int defaultSpace = -1;
        /** Address spaces of `pagetable` blocks, by name. */
        final Map<String, PtSpace> pagetables = new LinkedHashMap<>();
        /** GVA where the next workload on the default address space starts. */
        long nextWorkloadGva = WORKLOAD_GVA;
        /** The workload run whose accesses are being simulated (for the guest fault handler). */
        WorkloadRun current;

        VmState(Vm decl) {
            this.decl = decl;
        }

        public long rssBytes() {
            if (anon != null) return (anon.presentPages() - ksmZeroMapped) * 4096L;
            if (huge != null) return huge.faultedPages() * huge.pool().pageBytes();
            return 0;
        }
    }

    public HostState host(String name) {
        return hosts.get(name);
    }

    public VmState vm(String name) {
        return vms.get(name);
    }

    /**
     * Brings the engine's hosts and VMs in line with the declarations: new hosts get state, VMs
     * declared again while stopped or not started are replaced, and new contents blocks queue
     * for their VM. Running VMs keep running with the configuration they started with.
     */
    public void sync(Declarations d) {
        for (Host h : d.hosts.values()) {
            HostState hs = hosts.get(h.name());
            if (hs == null || (!hs.decl.equals(h) && !hasLiveVms(h.name()))) {
                hs = new HostState(h);
                if (hs.ksmd != null) hs.ksmd.setListener(new KsmFrames(this, hs));
                // a collapse changes the frames behind 2 MiB of guest RAM: KVM's MMU notifier
                // zaps the range, and the next access maps it again, as one 2 MiB nested leaf
                hs.khugepaged.setListener((mapping, region) -> {
                    for (VmState vm : vms.values()) {
                        if (vm.anon == mapping && vm.mmu != null) {
                            vm.mmu.invalidateHostRange((long) region << 21, 2L << 20);
                        }
                    }
                });
                hosts.put(h.name(), hs);
            }
        }
        for (Vm v : d.vms.values()) {
            VmState vs = vms.get(v.name());
            if (vs == null || (!vs.decl.equals(v) && vs.state != VmRunState.RUNNING)) {
                vms.remove(v.name());
                vms.put(v.name(), new VmState(v));
            }
        }
        vms.keySet().removeIf(n -> !d.vms.containsKey(n) && vms.get(n).state != VmRunState.RUNNING);
    }

    private boolean hasLiveVms(String host) {
        for (VmState v : vms.values()) if (v.decl.host().equals(host) && v.state == VmRunState.RUNNING) return true;
        return false;
    }

    /**
     * The page-table pages of `paging = native` workloads: those are the host's own tables, so
     * they count in PageTables, but they sit in guest RAM (already resident anonymous memory) and
     * take no frame of their own. QEMU's tables over guest RAM are real frames counted by their
     * owners: a PGD and a PUD page per VM (at start), a PMD page per 1 GiB and a PTE page per
     * 2 MiB touched ({@link ThpMapping}; THPs included, their PTE page is deposited), a PMD page
     * per 1 GiB touched of 2 MiB hugetlbfs RAM ({@link HugetlbMapping}).
     */
    long nativeTablePages(HostState h) {
        long pages = 0;
        for (VmState v : vms.values()) {
            if (v.state != VmRunState.RUNNING || !v.decl.host().equals(h.decl.name())) continue;
            if (v.mmu != null && v.decl.paging() == org.kvmsim.model.Paging.NATIVE) pages += v.mmu.guestTableBytes() >>> 12;
        }
        return pages;
    }


    /** Heap per present guest page: contents 8 B + host mapping 4 B (measured by `kvmsim bench touch`). */
    public static final long HEAP_PER_PAGE = 12;
    /** Extra heap per present page that ksmd tracks (rmap_item state and tree entries). */
    public static final long HEAP_PER_KSM_PAGE = 16;

    /**
     * The heap the VMs that would start now will need, from what they are sure to touch: all of
     * their RAM with prealloc, else the image footprint, contents blocks and workload footprints.
     */
    public long heapNeededToStart(Declarations d) {
        long bytes = 0;
        for (VmState v : vms.values()) {
            if (v.state != VmRunState.DECLARED) continue;
            long pages;
            if (v.decl.prealloc()) {
                pages = v.decl.memory() >>> 12;
            } else {
                pages = v.decl.image() == null ? 0 : d.images.get(v.decl.image()).footprint() >>> 12;
                for (ContentsSpec c : d.contents.getOrDefault(v.decl.name(), List.of())) {
                    for (ContentsSpec.Fill f : c.fills()) pages += f.to() - f.from() + 1;
                }
                for (Workload w : d.workloads.values()) {
                    for (Workload.Target t : w.targets()) if (t.vm().equals(v.decl.name())) pages += w.footprint() >>> 12;
                }
                pages = Math.min(pages, v.decl.memory() >>> 12);
            }
            boolean ksm = hosts.get(v.decl.host()).ksmd != null && v.decl.memMerge()
                    && v.decl.backing().kind() != Backing.Kind.HUGEPAGES;
            bytes += pages * (HEAP_PER_PAGE + (ksm ? HEAP_PER_KSM_PAGE : 0));
        }
        return bytes;
    }

    /**
     * A VM declared again. One that is not running is replaced by a fresh one, so it starts at the
     * next run (even with the same configuration: a notebook cell run again); a running one must
     * keep its configuration, and declaring it differently is refused.
     */
    public void redeclare(Vm v) {
        VmState vs = vms.get(v.name());
        if (vs != null && vs.state == VmRunState.RUNNING) {
            if (!vs.decl.equals(v)) {
                throw new SimError("vm '" + v.name() + "' is running; stop it before declaring it differently");
            }
            return;
        }
        vms.remove(v.name());
        vms.put(v.name(), new VmState(v));
    }

    /** A host declared again: refused while VMs run on it with another configuration. */
    public void redeclare(Host h) {
        HostState hs = hosts.get(h.name());
        if (hs != null && !hs.decl.equals(h) && hasLiveVms(h.name())) {
            List<String> live = new ArrayList<>();
            for (VmState v : vms.values()) if (v.decl.host().equals(h.name()) && v.state == VmRunState.RUNNING) live.add(v.decl.name());
            throw new SimError("host '" + h.name() + "' has running VMs (" + String.join(", ", live)
                    + "); stop them before declaring it differently");
        }
    }

    /** A contents block for a VM that is already running is laid out at once. */
    public void declared(ContentsSpec c) {
        VmState v = vms.get(c.vm());
        if (v != null && v.state == VmRunState.RUNNING) lay(v, c);
    }

    /** A pagetable of a VM that is already running gets its address space at once. */
    public void declared(org.kvmsim.model.PageTableSpec pt) {
        VmState v = vms.get(pt.vm());
        if (v != null && v.state == VmRunState.RUNNING) buildPagetable(v, pt);
    }

    /** Starts every VM declared but not started, in declaration order, as a `run` does. */
    public void startPending(Declarations d) {
        for (VmState v : new ArrayList<>(vms.values())) {
            if (v.state == VmRunState.DECLARED) start(v, d);
        }
    }

    /** Starts one VM (QEMU's start-up: map guest RAM, reserve, prealloc, boot the image). */
    public void start(VmState v, Declarations d) {
        HostState h = hosts.get(v.decl.host());
        long pages = v.decl.memory() >>> 12;
        // A VM started again after `stop` boots afresh: a new guest, new tables, new address spaces.
        v.defaultSpace = -1;
        v.pagetables.clear();
        v.nextFreeGuestPage = 0;
        v.nextTablePage = -1;
        v.nextWorkloadGva = WORKLOAD_GVA;
        v.current = null;
        workloadBase.keySet().removeIf(k -> k.endsWith("@" + v.decl.name()));
        v.memory = new GuestMemory(pages);
        v.startSeq = ++starts;
        if (v.decl.backing().kind() == Backing.Kind.HUGEPAGES) {
            long size = h.decl.pool(v.decl.backing().pool()).pageSize();
            try {
                v.huge = HugetlbMapping.mmap(h.pools.pool(size), v.decl.memory(), !v.decl.reserve());
                v.huge.tableNode(v.decl.node());
            } catch (HugetlbException e) {
                v.state = VmRunState.FAILED;
                // QEMU's message (backends/hostmem-file.c, via qemu_ram_alloc_from_fd): see HugetlbException.
                event("vm_failed", v.decl.name(), HugetlbException.QEMU_MAP_FAILED);
                throw new SimError("vm '" + v.decl.name() + "' failed to start: " + HugetlbException.QEMU_MAP_FAILED);
            }
        } else {
            // backing = thp: guest RAM madvised MADV_HUGEPAGE (as QEMU does), so THP is used under
            // thp = madvise or always; backing = anonymous: 4 KiB pages unless thp = always.
            boolean madvised = v.decl.backing().kind() == Backing.Kind.THP;
            v.anon = new ThpMapping(h.mem, h.thp, pages, madvised, v.decl.node());
            h.khugepaged.register(v.anon);
        }
        int eventsBefore = events.size();
        try {
            startRunning(v, d, h, pages);
        } catch (Interrupted i) {
            // a start cut short is undone: QEMU never ran, its memory goes back, the VM starts
            // afresh at the next run (the frames it gets then may differ)
            release(v);
            v.state = VmRunState.DECLARED;
            events.subList(eventsBefore, events.size()).clear();
            throw i;
        } catch (SimError e) {
            // whatever the start had set up goes back (the reservation too), as when QEMU exits
            release(v);
            v.state = VmRunState.FAILED;
            event("vm_failed", v.decl.name(), e.getMessage());
            throw e;
        }
    }

    private void startRunning(VmState v, Declarations d, HostState h, long pages) {
        for (int i = 0; i < v.processTables.length; i++) {
            int f = h.mem.alloc(0, v.decl.node());
            if (f < 0) throw new SimError("host '" + h.decl.name() + "' has no free page for the page tables of vm '" + v.decl.name() + "'");
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
            v.ksmSlot = h.ksmd.addSlot(new org.kvmsim.sim.ksm.MergeableRegion() {
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
        }
        v.mmu = new org.kvmsim.sim.mmu.Mmu(org.kvmsim.sim.mmu.Paging.parse(v.decl.paging().word()), h.cpu,
                v.decl.levels(), v.decl.levels(), new GuestRamBacking(this, v, h), RAM_HVA);
        v.mmu.setGuestFaultHandler((mmu, space, gva, write) -> guestFault(v, space, gva, write));
        event("vm_start", v.decl.name(), "on " + h.decl.name() + ", " + new org.kvmsim.model.ByteSize(v.decl.memory())
                + ", " + v.decl.backing());
        if (v.decl.prealloc()) {
            // QEMU's -mem-prealloc touches every page: each is faulted in zero-filled, as the guest
            // will find it (and as ksmd reads it: preallocated RAM is mergeable zero pages)
            for (long p = 0; p < pages && v.state == VmRunState.RUNNING; p++) {
                touch(v, p);
                if (v.state == VmRunState.RUNNING && !v.memory.isPresent(p)) v.memory.set(p, GuestMemory.ZERO);
                worked(1);
            }
            if (v.state != VmRunState.RUNNING) return; // the OOM killer chose it (or SIGBUS)
        }
        if (v.decl.image() != null) boot(v, d.images.get(v.decl.image()));
        List<ContentsSpec> cs = d.contents.getOrDefault(v.decl.name(), List.of());
        for (ContentsSpec c : cs) lay(v, c);
        for (org.kvmsim.model.PageTableSpec pt : d.pagetables.values()) {
            if (pt.vm().equals(v.decl.name())) buildPagetable(v, pt);
        }
    }

    /** The guest boots from its image: the footprint is touched, shared pages first, then zero, then unique. */
    private void boot(VmState v, Image img) {
        long pages = img.footprint() >>> 12;
        long shared = Math.round(pages * img.sharedPct() / 100.0);
        long zero = Math.min(pages - shared, Math.round(pages * img.zeroPct() / 100.0));
        for (long p = 0; p < pages; p++) {
            long c = p < shared ? GuestMemory.image(img.name(), p) : p < shared + zero ? GuestMemory.ZERO : nextUnique();
            setContent(v, p, c);
            worked(1);
        }
        v.nextFreeGuestPage = Math.max(v.nextFreeGuestPage, pages);
    }

    private void lay(VmState v, ContentsSpec c) {
        for (ContentsSpec.Fill f : c.fills()) fill(v, f.from(), f.to(), f.content());
    }

    /** Sets pages from..to to a content, as the guest writing them would. */
    public void fill(VmState v, long from, long to, Content c) {
        for (long p = from; p <= to; p++) {
            long id = switch (c.kind()) {
                case SAME -> GuestMemory.same(c.tag());
                case ZERO -> GuestMemory.ZERO;
                case UNIQUE, CHANGING -> nextUnique();
                case IMAGE -> GuestMemory.image(c.image(), p - from);
            };
            setContent(v, p, id);
            worked(1);
        }
        if (c.kind() == Content.Kind.CHANGING) schedule(now + c.periodNs(), new ChangingTimer(v, from, to, c.periodNs()));
        v.nextFreeGuestPage = Math.max(v.nextFreeGuestPage, to + 1);
    }

    /** A guest write or first touch: makes the page present in the host, then sets its content. */
    void setContent(VmState v, long page, long content) {
        touch(v, page);
        if (v.state != VmRunState.RUNNING) return;
        write(v, page, content);
    }

    /**
     * Changes a present page's content; a merged page breaks copy-on-write first. Returns false
     * when the copy could not be made because the OOM killer chose this VM (nothing is written).
     */
    private boolean write(VmState v, long page, long content) {
        if (v.ksmSlot >= 0 && v.memory.isPresent(page)) {
            org.kvmsim.sim.ksm.Ksmd.Cow cow = hosts.get(v.decl.host()).ksmd.onWrite(v.ksmSlot, (int) page);
            if (cow != org.kvmsim.sim.ksm.Ksmd.Cow.NONE) {
                // do_wp_page() -> wp_page_copy(): the KSM page (freed by onWrite if this was its
                // last mapping) or the zero page is unmapped and a fresh private frame mapped.
                if (cow == org.kvmsim.sim.ksm.Ksmd.Cow.ZERO_PAGE) v.ksmZeroMapped--;
                if (!newPrivateFrame(v, page)) return false;
            }
        }
        v.memory.set(page, content);
        return true;
    }

    /**
     * A page that mapped a KSM page or the zero page gets a private frame of its own (a COW break
     * or break_ksm()); the nested entry is zapped and the TLBs shot down, which the MMU prices.
     * False when the OOM killer had to kill this VM for the frame.
     */
    private boolean newPrivateFrame(VmState v, long page) {
        v.anon.unmap(page);
        touch(v, page);
        if (v.state != VmRunState.RUNNING) return false;
        if (v.mmu != null) v.mmu.invalidateHostPage(page << 12);
        return true;
    }

    /**
     * Host frames follow ksmd (mm/ksm.c): a page merged into a KSM page maps the KSM page's frame
     * and its own is freed (replace_page(); a THP around it is split first, as
     * try_to_merge_one_page() does, so AnonHugePages drops); the first page of a new KSM page
     * becomes it (try_to_merge_two_pages(): here its frame is freed and the KSM page takes a
     * fresh one on the same node, the same counts); a page merged with the zero page maps the
     * kernel's zero page, which has no frame of its own and is not anonymous memory. A KSM page
     * counts once in AnonPages (one folio in NR_ANON_MAPPED) and its frame is freed with its last
     * mapping. Every change of a page's frame zaps its nested entry and flushes the VM's TLBs
     * (KVM's MMU notifier), so translations pick up the new frame.
     */
    private static final class KsmFrames implements org.kvmsim.sim.ksm.KsmListener {
        final Engine e;
        final HostState h;

        KsmFrames(Engine e, HostState h) {
            this.e = e;
            this.h = h;
        }

        @Override
        public void kpageCreated(int kpage) {
            if (kpage >= h.kpageFrame.length) h.kpageFrame = java.util.Arrays.copyOf(h.kpageFrame, Math.max(kpage + 1, h.kpageFrame.length * 2));
            h.kpageFrame[kpage] = 0;
        }

        @Override
        public void merged(int slot, int page, int kpage) {
            VmState v = h.ksmVms.get(slot);
            if (kpage == ZERO_PAGE) {
                v.anon.replace(page, h.zeroFrame);
                v.ksmZeroMapped++;
            } else if (h.kpageFrame[kpage] == 0) {
                int own = v.anon.unmap(page);
                int f = h.mem.alloc(0, own < 0 ? 0 : h.mem.nodeOf(own));
                if (f < 0) throw new IllegalStateException("no frame for a KSM page right after freeing one");
                h.mem.add(HostMemory.Counter.ANON_PAGES, 1);
                h.kpageFrame[kpage] = f + 1;
                v.anon.replace(page, f);
            } else {
                v.anon.replace(page, h.kpageFrame[kpage] - 1);
            }
            if (v.mmu != null) v.mmu.invalidateHostPage((long) page << 12);
        }

        @Override
        public void kpageFreed(int kpage) {
            int f = h.kpageFrame[kpage] - 1;
            if (f < 0) throw new IllegalStateException("KSM page " + kpage + " has no frame");
            h.kpageFrame[kpage] = 0;
            h.mem.free(f, 0);
            h.mem.add(HostMemory.Counter.ANON_PAGES, -1);
        }

        @Override
        public void unmerged(int slot, int page) {
            VmState v = h.ksmVms.get(slot);
            if (v.state != VmRunState.RUNNING) return; // the OOM killer took it during this unmerge
            if (v.anon.frameOf(page) == h.zeroFrame) v.ksmZeroMapped--;
            e.newPrivateFrame(v, page);
        }
    }

    /** Makes a guest page present in the host (a fault), OOM-killing a VM if the host is out of frames. */
    void touch(VmState v, long page) {
        if (v.huge != null) {
            long hp = page / (v.huge.pool().pageBytes() >>> 12);
            while (v.huge.frameOf(hp) < 0 && v.huge.needsTablePage(hp) && h(v).mem.freePages() == 0) {
                // no order-0 frame for the PMD page: the kernel's answer is the OOM killer
                HostState h = h(v);
                VmState victim = oomVictim(h);
                if (victim == null) throw new SimError("host '" + h.decl.name() + "' is out of memory and nothing can be killed");
                kill(victim, "out of memory: the OOM killer chose it (largest resident set)");
                if (victim == v) return;
            }
            if (v.huge.frameOf(hp) < 0 && !v.huge.fault(hp)) {
                // A MAP_NORESERVE guest touching beyond its pool dies of SIGBUS, as on Linux.
                release(v);
                v.state = VmRunState.KILLED;
                event("sigbus", v.decl.name(), "no huge page for a fault of its MAP_NORESERVE mapping (QEMU dies of SIGBUS)");
            }
            return;
        }
        while (v.anon != null && v.anon.fault(page) < 0) {
            HostState h = hosts.get(v.decl.host());
            VmState victim = oomVictim(h);
            if (victim == null) throw new SimError("host '" + h.decl.name() + "' is out of memory and nothing can be killed");
            kill(victim, "out of memory: the OOM killer chose it (largest resident set)");
            if (victim == v) return;
        }
    }

    private HostState h(VmState v) {
        return hosts.get(v.decl.host());
    }

    /** QEMU processes started so far (their creation order, see {@link VmState#startSeq}). */
    private long starts;

    private VmState oomVictim(HostState h) {
        List<VmState> live = new ArrayList<>();
        for (VmState v : vms.values()) {
            if (v.state == VmRunState.RUNNING && v.decl.host().equals(h.decl.name())) live.add(v);
        }
        // select_bad_process() visits tasks in creation order, and a later one wins a tie
        live.sort(java.util.Comparator.comparingLong(v -> v.startSeq));
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

    private void kill(VmState v, String why) {
        release(v);
        v.state = VmRunState.KILLED;
        event("oom_kill", v.decl.name(), why);
    }

    /** `stop VM`: the guest shuts down and QEMU exits; every frame goes back to the host. */
    public void stop(VmState v) {
        if (v.state != VmRunState.RUNNING) return;
        release(v);
        v.state = VmRunState.STOPPED;
        event("vm_stop", v.decl.name(), "memory returned to the host");
    }

    private void release(VmState v) {
        HostState h = hosts.get(v.decl.host());
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
            v.mmu = null;
        }
        v.memory = null;
        timers.removeIf(t -> t instanceof ChangingTimer c && c.vm == v || t instanceof WorkloadTimer w && w.run.vm == v);
    }

    // --- the guest OS model: address spaces, guest page faults, workloads

    /** Where workloads on a VM's default address space start, like an anonymous mmap. */
    public static final long WORKLOAD_GVA = 0x7f00_0000_0000L;
    /** Where QEMU maps guest RAM in its own address space (hva = RAM_HVA + gpa), 1 GiB aligned. */
    public static final long RAM_HVA = 0x7fc0_0000_0000L;

    /** A `pagetable` block's address space and where its mappings landed in guest-physical memory. */
    record PtSpace(int space, List<long[]> maps, long bytes) {}

    /** The host side of a VM's guest RAM, as its MMU sees it. */
    private static final class GuestRamBacking implements org.kvmsim.sim.mmu.HostBacking {
        final Engine e;
        final VmState v;
        final HostState h;

        GuestRamBacking(Engine e, VmState v, HostState h) {
            this.e = e;
            this.v = v;
            this.h = h;
        }

        @Override
        public long hpa(long gpa) {
            long page = gpa >>> 12;
            e.touch(v, page);
            if (v.state != VmRunState.RUNNING) throw new VmGone();
            long frame;
            if (v.huge != null) {
                long per = v.huge.pool().pageBytes() >>> 12;
                frame = v.huge.frameOf(page / per) + page % per;
            } else {
                frame = v.anon.frameOf(page);
            }
            return (frame << 12) | (gpa & 0xfff);
        }

        @Override
        public int backingPageShift(long gpa) {
            if (v.huge != null) return Long.numberOfTrailingZeros(v.huge.pool().pageBytes());
            return v.anon != null && v.anon.isHuge(gpa >>> 12) ? 21 : 12;
        }

        @Override
        public long allocTablePage() {
            int f = h.mem.alloc(0, v.decl.node());
            if (f < 0) throw new SimError("host '" + h.decl.name() + "' has no free page for an EPT/shadow table");
            h.mem.add(HostMemory.Counter.SEC_PAGE_TABLES, 1);
            v.tableFrames.add(f);
            return (long) f << 12;
        }

        @Override
        public void freeTablePage(long hpa) {
            h.mem.free((int) (hpa >>> 12), 0);
            h.mem.add(HostMemory.Counter.SEC_PAGE_TABLES, -1);
            v.tableFrames.remove((int) (hpa >>> 12));
        }
    }

    /**
     * Thrown out of an access (or a query that faults pages in) when the OOM killer killed the VM
     * that was faulting.
     */
    public static final class VmGone extends RuntimeException {
        VmGone() {
            super(null, null, false, false);
        }
    }

    /** A fresh guest-physical page (the guest kernel's page allocator), aligned to {@code align} pages. */
    long allocGuestPages(VmState v, long pages, long align) {
        long first = (v.nextFreeGuestPage + align - 1) / align * align;
        long limit = v.nextTablePage < 0 ? v.memory.pages() : v.nextTablePage + 1;
        if (first + pages > limit) {
            throw new SimError("vm '" + v.decl.name() + "' is out of guest memory (" + new org.kvmsim.model.ByteSize(v.decl.memory())
                    + "): its image, contents, page tables and workloads need more");
        }
        v.nextFreeGuestPage = first + pages;
        return first;
    }

    private org.kvmsim.sim.mmu.TablePageAllocator tableAllocator(VmState v) {
        // Guest page tables live in guest memory: each is a guest page of its own content.
        return () -> {
            if (v.nextTablePage < 0) v.nextTablePage = v.memory.pages() - 1;
            long p = v.nextTablePage;
            if (p < v.nextFreeGuestPage) {
                throw new SimError("vm '" + v.decl.name() + "' is out of guest memory for its page tables");
            }
            v.nextTablePage--;
            setContent(v, p, nextUnique());
            return p << 12;
        };
    }

    int defaultSpace(VmState v) {
        if (v.defaultSpace < 0) v.defaultSpace = v.mmu.newAddressSpace(tableAllocator(v));
        return v.defaultSpace;
    }

    private void buildPagetable(VmState v, org.kvmsim.model.PageTableSpec pt) {
        int space = v.mmu.newAddressSpace(tableAllocator(v));
        List<long[]> maps = new ArrayList<>();
        long bytes = 0;
        for (org.kvmsim.model.PageTableSpec.Mapping m : pt.mappings()) {
            long first = allocGuestPages(v, m.size() >>> 12, m.pageSize() >>> 12);
            for (long off = 0; off < m.size(); off += m.pageSize()) {
                v.mmu.map(space, m.gva() + off, (first << 12) + off, m.pageSize(), true);
            }
            maps.add(new long[] {m.gva(), m.size(), m.pageSize(), first << 12});
            bytes += m.size();
        }
        v.pagetables.put(pt.name(), new PtSpace(space, maps, bytes));
    }

    /** The address space `show walk VM[.PAGETABLE]` and workloads use. */
    public int space(VmState v, String pagetable) {
        if (pagetable == null) return defaultSpace(v);
        return v.pagetables.get(pagetable).space();
    }

    /** The name of an address space for tables: "default" or the pagetable's name. */
    public String spaceName(VmState v, int space) {
        if (space == v.defaultSpace) return "default";
        for (Map.Entry<String, PtSpace> e : v.pagetables.entrySet()) if (e.getValue().space() == space) return e.getKey();
        return Integer.toString(space);
    }

    /**
     * A guest page fault: the guest kernel backs the page with a fresh guest-physical page, or
     * under guest THP the whole 2 MiB around it with one huge page when it can.
     */
    private void guestFault(VmState v, int space, long gva, boolean write) {
        WorkloadRun r = v.current;
        if (v.decl.guestThp() && r != null && r.pageToGpa != null && guestHugeFault(v, space, r, gva)) return;
        long gpaPage = allocGuestPages(v, 1, 1);
        v.mmu.map(space, gva & ~0xfffL, gpaPage << 12, 4096, true);
        // The workload's data: every page distinct (as if initialised by the program).
        setContent(v, gpaPage, nextUnique());
        if (r != null && r.pageToGpa != null) {
            long idx = ((gva & ~0xfffL) - r.base) >>> 12;
            if (idx >= 0 && idx < r.pageToGpa.length) r.pageToGpa[(int) idx] = gpaPage;
        }
    }

    /**
     * The guest kernel's THP fault (mm/huge_memory.c do_huge_pmd_anonymous_page()): the 2 MiB
     * around {@code gva} gets one huge guest page if it lies wholly inside the workload's range
     * (the VMA), nothing in it is mapped yet (pmd_none()), and the guest has a free 2 MiB-aligned
     * block; all 512 pages are zeroed, which the MMU prices (clear_page_cycles). False, with
     * nothing done, when the fault must fall back to a 4 KiB page.
     */
    private boolean guestHugeFault(VmState v, int space, WorkloadRun r, long gva) {
        long region = gva & -(2L << 20);
        long first = (region - r.base) >>> 12;
        if (region < r.base || first + 512 > r.pageToGpa.length || !v.mmu.guestUnmapped2m(space, region)) return false;
        long gpaPage = (v.nextFreeGuestPage + 511) & -512L;
        long limit = v.nextTablePage < 0 ? v.memory.pages() : v.nextTablePage + 1;
        // and room left for the table pages the mapping may need (taken from the top of guest RAM)
        // (at most levels - 2 of them: the root exists, the leaf is the PD entry)
        if (gpaPage + 512 + v.decl.levels() - 2 > limit) return false;
        v.nextFreeGuestPage = gpaPage + 512;
        v.mmu.map(space, region, gpaPage << 12, 2L << 20, true);
        for (int i = 0; i < 512 && v.state == VmRunState.RUNNING; i++) {
            setContent(v, gpaPage + i, nextUnique());
            r.pageToGpa[(int) first + i] = gpaPage + i;
        }
        // the guest zeroed the whole huge page: its writes reached every page (EPT violations)
        if (v.state == VmRunState.RUNNING) v.mmu.guestWroteRange(gpaPage << 12, 2L << 20);
        return true;
    }

    /** One workload's accesses on one VM (or one of its pagetables) during a run. */
    static final class WorkloadRun {
        final VmState vm;
        final int space;
        final long base;
        final org.kvmsim.sim.workload.AccessStream stream;
        /**
         * Default address space: guest-physical page of each workload page, -1 until touched; the
         * range's own array, shared by every run of the workload (a redeclared workload writes the
         * pages an earlier run faulted in).
         */
        final long[] pageToGpa;
        /** Pagetable target: its mappings {gva, size, pageSize, gpa}. */
        final List<long[]> maps;
        long remaining;

        WorkloadRun(VmState vm, int space, long base, org.kvmsim.sim.workload.AccessStream stream, long[] pageToGpa,
                    List<long[]> maps, long accesses) {
            this.vm = vm;
            this.space = space;
            this.base = base;
            this.stream = stream;
            this.maps = maps;
            this.pageToGpa = pageToGpa;
            this.remaining = accesses;
        }
    }

    private final java.util.IdentityHashMap<Workload, Boolean> workloadsDone = new java.util.IdentityHashMap<>();
    /** Per workload on a VM ("name@vm"): its address range. */
    private final Map<String, WorkloadRange> workloadBase = new java.util.HashMap<>();

    /**
     * A workload's address range in a VM's default address space, kept across its runs and
     * redeclarations (as the program's mapping would be): where it starts, how large it is, and
     * the guest-physical page behind each of its pages, -1 until the guest faults it in.
     */
    record WorkloadRange(long base, long footprint, long[] pageToGpa) {
    }
    private static final int BATCH = 4096;

    /**
     * Schedules the workloads not yet run: each spreads its accesses evenly over {@code duration}
     * (the run that follows its declaration), in up to 1000 slices of at least 1 ms.
     */
    public void scheduleWorkloads(Declarations d, long duration) {
        long slices = Math.max(1, Math.min(1000, duration / 1_000_000L));
        for (Workload w : d.workloads.values()) {
            if (w.accesses() == 0 || workloadsDone.containsKey(w)) continue;
            workloadsDone.put(w, true);
            int t = 0;
            for (Workload.Target target : w.targets()) {
                VmState v = vms.get(target.vm());
                if (v == null || v.state != VmRunState.RUNNING) continue;
                long seed = w.seed() * 0x9e3779b97f4a7c15L + (t++) + this.seed * 31;
                WorkloadRun run;
                if (target.pagetable() == null) {
                    // A workload keeps its address range across runs; declared again with a larger
                    // footprint it gets a new range after the others, as a new mmap would.
                    String key = w.name() + "@" + v.decl.name();
                    WorkloadRange range = workloadBase.get(key);
                    if (range == null || range.footprint() < w.footprint()) {
                        long[] pages = new long[Math.toIntExact(w.footprint() >>> 12)];
                        java.util.Arrays.fill(pages, -1);
                        range = new WorkloadRange(v.nextWorkloadGva, w.footprint(), pages);
                        v.nextWorkloadGva += (w.footprint() + (2L << 20) - 1) & -(2L << 20);
                        workloadBase.put(key, range);
                    }
                    run = new WorkloadRun(v, defaultSpace(v), range.base(),
                            new org.kvmsim.sim.workload.AccessStream(w.pattern(), w.footprint(), w.writesPct(), seed),
                            range.pageToGpa(), null, w.accesses());
                } else {
                    PtSpace pt = v.pagetables.get(target.pagetable());
                    long bytes = w.footprint() > 0 ? Math.min(w.footprint(), pt.bytes()) : pt.bytes();
                    run = new WorkloadRun(v, pt.space(), 0,
                            new org.kvmsim.sim.workload.AccessStream(w.pattern(), bytes, w.writesPct(), seed), null, pt.maps(),
                            w.accesses());
                }
                long per = w.accesses() / slices + (w.accesses() % slices == 0 ? 0 : 1);
                long step = duration / slices;
                schedule(now + Math.max(1, step / 2), new WorkloadTimer(run, per, step));
            }
        }
    }

    /** One slice of a workload's accesses. */
    private static final class WorkloadTimer extends Timer {
        final WorkloadRun run;
        final long perSlice, step;
        /** Accesses of the slice under way not made yet; -1 between slices. */
        long sliceLeft = -1;
        /** The accesses of the slice under way. */
        long sliceSize;

        WorkloadTimer(WorkloadRun run, long perSlice, long step) {
            this.run = run;
            this.perSlice = perSlice;
            this.step = step;
        }

        @Override
        void fire(Engine e) {
            if (run.vm.state != VmRunState.RUNNING) return;
            if (sliceLeft < 0) sliceLeft = sliceSize = Math.min(perSlice, run.remaining);
            try {
                e.access(this);
            } catch (VmGone gone) {
                return;
            }
            sliceLeft = -1;
            if (run.remaining > 0) e.schedule(at + Math.max(1, step), this);
        }

        @Override
        boolean cutShort() {
            return sliceLeft > 0;
        }
    }

    private long[] offs = new long[BATCH];
    private long[] gvas = new long[BATCH];
    private boolean[] wr = new boolean[BATCH];

    /**
     * The rest of a slice's accesses, batch by batch; each batch counts as soon as it is made
     * (the workload's remaining accesses and the slice's), so an interrupt between two batches
     * leaves counters and the workload in step.
     */
    private void access(WorkloadTimer t) {
        WorkloadRun r = t.run;
        VmState v = r.vm;
        v.current = r;
        try {
            if (v.mmu.currentAddressSpace() != r.space) v.mmu.loadCr3(r.space);
            while (t.sliceLeft > 0) {
                int k = (int) Math.min(BATCH, t.sliceLeft);
                r.stream.next(offs, wr, k);
                for (int i = 0; i < k; i++) gvas[i] = gvaOf(r, offs[i]);
                v.mmu.access(gvas, wr, 0, k);
                for (int i = 0; i < k; i++) {
                    if (!wr[i]) continue;
                    long gpaPage = gpaPageOf(r, offs[i]);
                    if (gpaPage >= 0 && !write(v, gpaPage, nextUnique())) throw new VmGone();
                }
                t.sliceLeft -= k;
                r.remaining -= k;
                worked(k, t.step * (t.sliceSize - t.sliceLeft) / t.sliceSize);
            }
        } finally {
            v.current = null;
        }
    }

    private static long gvaOf(WorkloadRun r, long off) {
        if (r.maps == null) return r.base + off;
        for (long[] m : r.maps) {
            if (off < m[1]) return m[0] + off;
            off -= m[1];
        }
        return r.maps.get(0)[0];
    }

    private static long gpaPageOf(WorkloadRun r, long off) {
        if (r.maps == null) return r.pageToGpa[(int) (off >>> 12)];
        for (long[] m : r.maps) {
            if (off < m[1]) return (m[3] + off) >>> 12;
            off -= m[1];
        }
        return -1;
    }

    // --- time

    /** Something that happens at a simulated time; it may reschedule itself. */
    abstract static class Timer implements Comparable<Timer> {
        long at;
        long seq;

        abstract void fire(Engine e);

        /** After an interrupt inside {@link #fire}: whether it has work left at this instant. */
        boolean cutShort() {
            return false;
        }

        @Override
        public int compareTo(Timer o) {
            return at != o.at ? Long.compare(at, o.at) : Long.compare(seq, o.seq);
        }
    }

    void schedule(long at, Timer t) {
        t.at = at;
        t.seq = eventSeq++;
        timers.add(t);
    }

    /** Pages whose content changes at a period (`changing every D`). */
    private static final class ChangingTimer extends Timer {
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
            if (vm.state != VmRunState.RUNNING) return;
            for (long p = from; p <= to; p++) {
                if (!e.write(vm, p, e.nextUnique())) return;
            }
            e.schedule(at + period, this);
        }
    }

    /** khugepaged's wake-up: collapse what it can, sleep scan_sleep_millisecs. */
    private static final class KhugepagedTimer extends Timer {
        final HostState host;

        KhugepagedTimer(HostState host) {
            this.host = host;
        }

        @Override
        void fire(Engine e) {
            if (e.hosts.get(host.decl.name()) != host) return; // the host was declared again
            int collapsed = host.khugepaged.wake();
            if (collapsed > 0) {
                e.event("thp_collapse", host.decl.name(), collapsed + " huge pages collapsed (" + collapsed * 512L + " pages of 4 KiB)");
            }
            e.schedule(at + host.khugepaged.sleepMillis() * 1_000_000L, this);
        }
    }

    /**
     * ksmd's wake-up: scan pages_to_scan pages, then sleep sleep_millisecs (ksm_scan_thread()).
     * When ksmd has nothing to do (run != 1 or no mm_slot) it does not poll: it waits on
     * ksm_thread_wait until __ksm_enter() or run_store() wakes it, and then scans at once
     * (mm/ksm.c ksm_scan_thread: ksm_do_scan() first, the sleep after it). {@link #kickKsmd}
     * does that wake-up at the start of every run, the only moment a slot or run can change.
     */
    private static final class KsmdTimer extends Timer {
        final HostState host;
        boolean idle;
        /** Pages the wake-up under way may still scan; -1 between wake-ups. */
        int budget = -1;

        KsmdTimer(HostState host) {
            this.host = host;
        }

        @Override
        void fire(Engine e) {
            if (e.hosts.get(host.decl.name()) != host) return; // the host was declared again
            if (budget < 0) {
                if (!host.ksmd.shouldRun()) {
                    idle = true; // wait_event_freezable(ksm_thread_wait, ksmd_should_run())
                    return;
                }
                budget = host.ksmd.knobs().pagesToScan();
            }
            // Full scans are not events: `show ksm history` has one row per scan, and small VMs
            // finish one every wake-up (50 a second), which would drown the event log.
            // The wake-up's pages_to_scan go in chunks, so a large one can be interrupted.
            while (budget > 0) {
                int chunk = Math.min(budget, POLL_WORK);
                int n = host.ksmd.scan(e.now, chunk);
                budget = n < chunk ? 0 : budget - n;
                e.worked(n);
            }
            budget = -1;
            e.schedule(at + Math.max(1, host.ksmd.knobs().sleepMillisecs()) * 1_000_000L, this);
        }

        @Override
        boolean cutShort() {
            return budget > 0;
        }
    }

    /**
     * One ksmd timer per host state (a host declared anew gets its own ksmd), in the order the
     * hosts' ksmds started: {@link #kickKsmd} schedules wake-ups at one instant
     * in this order, which fixes their firing order (HostState has identity equality, so this
     * keys by identity; an IdentityHashMap's iteration order would vary between JVM runs).
     */
    private final Map<HostState, KsmdTimer> ksmdTimers = new LinkedHashMap<>();

    /** Wakes an idle ksmd that now has work (a VM registered, or run = 1 was written). */
    private void kickKsmd() {
        for (KsmdTimer t : ksmdTimers.values()) {
            if (t.idle && t.host.ksmd.shouldRun()) {
                t.idle = false;
                schedule(now, t);
            }
        }
    }

    private final java.util.Set<HostState> khugepagedStarted = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    private void startDaemons() {
        startDaemonTimers();
        kickKsmd();
    }

    private void startDaemonTimers() {
        for (HostState h : hosts.values()) {
            if (h.ksmd != null && !ksmdTimers.containsKey(h)) {
                // ksmd starts idle and scans as soon as it has work (see KsmdTimer)
                KsmdTimer t = new KsmdTimer(h);
                t.idle = true;
                ksmdTimers.put(h, t);
            }
            if (khugepagedStarted.add(h)) {
                schedule(now + h.khugepaged.sleepMillis() * 1_000_000L, new KhugepagedTimer(h));
            }
        }
    }

    /** Advances the clock by {@code duration}, firing every event due on the way. */
    public void runFor(long duration) {
        runUntil(() -> false, duration);
    }

    /**
     * Advances event by event until {@code done} holds or the bound passes; false if it never
     * held. An interrupt leaves the clock at the event it stopped in (see {@link Interrupted}).
     */
    public boolean runUntil(java.util.function.BooleanSupplier done, long bound) {
        startDaemons();
        long end = now + bound;
        runStart = now;
        runLength = bound;
        try {
            if (done.getAsBoolean()) return true;
            while (!timers.isEmpty() && timers.peek().at <= end) {
                Timer t = timers.poll();
                now = t.at;
                try {
                    t.fire(this);
                } catch (Interrupted i) {
                    // the rest of its work first at the next run, in its old place in the queue
                    if (t.cutShort()) timers.add(t);
                    throw i;
                }
                if (done.getAsBoolean()) return true;
                if (monitor != null) monitor.tick(now - runStart, bound);
            }
            now = end;
            return false;
        } finally {
            runLength = 0;
        }
    }


}
