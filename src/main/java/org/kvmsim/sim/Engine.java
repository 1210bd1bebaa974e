package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.kvmsim.model.Backing;
import org.kvmsim.model.Content;
import org.kvmsim.model.ContentsSpec;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.PageTableSpec;
import org.kvmsim.model.Paging;
import org.kvmsim.model.ThpMode;
import org.kvmsim.model.Vm;
import org.kvmsim.model.Workload;
import org.kvmsim.sim.guest.GuestMemory;
import org.kvmsim.sim.hugetlb.Hstate;
import org.kvmsim.sim.ksm.KsmKnobException;
import org.kvmsim.sim.view.Event;
import org.kvmsim.sim.view.Probe;
import org.kvmsim.sim.view.SimView;
import org.kvmsim.sim.view.Translation;
import org.kvmsim.sim.view.VmRunState;
import org.kvmsim.sim.view.WalkRef;

/**
 * The simulation: a clock in nanoseconds, timers, the event log, and the state of every host and
 * VM; the only way to change any of it. Its parts each own one mechanism: {@link Qemu} (a VM's
 * life as QEMU runs it, host faults and the OOM killer), {@link GuestKernel} (the guest OS:
 * contents, page allocator, address spaces, page faults), {@link Workloads} (accesses onto
 * VMs), {@link Daemons} (ksmd and khugepaged) and {@link KsmFrames} (host frames following
 * ksmd). It knows nothing of text, tables or notebooks: queries read it through {@link #view()}
 * and make their state-changing lookups through {@link #probe()}. Every random choice comes from
 * a generator seeded from the session's seed and the workload's own seed, so a script and seed
 * give the same run on any machine.
 *
 * <p>VMs start as QEMU starts them: in declaration order, at the first `run` after they are
 * declared. Guest RAM is one mapping of the VM's memory (anonymous, THP or hugetlbfs), populated
 * on first touch.
 */
public final class Engine {

    /** Raised for a failure the user must see at the statement that caused it. */
    public static final class SimError extends RuntimeException {
        public SimError(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Thrown out of an access (or a lookup that faults pages in) when the OOM killer killed the
     * VM that was faulting.
     */
    static final class VmGone extends RuntimeException {
        VmGone() {
            super(null, null, false, false);
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

        /** A trace file counted before a run (the run not begun): {@code accesses} read so far. */
        default void counting(String trace, long accesses) {
            tick(0, 0);
        }
    }

    /**
     * Thrown by a {@link Monitor} to stop the work. What was simulated before it counts: the clock
     * stays at the instant reached, a workload slice or ksmd wake-up cut short goes back in the
     * queue at that instant and finishes first at the next run, a write keeps the pages it wrote,
     * and a VM whose start it cut short is as it was before the start (its memory returned).
     * docs/model.md, section 10.
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

    final long seed;
    long now;
    private long uniqueSerial;
    private long eventSeq;
    final Map<String, HostState> hosts = new LinkedHashMap<>();
    final Map<String, VmState> vms = new LinkedHashMap<>();
    private final List<Event> events = new ArrayList<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();

    final Qemu qemu = new Qemu(this);
    final GuestKernel guest = new GuestKernel(this);
    final Workloads workloads = new Workloads(this);
    final Daemons daemons = new Daemons(this);
    private final SimView view = new EngineView(this);
    private final Probe probe = new EngineProbe();

    private Monitor monitor;
    /**
     * Workload accesses simulated by this engine so far, for progress only: added to once per
     * batch of up to Workloads.BATCH accesses (by the cores' threads too, hence atomic), read
     * by the monitor's owner; no result depends on it.
     */
    private final java.util.concurrent.atomic.AtomicLong accesses = new java.util.concurrent.atomic.AtomicLong();
    /** Simulated start and length of the current run, for progress (0 length outside a run). */
    private long runStart, runLength;
    private long workSincePoll;

    /** Whether its owner throws it away at an interrupt (a sweep's or a query's scratch copy). */
    final boolean scratch;

    public Engine(long seed) {
        this(seed, false);
    }

    /**
     * An engine; a {@code scratch} one is thrown away by its owner when interrupted, so it skips
     * the tidying an interrupt otherwise does (undoing a VM's start, which costs about half the
     * time the start took).
     */
    public Engine(long seed, boolean scratch) {
        this.seed = seed;
        this.scratch = scratch;
    }

    /**
     * Replays {@code held} wherever a workload names the trace at {@code file} (as written, made
     * absolute by the checker): `kvmsim bench trace` times the same accesses without decoding them.
     */
    public void holdTrace(java.nio.file.Path file, org.kvmsim.sim.workload.TraceStream.Held held) {
        workloads.held.put(file, held);
    }

    public long now() {
        return now;
    }

    /**
     * A thread count as the user set it (a system property or environment variable): at least 1,
     * 1 when it is not a number, one per processor when it is not set.
     */
    public static int threadsSetting(String s) {
        if (s != null && !s.isBlank()) {
            try {
                return Math.max(1, Integer.parseInt(s.trim()));
            } catch (NumberFormatException bad) {
                return 1;
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    /** The simulation, read-only, as queries see it. */
    public SimView view() {
        return view;
    }

    /** The lookups queries may make that change state (walks fill in entries, fault pages in). */
    public Probe probe() {
        return probe;
    }

    public List<Event> events() {
        return List.copyOf(events);
    }

    void event(String kind, String subject, String detail) {
        events.add(new Event(now, kind, subject, detail));
    }

    int eventCount() {
        return events.size();
    }

    /** Forgets the events about {@code subject} from index {@code from} on (what an undone start logged). */
    void dropEventsOf(String subject, int from) {
        events.subList(from, events.size()).removeIf(ev -> ev.subject().equals(subject));
    }

    /** VMs booted from each image so far: the next one takes guest (this count mod the image's guests). */
    private final Map<String, Long> imageBoots = new java.util.HashMap<>();

    long nextImageBoot(String image) {
        long n = imageBoots.getOrDefault(image, 0L);
        imageBoots.put(image, n + 1);
        return n;
    }

    long nextUnique() {
        return GuestMemory.unique(++uniqueSerial);
    }

    // --- interrupts and progress

    /** Workload accesses simulated so far (for progress: what a run has done besides its simulated time). */
    public long accessesDone() {
        return accesses.get();
    }

    void accessed(long n) {
        accesses.addAndGet(n);
    }

    /** The monitor every long computation reports to from now on (null: none). */
    public void monitor(Monitor m) {
        this.monitor = m;
    }

    /** Looks at the monitor while a trace file is counted before a run: progress, and an interrupt. */
    void counting(String trace, long accesses) {
        if (monitor != null) monitor.counting(trace, accesses);
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

    // --- declarations

    /**
     * Brings the engine's hosts and VMs in line with the declarations: new hosts get state, VMs
     * declared again while stopped or not started are replaced. Running VMs keep running with
     * the configuration they started with.
     */
    public void sync(Declarations d) {
        for (Host h : d.hosts.values()) {
            HostState hs = hosts.get(h.name());
            if (hs == null || (!hs.decl.equals(h) && !hasLiveVms(h.name()))) hosts.put(h.name(), newHost(h));
        }
        for (Vm v : d.vms.values()) {
            VmState vs = vms.get(v.name());
            if (vs == null || (!vs.decl.equals(v) && !vs.running())) {
                vms.remove(v.name());
                vms.put(v.name(), new VmState(v));
            }
        }
        vms.keySet().removeIf(n -> !d.vms.containsKey(n) && !vms.get(n).running());
    }

    private HostState newHost(Host h) {
        HostState hs = new HostState(h);
        hs.cpuCountersSince = now;
        if (hs.ksmd != null) {
            hs.ksmFrames = new KsmFrames(this, hs);
            hs.ksmd.setListener(hs.ksmFrames);
        }
        // a collapse changes the frames behind 2 MiB of guest RAM: KVM's MMU notifier zaps the
        // range, and the next access maps it again, as one 2 MiB nested leaf
        hs.khugepaged.setListener((mapping, region) -> {
            for (VmState vm : vms.values()) {
                if (vm.anon == mapping && vm.memory != null) Qemu.zeroFilled(vm, (long) region << 9);
                if (vm.anon == mapping && vm.mmu != null && vm.isRam((long) region << 9)) {
                    vm.mmu.invalidateHostRange(vm.slots.gpaPage((long) region << 9) << 12, 2L << 20);
                }
            }
        });
        return hs;
    }

    private boolean hasLiveVms(String host) {
        for (VmState v : vms.values()) if (v.decl.host().equals(host) && v.running()) return true;
        return false;
    }

    /**
     * A VM declared again. One that is not running is replaced by a fresh one, so it starts at the
     * next run (even with the same configuration: a notebook cell run again); a running one must
     * keep its configuration, and declaring it differently is refused.
     */
    public void redeclare(Vm v) {
        VmState vs = vms.get(v.name());
        if (vs != null && vs.running()) {
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
            for (VmState v : vms.values()) if (v.decl.host().equals(h.name()) && v.running()) live.add(v.decl.name());
            throw new SimError("host '" + h.name() + "' has running VMs (" + String.join(", ", live)
                    + "); stop them before declaring it differently");
        }
    }

    /** A contents block for a VM that is already running is laid out at once. */
    public void declared(ContentsSpec c) {
        VmState v = vms.get(c.vm());
        if (v != null && v.running()) guest.lay(v, c);
    }

    /** A pagetable of a VM that is already running gets its address space at once. */
    public void declared(PageTableSpec pt) {
        VmState v = vms.get(pt.vm());
        if (v != null && v.running()) guest.buildPagetable(v, pt);
    }

    /**
     * The page-table pages of `paging = native` workloads: those are the host's own tables, so
     * they count in PageTables, but they sit in guest RAM (already resident anonymous memory) and
     * take no frame of their own. QEMU's tables over guest RAM are real frames counted by their
     * owners: a PGD and a PUD page per VM (at start), a PMD page per 1 GiB and a PTE page per
     * 2 MiB touched (ThpMapping; THPs included, their PTE page is deposited), a PMD page per
     * 1 GiB touched of 2 MiB hugetlbfs RAM (HugetlbMapping).
     */
    long nativeTablePages(HostState h) {
        long pages = 0;
        for (VmState v : vms.values()) {
            if (!v.running() || !v.decl.host().equals(h.decl.name())) continue;
            if (v.mmu != null && v.decl.paging() == Paging.NATIVE) pages += v.mmu.guestTableBytes() >>> 12;
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
     * {@code onlyVm}: just that VM (`start VM`); null: every VM the next `run` starts.
     */
    public long heapNeededToStart(Declarations d, String onlyVm) {
        long bytes = 0;
        for (VmState v : vms.values()) {
            if (v.state == VmRunState.RUNNING || onlyVm == null && v.state != VmRunState.DECLARED
                    || onlyVm != null && !v.decl.name().equals(onlyVm)) continue;
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

    // --- actions

    /** Starts every VM declared but not started, in declaration order, as a `run` does. */
    public void startPending(Declarations d) {
        for (VmState v : new ArrayList<>(vms.values())) {
            if (v.state == VmRunState.DECLARED) qemu.start(v, d);
        }
    }

    /** `start VM`: starts it now unless it is running. */
    public void start(String vm, Declarations d) {
        VmState v = vms.get(vm);
        if (!v.running()) qemu.start(v, d);
    }

    /** `stop VM`: the guest shuts down and QEMU exits; every frame goes back to the host. */
    public void stop(String vm) {
        qemu.stop(vms.get(vm));
    }

    /** `write VM pages A .. B = C`: the guest writes the pages (copy-on-write breaks where merged). */
    public void write(String vm, long from, long to, Content c) {
        guest.fill(vms.get(vm), from, to, c);
    }

    /** Writes {@code value} to /sys/kernel/mm/ksm/{@code knob} of a host that runs ksmd, failing as sysfs does. */
    public void setKsmKnob(String host, String knob, String value) {
        try {
            hosts.get(host).ksmd.set(knob, value);
        } catch (KsmKnobException x) {
            throw new SimError("writing " + value + " to /sys/kernel/mm/ksm/" + knob + " fails: " + x.getMessage());
        }
    }

    /** Writes /sys/kernel/mm/transparent_hugepage/enabled (which starts, stops or wakes khugepaged). */
    public void setThp(String host, ThpMode mode) {
        HostState h = hosts.get(host);
        ThpMode old = h.thp.mode;
        h.thp.mode = mode;
        daemons.thpEnabledWritten(h, old);
    }

    /**
     * Writes /sys/kernel/mm/transparent_hugepage/khugepaged/{@code knob}, failing as its sysfs
     * store function does (mm/khugepaged.c); a sleep knob also wakes khugepaged.
     */
    public void setKhugepagedKnob(String host, String knob, long value) {
        HostState h = hosts.get(host);
        try {
            h.thp.setKhugepaged(knob, value);
        } catch (IllegalArgumentException x) {
            throw new SimError("writing " + value + " to /sys/kernel/mm/transparent_hugepage/khugepaged/" + knob
                    + " fails: " + x.getMessage());
        }
        if (knob.endsWith("_sleep_millisecs")) daemons.khugepagedSleepWritten(h);
    }

    /** Writes nr_hugepages of a pool's page size (the pool's node's file when it has one). */
    public void setNrHugepages(String host, long pageSize, int node, long count) {
        hosts.get(host).pools.pool(pageSize).setNrHugepages(count, node);
    }

    /** Writes nr_overcommit_hugepages of a pool's page size. */
    public void setNrOvercommitHugepages(String host, long pageSize, long count) {
        Hstate pool = hosts.get(host).pools.pool(pageSize);
        pool.setNrOvercommitHugepages(count);
    }

    /** `reset mmu`: every VM's MMU counters start again from zero; TLBs, walk caches and tables stay warm. */
    public void resetMmuCounters() {
        for (VmState v : vms.values()) if (v.mmu != null) v.mmu.resetCounters();
        for (HostState h : hosts.values()) {
            for (int i = 0; i < h.cores.count(); i++) h.cores.get(i).resetCounters();
            h.cpuCountersSince = now;
        }
    }

    // --- time

    void schedule(long at, Timer t) {
        t.at = at;
        t.seq = eventSeq++;
        timers.add(t);
    }

    /** Every timer due at {@code at} for which {@code which} holds, taken out of the queue, in firing order. */
    List<Timer> pollAllDue(long at, Predicate<Timer> which) {
        List<Timer> out = new ArrayList<>();
        for (Timer t : timers) if (t.at == at && which.test(t)) out.add(t);
        out.sort(null);
        timers.removeAll(out);
        return out;
    }

    /** Puts a timer taken out of the queue back in its old place (its time and order kept). */
    void requeue(Timer t) {
        timers.add(t);
    }

    void cancelTimers(Predicate<Timer> which) {
        timers.removeIf(which);
    }

    /**
     * Schedules the workloads not yet run: each spreads its accesses evenly over {@code duration}
     * (the run that follows its declaration), in up to 1000 slices of at least 1 ms.
     */
    public void scheduleWorkloads(Declarations d, long duration) {
        workloads.schedule(d, duration);
    }

    /** Advances the clock by {@code duration}, firing every event due on the way. */
    public void runFor(long duration) {
        runUntil(() -> false, duration);
    }

    /**
     * Advances event by event until {@code done} holds or the bound passes; false if it never
     * held. An interrupt leaves the clock at the event it stopped in (see {@link Interrupted}).
     */
    public boolean runUntil(BooleanSupplier done, long bound) {
        daemons.start();
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

    /** {@link Probe} on this engine: lookups on running VMs, through their MMUs. */
    private final class EngineProbe implements Probe {
        @Override
        public int space(String vm, String pagetable) {
            return guest.space(running(vm), pagetable);
        }

        @Override
        public List<WalkRef> walk(String vm, int space, long gva) {
            try {
                return running(vm).mmu.walk(space, gva);
            } catch (VmGone gone) {
                throw new Probe.VmKilled();
            }
        }

        @Override
        public Optional<Translation> translate(String vm, int space, long gva) {
            try {
                VmState v = running(vm);
                return v.mmu.translate(space, gva).map(t -> {
                    // QEMU's address for the gpa, and the memslot KVM found it in
                    Memslots.Slot s = v.slots.slotOf(t.gpa());
                    return s == null ? t : new Translation(t.gva(), t.gpa(), v.ram.hva(t.gpa()), t.hpa(),
                            t.guestPageSize(), t.hostPageSize(), s.id(), s.gpa(), s.size());
                });
            } catch (VmGone gone) {
                throw new Probe.VmKilled();
            }
        }

        private VmState running(String name) {
            VmState v = vms.get(name);
            if (v == null || !v.running()) throw new IllegalStateException("vm '" + name + "' is not running");
            return v;
        }
    }
}
