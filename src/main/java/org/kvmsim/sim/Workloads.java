package org.kvmsim.sim;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Workload;
import org.kvmsim.sim.mmu.LongLongMap;
import org.kvmsim.sim.mmu.Mmu;
import org.kvmsim.sim.workload.AccessStream;
import org.kvmsim.sim.workload.Accesses;
import org.kvmsim.sim.workload.TraceException;
import org.kvmsim.sim.view.WorkloadStats;
import org.kvmsim.sim.workload.DecodedTrace;
import org.kvmsim.sim.workload.TraceStream;

/**
 * Workloads onto VMs: each workload declared since the last run spreads its accesses evenly over
 * the run that follows (in up to 1000 slice windows of at least 1 ms), one process per target VM
 * or pagetable, seeded from the session's seed and the workload's. The process has
 * {@code threads} threads (default: one per vCPU); thread i runs on vCPU i mod vcpus and makes an
 * equal share of the accesses with a stream of its own over the shared footprint (thread 0's
 * stream is the one a single-threaded workload has). A window's accesses go to the MMU in
 * batches; a write gives the page new content, as the guest's store would.
 *
 * <p>The windows due at one instant on one host are simulated together ({@link Dispatch}): the
 * host's scheduler ({@link CpuScheduler}) balances the vCPUs with work over its cores and
 * time-slices those that share one.
 *
 * <p>A trace workload replays a recorded program: one thread per trace file (thread i on vCPU i
 * mod vcpus; a single file is one thread on vCPU 0) whose accesses are the file's GVAs in the VM's
 * default address space, so its pages are wherever the program had them, not a footprint; the
 * guest page behind each is kept in one map by GVA page shared by the threads, so a page one
 * thread faulted in is mapped for all. It is scheduled at every run until its files are used up,
 * each run taking {@code accesses} of them (all that is left when not given), split over the
 * threads in proportion to what each has left; each file is counted (and checked) in one streamed
 * pass before its first run, and has its own limit and repeat passes.
 */
final class Workloads {
    static final int BATCH = 4096;
    /** Spreads the seeds of a workload's threads (thread 0 keeps the workload's own). */
    private static final long THREAD_SEED = 0x632be59bd9b4e019L;

    private final Engine e;
    private final Map<Workload, Boolean> done = new IdentityHashMap<>();
    /** Per workload on a VM ("name@vm"): its address range. */
    private final Map<String, Range> ranges = new HashMap<>();
    /** Per trace workload on a VM ("name@vm"): the guest-physical page behind each GVA page it touched. */
    private final Map<String, LongLongMap> traceMaps = new HashMap<>();
    /** Per trace workload declaration and VM: where its replay is, across runs. */
    private final Map<Workload, Map<String, TraceStream[]>> traceStreams = new IdentityHashMap<>();
    /**
     * Trace lengths counted, by file, format, size and modification time: a trace is counted once
     * per process, whatever engine asks (a sweep replays the session on a fresh engine for every
     * value, a notebook's `reset` starts another). A count depends only on the file's bytes.
     */
    private static final Map<String, Pending> TRACE_COUNTS = new ConcurrentHashMap<>();

    /** Counts made (each a whole pass over a trace file) in this process: what TraceCountsTest watches. */
    static final java.util.concurrent.atomic.AtomicLong COUNTS_MADE = new java.util.concurrent.atomic.AtomicLong();

    /** A trace file's count, done or under way in some engine of the process, and the accesses it has read. */
    private record Pending(java.util.concurrent.CompletableFuture<Counted> counted, java.util.concurrent.atomic.AtomicLong read) {}

    /**
     * A trace file as counted: its count, and its decoded copy that replays read (null when no
     * temporary file could be written: then each pass decodes the trace file again).
     */
    private record Counted(TraceStream.Count count, DecodedTrace decoded) {}
    /** Per synthetic workload declaration and target ("vm" or "vm.pagetable"): its run. */
    private final Map<Workload, Map<String, Run>> syntheticRuns = new IdentityHashMap<>();
    /** Traces this engine replays from memory instead of their files, by path ({@link Engine#holdTrace}). */
    final Map<Path, TraceStream.Held> held = new HashMap<>();

    Workloads(Engine e) {
        this.e = e;
    }

    /**
     * A workload's address range in a VM's default address space, kept across its runs and
     * redeclarations (as the program's mapping would be): where it starts, how large it is, and
     * the guest-physical page behind each of its pages, -1 until the guest faults it in.
     */
    record Range(long base, long footprint, long[] pageToGpa) {}

    /** One workload's process on one VM (or one of its pagetables) during a run. */
    static final class Run {
        final VmState vm;
        final int space;
        final long base;
        /**
         * Default address space: guest-physical page of each workload page, -1 until touched; the
         * range's own array, shared by every run of the workload (a redeclared workload writes the
         * pages an earlier run faulted in).
         */
        final long[] pageToGpa;
        /** Pagetable target: its mappings {gva, size, pageSize, gpa}. */
        final List<long[]> maps;
        final GuestThread[] threads;
        /** The MMU of the VM as it ran when the workload was scheduled: a restarted VM is another guest. */
        final Mmu mmu;
        /** Trace target: guest-physical page by GVA page, filled by the guest's faults; else null. */
        LongLongMap traceGpa;

        Run(VmState vm, int space, long base, long[] pageToGpa, List<long[]> maps, int threads) {
            this.vm = vm;
            this.mmu = vm.mmu;
            this.space = space;
            this.base = base;
            this.maps = maps;
            this.pageToGpa = pageToGpa;
            this.threads = new GuestThread[threads];
        }

        /** Whether the guest it runs in is still the one it was scheduled in, and running. */
        boolean live() {
            return vm.running() && vm.mmu == mmu;
        }

        long remaining() {
            long r = 0;
            for (GuestThread g : threads) r += g.remaining;
            return r;
        }
    }

    /** One thread of a workload's process: its stream, its vCPU, and the batch it is making. */
    static final class GuestThread {
        final Run run;
        final int vcpu;
        final Accesses stream;
        final long perSlice;
        /** Accesses it was given for its run. */
        final long accesses;
        long remaining;
        /** Accesses of the current window not made yet. */
        long sliceLeft;
        /**
         * Accesses made ahead of their window: a vCPU time-sliced with others keeps running
         * past its window's work until its slice ends, as a runnable task does.
         */
        long ahead;
        /** Whether the batch under way is made ahead of its window. */
        boolean batchAhead;
        /** The batch under way: offsets, GVAs and writes; how many the MMU made, how many writes were done. */
        long[] offs;
        long[] gvas;
        boolean[] wr;
        int len;
        int mmuDone;
        int writesDone;

        GuestThread(Run run, int vcpu, Accesses stream, long accesses, long slices) {
            this.run = run;
            this.vcpu = vcpu;
            this.stream = stream;
            this.accesses = accesses;
            this.remaining = accesses;
            this.perSlice = accesses / slices + (accesses % slices == 0 ? 0 : 1);
        }
    }

    /** A VM (re)started: its workloads' ranges belong to the guest that is gone. */
    void forget(VmState v) {
        ranges.keySet().removeIf(k -> k.endsWith("@" + v.decl.name()));
        traceMaps.keySet().removeIf(k -> k.endsWith("@" + v.decl.name()));
    }

    /**
     * Schedules the workloads not yet run: each spreads its accesses evenly over {@code duration}
     * (the run that follows its declaration), in up to 1000 windows of at least 1 ms.
     */
    void schedule(Declarations d, long duration) {
        Map<Workload.Trace, Counted> counted = countTraces(d);
        long slices = Math.max(1, Math.min(1000, duration / 1_000_000L));
        for (Workload w : d.workloads.values()) {
            if (w.trace() != null) {
                scheduleTrace(w, duration, slices, counted);
                continue;
            }
            if (w.accesses() == 0 || done.containsKey(w)) continue;
            done.put(w, true);
            int t = 0;
            for (Workload.Target target : w.targets()) {
                VmState v = e.vms.get(target.vm());
                if (v == null || !v.running()) continue;
                long seed = w.seed() * 0x9e3779b97f4a7c15L + (t++) + e.seed * 31;
                int threads = w.threads() > 0 ? w.threads() : v.decl.vcpus();
                Run run;
                long bytes;
                if (target.pagetable() == null) {
                    // A workload keeps its address range across runs; declared again with a larger
                    // footprint it gets a new range after the others, as a new mmap would.
                    String key = w.name() + "@" + v.decl.name();
                    Range range = ranges.get(key);
                    if (range == null || range.footprint() < w.footprint()) {
                        long[] pages = new long[Math.toIntExact(w.footprint() >>> 12)];
                        Arrays.fill(pages, -1);
                        range = new Range(v.nextWorkloadGva, w.footprint(), pages);
                        v.nextWorkloadGva += (w.footprint() + (2L << 20) - 1) & -(2L << 20);
                        ranges.put(key, range);
                    }
                    bytes = w.footprint();
                    run = new Run(v, e.guest.defaultSpace(v), range.base(), range.pageToGpa(), null, threads);
                } else {
                    VmState.PtSpace pt = v.pagetables.get(target.pagetable());
                    bytes = w.footprint() > 0 ? Math.min(w.footprint(), pt.bytes()) : pt.bytes();
                    run = new Run(v, pt.space(), 0, null, pt.maps(), threads);
                }
                for (int i = 0; i < threads; i++) {
                    long accesses = w.accesses() / threads + (i < w.accesses() % threads ? 1 : 0);
                    int vcpu = i % v.mmu.vcpuCount();
                    run.threads[i] = new GuestThread(run, vcpu,
                            new AccessStream(w.pattern(), bytes, w.writesPct(), seed + i * THREAD_SEED), accesses, slices);
                    if (accesses > 0) v.busy(vcpu, +1);
                }
                syntheticRuns.computeIfAbsent(w, k -> new HashMap<>()).put(target.toString(), run);
                long step = duration / slices;
                e.schedule(e.now + Math.max(1, step / 2), new SliceTimer(run, step));
            }
        }
    }

    /** What {@code w} did on {@code target} so far (see {@link WorkloadStats}); null if never scheduled there. */
    WorkloadStats stats(Workload w, Workload.Target target) {
        if (!w.traces().isEmpty()) {
            Map<String, TraceStream[]> byVm = traceStreams.get(w);
            TraceStream[] streams = byVm == null || target.pagetable() != null ? null : byVm.get(target.vm());
            if (streams == null) return null;
            long made = 0;
            long fetches = 0;
            long left = 0;
            for (TraceStream t : streams) {
                made += t.taken();
                fetches += t.instructions();
                left += t.left();
            }
            return new WorkloadStats(made, fetches, left);
        }
        Map<String, Run> runs = syntheticRuns.get(w);
        Run run = runs == null ? null : runs.get(target.toString());
        if (run == null) return null;
        long made = 0;
        for (GuestThread g : run.threads) made += g.accesses - g.remaining;
        return new WorkloadStats(made, 0, run.remaining());
    }

    /**
     * Counts (and decodes) every trace file this run starts replaying, before anything of the run
     * is scheduled: the count is the one long step of scheduling, and an interrupt during it
     * (the engine's monitor is polled every chunk) then leaves nothing half scheduled; the next
     * run counts again. Returns them by trace, for {@link #scheduleTrace}.
     */
    private Map<Workload.Trace, Counted> countTraces(Declarations d) {
        Map<Workload.Trace, Counted> counted = new HashMap<>();
        for (Workload w : d.workloads.values()) {
            if (w.trace() == null) continue;
            Map<String, TraceStream[]> streams = traceStreams.get(w);
            for (Workload.Target target : w.targets()) {
                VmState v = e.vms.get(target.vm());
                if (v == null || !v.running() || streams != null && streams.containsKey(v.decl.name())) continue;
                for (Workload.Trace t : w.traces()) {
                    Path file = Path.of(t.file());
                    if (!held.containsKey(file) && !counted.containsKey(t)) counted.put(t, count(file, t));
                }
            }
        }
        return counted;
    }

    /**
     * A trace workload's share of this run on each of its VMs: {@code accesses}, or all that is
     * left. A multi-threaded trace (one file per thread) splits the share over its threads in
     * proportion to what each has left, largest remainders first (ties to the lower thread), so
     * its threads end together; thread i replays file i on vCPU i mod vcpus.
     */
    private void scheduleTrace(Workload w, long duration, long slices, Map<Workload.Trace, Counted> counts) {
        Map<String, TraceStream[]> streams = traceStreams.computeIfAbsent(w, k -> new HashMap<>());
        List<Workload.Trace> traces = w.traces();
        for (Workload.Target target : w.targets()) {
            VmState v = e.vms.get(target.vm());
            if (v == null || !v.running()) continue;
            TraceStream[] stream = streams.get(v.decl.name());
            if (stream == null) {
                stream = new TraceStream[traces.size()];
                for (int i = 0; i < stream.length; i++) {
                    Workload.Trace t = traces.get(i);
                    Path file = Path.of(t.file());
                    TraceStream.Held h = held.get(file);
                    Counted counted = h != null ? null : counts.computeIfAbsent(t, k -> count(file, k));
                    TraceStream.Count c = h != null ? h.count() : counted.count();
                    long top = 1L << Math.min(63, 12 + 9 * v.decl.levels());
                    if (Long.compareUnsigned(c.maxAddress(), top) >= 0) {
                        throw new Engine.SimError(t.written() + ":" + c.maxAddressAt() + ": address 0x"
                                + Long.toHexString(c.maxAddress()) + " is beyond the guest's " + v.decl.levels()
                                + "-level page tables (below 0x" + Long.toHexString(top) + ")");
                    }
                    stream[i] = h != null ? TraceStream.ofHeld(h, t)
                            : counted.decoded() != null ? TraceStream.ofDecoded(counted.decoded(), t)
                            : TraceStream.ofFile(file, t, c);
                }
                streams.put(v.decl.name(), stream);
            }
            long[] share = shares(stream, w.accesses());
            long total = 0;
            for (long a : share) total += a;
            if (total == 0) continue;
            Run run = new Run(v, e.guest.defaultSpace(v), 0, null, null, stream.length);
            run.traceGpa = traceMaps.computeIfAbsent(w.name() + "@" + v.decl.name(), k -> new LongLongMap());
            for (int i = 0; i < stream.length; i++) {
                int vcpu = i % v.mmu.vcpuCount();
                run.threads[i] = new GuestThread(run, vcpu, stream[i], share[i], slices);
                if (share[i] > 0) v.busy(vcpu, +1);
            }
            long step = duration / slices;
            e.schedule(e.now + Math.max(1, step / 2), new SliceTimer(run, step));
        }
    }

    /**
     * Each thread's accesses of a run that takes {@code accesses} (0: all that is left): in
     * proportion to what each thread has left, by largest remainder (ties to the lower thread).
     */
    static long[] shares(TraceStream[] streams, long accesses) {
        int n = streams.length;
        long[] left = new long[n];
        java.math.BigInteger sum = java.math.BigInteger.ZERO;
        for (int i = 0; i < n; i++) {
            left[i] = streams[i].left();
            sum = sum.add(java.math.BigInteger.valueOf(left[i]));
        }
        if (accesses == 0 || sum.compareTo(java.math.BigInteger.valueOf(accesses)) <= 0) return left;
        long[] share = new long[n];
        java.math.BigInteger[] rem = new java.math.BigInteger[n];
        long given = 0;
        for (int i = 0; i < n; i++) {
            java.math.BigInteger[] qr = java.math.BigInteger.valueOf(accesses).multiply(java.math.BigInteger.valueOf(left[i]))
                    .divideAndRemainder(sum);
            share[i] = qr[0].longValueExact();
            rem[i] = qr[1];
            given += share[i];
        }
        for (long k = accesses - given; k > 0; k--) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (rem[i].signum() > 0 && (best < 0 || rem[i].compareTo(rem[best]) > 0)) best = i;
            }
            share[best]++;
            rem[best] = java.math.BigInteger.ZERO;
        }
        return share;
    }

    /**
     * Counts a trace file (once per process) and keeps it decoded for its replays; a file that
     * holds no access is an error here, before any run.
     */
    private Counted count(Path file, Workload.Trace t) {
        String key;
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            key = file + "|" + t.format() + "|" + a.size() + "|" + a.lastModifiedTime().toMillis();
        } catch (java.io.IOException x) {
            throw new Engine.SimError(t.written() + ": cannot read it: " + x.getMessage());
        }
        while (true) {
            Pending mine = new Pending(new java.util.concurrent.CompletableFuture<>(), new java.util.concurrent.atomic.AtomicLong());
            Pending p = TRACE_COUNTS.putIfAbsent(key, mine);
            if (p == null) return countNow(file, t, key, mine);
            // counted, or being counted by another engine of this process (a sweep's values run
            // in parallel): wait for that one, with its progress and our own interrupts
            while (true) {
                try {
                    return p.counted().get(50, java.util.concurrent.TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException x) {
                    e.counting(t.written(), p.read().get());
                } catch (InterruptedException x) {
                    Thread.currentThread().interrupt();
                    throw new Engine.Interrupted();
                } catch (java.util.concurrent.ExecutionException x) {
                    // the trace's own fault is everyone's; the other engine's interrupt is not: count again
                    if (x.getCause() instanceof Engine.SimError err) throw new Engine.SimError(err.getMessage());
                    break;
                }
            }
        }
    }

    /** Counts the trace for everyone waiting on {@code mine}; on any failure the next asker counts afresh. */
    private Counted countNow(Path file, Workload.Trace t, String key, Pending mine) {
        COUNTS_MADE.incrementAndGet();
        java.util.function.LongConsumer poll = n -> {
            mine.read().set(n);
            e.counting(t.written(), n);
        };
        try {
            Counted c;
            try {
                try {
                    DecodedTrace d = DecodedTrace.write(file, t.written(), t.format(), null, poll);
                    c = new Counted(d.count(), d);
                } catch (java.nio.channels.ClosedByInterruptException x) {
                    // the thread was interrupted (a sweep stopping), not short of room
                    Thread.currentThread().interrupt();
                    throw new Engine.Interrupted();
                } catch (java.io.IOException x) {
                    // no room for the decoded copy: replays decode the trace itself each time
                    c = new Counted(TraceStream.count(file, t.written(), t.format(), poll), null);
                }
            } catch (TraceException x) {
                // the reading thread gave up because this one was interrupted: an interrupt
                if (Thread.currentThread().isInterrupted()) throw new Engine.Interrupted();
                throw new Engine.SimError(x.getMessage());
            }
            if (c.count().accesses() == 0) {
                if (c.decoded() != null) c.decoded().delete();
                throw new Engine.SimError(t.written() + ": no loads, stores or modifies in it");
            }
            mine.counted().complete(c);
            return c;
        } catch (RuntimeException | Error x) {
            TRACE_COUNTS.remove(key, mine);
            mine.counted().completeExceptionally(x);
            throw x;
        }
    }

    /** One window of a workload's accesses on one VM. */
    static final class SliceTimer extends Timer {
        final Run run;
        final long step;
        /** The windows simulated together with this one while that is under way (see {@link #cutShort}). */
        Dispatch dispatch;

        SliceTimer(Run run, long step) {
            this.run = run;
            this.step = step;
        }

        @Override
        void fire(Engine e) {
            // a dispatch an interrupt cut short is finished by whichever of its windows fires first
            if (dispatch == null && !run.live()) return;
            e.workloads.dispatch(this);
        }

        @Override
        boolean cutShort() {
            return dispatch != null;
        }
    }

    /**
     * Simulates the window of {@code first} and of every other window due at the same instant on
     * the same host right after it in the queue; then each goes back in the queue for its next
     * window. A dispatch cut short by an interrupt is finished by {@code first}'s next fire.
     */
    private void dispatch(SliceTimer first) {
        Dispatch d = first.dispatch;
        if (d == null) {
            HostState h = e.hosts.get(first.run.vm.decl.host());
            List<SliceTimer> members = new ArrayList<>();
            members.add(first);
            for (Timer t : e.pollAllDue(first.at, t -> t instanceof SliceTimer s && s.dispatch == null
                    && s.run.vm.decl.host().equals(h.decl.name()))) {
                SliceTimer s = (SliceTimer) t;
                if (s.run.live()) members.add(s);
            }
            for (SliceTimer m : members) {
                for (GuestThread g : m.run.threads) {
                    // the window's share, less what was made ahead of it
                    long want = Math.min(g.perSlice, g.remaining + g.ahead);
                    long credit = Math.min(want, g.ahead);
                    g.ahead -= credit;
                    g.sliceLeft = want - credit;
                }
            }
            d = new Dispatch(e, h, members);
            for (SliceTimer m : members) m.dispatch = d;
        } else {
            // resumed: the other windows of the dispatch wait in the queue; this one finishes them
            e.cancelTimers(t -> t instanceof SliceTimer s && s.dispatch == first.dispatch && s != first);
        }
        try {
            d.run();
        } catch (Engine.Interrupted i) {
            // every window goes back at this instant (the engine requeues the one that fired), so
            // the dispatch resumes even if that one's VM is gone by then
            for (SliceTimer m : d.members) if (m != first) e.requeue(m);
            throw i;
        }
        for (SliceTimer m : d.members) {
            m.dispatch = null;
            if (m.run.live() && m.run.remaining() > 0) e.schedule(m.at + Math.max(1, m.step), m);
        }
    }

    /**
     * Makes up to {@code quota} accesses of thread {@code g}'s window on its vCPU (already
     * selected in the MMU); with {@code ahead}, once the window's are made, accesses of its
     * later windows (a time-sliced vCPU runs until its slice ends). In the first phase of a dispatch ({@code ready} not null) it stops
     * before the first access that could reach state outside the VM (a page the guest or the
     * nested table does not map yet, whose fault allocates) and before the first write that is
     * more than new content (a copy-on-write break); writes of new content are handed to
     * {@code ready} to be made in the second phase, in order. Returns the accesses made (a batch
     * counts when all of it is made), or -1 - made when the first phase stopped.
     */
    long access(GuestThread g, long quota, Dispatch.Deferred ready, boolean ahead, long[] counted) {
        Run r = g.run;
        VmState v = r.vm;
        Mmu mmu = r.mmu;
        long made = 0;
        v.current = r;
        try {
            if (mmu.currentAddressSpace() != r.space) mmu.loadCr3(r.space);
            while (g.len > 0 || made < quota && (g.sliceLeft > 0 || ahead && g.remaining > 0)) {
                // an interrupt stops a first phase's worker between batches
                if (ready != null && ready.parallel && ready.stopped()) return -1 - made;
                if (g.len == 0) {
                    if (g.offs == null) {
                        g.offs = new long[BATCH];
                        g.gvas = new long[BATCH];
                        g.wr = new boolean[BATCH];
                    }
                    g.batchAhead = g.sliceLeft == 0;
                    int k = (int) Math.min(BATCH, Math.min(g.batchAhead ? g.remaining : g.sliceLeft, quota - made));
                    g.stream.next(g.offs, g.wr, k);
                    for (int i = 0; i < k; i++) g.gvas[i] = gvaOf(r, g.offs[i]);
                    g.len = k;
                    g.mmuDone = 0;
                    g.writesDone = 0;
                }
                if (ready != null) {
                    int j = readyPrefix(mmu, r, g, g.mmuDone);
                    if (j > g.mmuDone) mmu.access(g.gvas, g.wr, g.mmuDone, j - g.mmuDone);
                    g.mmuDone = j;
                    while (g.writesDone < g.mmuDone) {
                        int i = g.writesDone;
                        if (g.wr[i]) {
                            long page = gpaPageOf(r, g.offs[i]);
                            if (!e.guest.writeIsContentOnly(v, page)) break;
                            ready.add(v, page);
                        }
                        g.writesDone++;
                    }
                    if (g.writesDone < g.len) return -1 - made;
                } else {
                    if (g.mmuDone < g.len) mmu.access(g.gvas, g.wr, g.mmuDone, g.len - g.mmuDone);
                    g.mmuDone = g.len;
                    while (g.writesDone < g.len) {
                        int i = g.writesDone++;
                        if (!g.wr[i]) continue;
                        long gpaPage = gpaPageOf(r, g.offs[i]);
                        if (gpaPage >= 0 && !e.guest.write(v, gpaPage, e.nextUnique())) throw new Engine.VmGone();
                    }
                }
                int k = g.len;
                g.len = 0;
                if (g.batchAhead) g.ahead += k;
                else g.sliceLeft -= k;
                if ((g.remaining -= k) == 0) v.busy(g.vcpu, -1);
                made += k;
                counted[0] += k;
                e.accessed(k);
                if (ready == null || !ready.parallel) e.worked(k);
            }
            return made;
        } finally {
            v.current = null;
        }
    }

    /**
     * The end of the longest run of accesses from {@code from} that touch only pages the guest
     * maps and, under nested paging, the nested table maps too (writably, for a write: a write to
     * the zero page allocates): their walks and TLB fills stay inside the VM and its cores.
     */
    private static int readyPrefix(Mmu mmu, Run r, GuestThread g, int from) {
        boolean nested = mmu.paging().nested();
        for (int i = from; i < g.len; i++) {
            long page = gpaPageOf(r, g.offs[i]);
            if (page < 0) return i;
            long gpa = r.vm.slots.gpaPage(page) << 12;
            if (nested && (!mmu.nestedPresent(gpa) || g.wr[i] && mmu.writeFaults(gpa))) return i;
        }
        return g.len;
    }

    private static long gvaOf(Run r, long off) {
        if (r.traceGpa != null) return off;
        if (r.maps == null) return r.base + off;
        for (long[] m : r.maps) {
            if (off < m[1]) return m[0] + off;
            off -= m[1];
        }
        return r.maps.get(0)[0];
    }

    private static long gpaPageOf(Run r, long off) {
        if (r.traceGpa != null) {
            long page = r.traceGpa.get(off >>> 12);
            return page == LongLongMap.ABSENT ? -1 : page;
        }
        if (r.maps == null) return r.pageToGpa[(int) (off >>> 12)];
        for (long[] m : r.maps) {
            if (off < m[1]) return (m[3] + off) >>> 12;
            off -= m[1];
        }
        return -1;
    }
}
