package org.kvmsim.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.kvmsim.lang.Diagnostic;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.Schema;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.lang.Span;
import org.kvmsim.lang.Suggest;
import org.kvmsim.model.ContentsSpec;
import org.kvmsim.model.Declaration;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
import org.kvmsim.model.KsmPolicy;
import org.kvmsim.model.PageTableSpec;
import org.kvmsim.model.Statement;
import org.kvmsim.model.ThpMode;
import org.kvmsim.model.Vm;
import org.kvmsim.model.Workload;
import org.kvmsim.query.Queries;
import org.kvmsim.query.QueryError;
import org.kvmsim.query.RunningVm;
import org.kvmsim.report.Charts;
import org.kvmsim.report.Render;
import org.kvmsim.sim.Engine;
import org.kvmsim.sim.view.VmRunState;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * One kvmsim session: the declarations made so far, the simulation state, and the tables the
 * queries produced. The CLI runs a whole script through one session; the notebook kernel runs
 * every cell through the same one, so a cell sees what earlier cells declared. A failing
 * statement stops its script or cell and leaves everything before it in place.
 */
public final class Session {

    /** What running a script or cell gave. */
    public record Result(boolean ok, List<Diagnostic> diagnostics, boolean interrupted) {}

    private Declarations declared = new Declarations();
    /** The top-level statements run so far (since the last reset): what a sweep replays. */
    private final List<Statement> executed = new ArrayList<>();
    /** The show walk/translate statements in {@link #executed} that failed (after changing state). */
    private final Set<Statement> failedQueries = Collections.newSetFromMap(new IdentityHashMap<>());
    private Engine engine;
    /** Where each VM was declared, so a VM that fails to start is reported at its declaration. */
    private final Map<String, Span> vmSpans = new HashMap<>();
    private final Map<String, Table> tables = new LinkedHashMap<>();
    /** What `show` can show: the checker's forms, the tables, and what a sweep replays. */
    private final Queries queries = Queries.all();
    private final long seed;
    private Path outDir;
    private Path folder;
    private volatile boolean interruptRequested;
    /** The scratch sessions of a sweep now running: an interrupt stops them all. */
    private final List<Session> children = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** In a parallel sweep's worker: what the workers share (the heap guard); null otherwise. */
    private SweepShared sweepShared;
    /** The heap this worker's guard reserved (counted against the other workers). */
    private long reservedHeap;
    /** Where sweeps run their values when not on this machine's workers (null: here). */
    private RemoteSweeps remote;
    /** The source {@link #execute(SourceFile, Output)} runs, its statements, and which one runs now. */
    private SourceFile source;
    private List<Statement> statements = List.of();
    private int statementIndex = -1;

    public Session(long seed) {
        this.seed = seed;
        this.engine = new Engine(seed);
    }

    public long seed() {
        return seed;
    }

    /** The engine now simulating (a `reset` replaces it): for benchmarks in this package. */
    Engine engine() {
        return engine;
    }

    /** Where `export` and relative file names go (null: the working directory). */
    public void outDir(Path dir) {
        this.outDir = dir;
    }

    /**
     * The folder that stands for the working directory of sources that are not files (notebook
     * cells): relative names in `import libvirt`, `trace` and `export` resolve there, and
     * `export` still reports the name as written, as a kernel started in that folder would
     * (nbconvert starts it in the notebook's folder). Null: the working directory.
     */
    public void folder(Path dir) {
        this.folder = dir;
    }

    public Declarations declarations() {
        return declared;
    }

    /** The queries this session answers (the kernel documents and completes `show` from them). */
    public Queries queries() {
        return queries;
    }

    /** The last table each query produced, by table name (what `plot` and `export` refer to). */
    public Map<String, Table> tables() {
        return Collections.unmodifiableMap(tables);
    }

    /**
     * Asks a running script to stop at the next statement or event boundary. Safe from any
     * thread. The request stays until a statement sees it or {@link #clearInterrupt} withdraws
     * it, so one that arrives while {@link #execute} is still compiling stops the script.
     */
    public void interrupt() {
        interruptRequested = true;
        for (Session c : children) c.interrupt();
    }

    /**
     * Runs each value of a sweep elsewhere (org.kvmsim.spark), one task per value; the output is
     * the same as on this machine's workers. Only a sweep whose history is its own script's
     * statements since its last reset can go (a CLI run, not a notebook's cells): a task rebuilds
     * that history from the script's text.
     */
    public void remoteSweeps(RemoteSweeps remote) {
        this.remote = remote;
    }

    /** Where a sweep's values run when not on this machine: a task per value, results in value order. */
    public interface RemoteSweeps {
        /**
         * Runs values 0 to {@code task.values() - 1} of {@code task}, each as {@link SweepTask#run},
         * and hands each encoded result to {@code inOrder} on the calling thread in value order,
         * as soon as it and those before it are in (so only results wait here, never engines).
         * Returns false, with the work cancelled, once {@code stop} says so; an exception from
         * {@code inOrder} cancels the rest and propagates.
         */
        boolean run(SweepTask task, ValueSink inOrder, java.util.function.BooleanSupplier stop);
    }

    /** Receives a sweep value's encoded result. */
    public interface ValueSink {
        void accept(int value, byte[] result);
    }

    /** Withdraws an interrupt no statement has seen (the kernel calls it before and after a cell). */
    public void clearInterrupt() {
        interruptRequested = false;
    }

    /** Parses, checks and runs {@code source}, sending its results to {@code out}. */
    public Result execute(SourceFile source, Output out) {
        Frontend.Result compiled = Frontend.compile(source, declared, queries.syntax(), folder);
        if (!compiled.ok()) return new Result(false, compiled.diagnostics().list(), false);
        this.source = source;
        this.statements = compiled.statements();
        try {
            for (statementIndex = 0; statementIndex < statements.size(); statementIndex++) {
                Statement s = statements.get(statementIndex);
                try {
                    execute(s, out, null);
                } catch (ScriptError e) {
                    // a failed show walk/translate may have changed state first (it made the
                    // address space it looked in): a sweep's replay must make the same change
                    if (s instanceof Statement.Show sh && queries.changesState(sh.args())) {
                        executed.add(s);
                        failedQueries.add(s);
                    }
                    throw e;
                }
                if (s instanceof Statement.Reset) {
                    executed.clear();
                    failedQueries.clear();
                }
                else executed.add(s);
            }
            return new Result(true, List.of(), false);
        } catch (ScriptError e) {
            return new Result(false, List.of(e.diagnostic()), false);
        } catch (Interrupted e) {
            return new Result(false, List.of(e.diagnostic()), true);
        } finally {
            this.source = null;
            this.statements = List.of();
            this.statementIndex = -1;
        }
    }

    private static final class Interrupted extends RuntimeException {
        private final Span span;

        Interrupted(Span span, String where) {
            super(where, null, false, false);
            this.span = span;
        }

        Diagnostic diagnostic() {
            return new Diagnostic(span, "interrupted: " + getMessage(), "the session is usable; what ran before stays");
        }
    }

    void checkInterrupt(Span span, String where) {
        if (interruptRequested) {
            interruptRequested = false;
            throw new Interrupted(span, where);
        }
    }

    /**
     * Runs one statement. {@code collect}, inside a sweep, gathers the body's tables instead of
     * sending them out.
     */
    private void execute(Statement s, Output out, List<Table> collect) {
        checkInterrupt(s.span(), "before line " + s.span().line());
        // the engine looks at the monitor at bounded intervals of work, whatever the statement
        Engine e = engine;
        e.monitor(monitor(s.span(), out));
        try {
            run(s, out, collect);
        } catch (Engine.SimError x) {
            // What the simulated system refused (out of memory, a guest without room for its
            // page tables) is reported at the statement that asked for it.
            throw new ScriptError(s.span(), x.getMessage());
        } catch (Engine.Interrupted x) {
            throw new Interrupted(s.span(), String.format(Locale.ROOT, "at %.3f s of simulated time", e.now() / 1e9));
        } finally {
            e.monitor(null);
        }
    }

    private void run(Statement s, Output out, List<Table> collect) {
        if (s instanceof Statement.Declare d) {
            // What is already running constrains a declaration (the engine refuses to change a
            // running VM or the host under it) or takes it up at once (contents, pagetables).
            engine.sync(declared);
            if (d.decl() instanceof Host h) engine.redeclare(h);
            if (d.decl() instanceof Vm v) engine.redeclare(v);
            declared.declare(d.decl());
            if (d.decl() instanceof Vm v) vmSpans.put(v.name(), d.span());
            if (d.decl() instanceof ContentsSpec c) engine.declared(c);
            if (d.decl() instanceof PageTableSpec pt) engine.declared(pt);
        } else if (s instanceof Statement.Print p) {
            out.print(p.text());
        } else if (s instanceof Statement.Reset) {
            declared = new Declarations();
            tables.clear();
            engine = new Engine(seed);
        } else if (s instanceof Statement.ResetMmu) {
            // the counters only: TLBs, walk caches and tables stay warm
            engine.sync(declared);
            engine.resetMmuCounters();
        } else if (s instanceof Statement.RunFor r) {
            startVms(r.span());
            engine.scheduleWorkloads(declared, r.nanos());
            engine.runFor(r.nanos());
        } else if (s instanceof Statement.RunUntil r) {
            startVms(r.span());
            var host = engine.view().host(r.host());
            LongSupplier counter = () -> host.ksmCounters().get(r.counter());
            long started = engine.now();
            if (!engine.runUntil(() -> counter.getAsLong() >= r.target(), r.boundNanos())) {
                throw new ScriptError(r.span(), r.host() + ".ksm." + r.counter() + " did not reach " + r.target()
                        + " within " + seconds(r.boundNanos()) + " of simulated time (it is "
                        + counter.getAsLong() + ")", "add `within DURATION` to wait longer, or check that ksmd runs");
            }
            // The run took what it took, not its bound: progress ends at the time actually simulated.
            out.progress(engine.now() - started, engine.now() - started, -1);
        } else if (s instanceof Statement.Write w) {
            requireRunning(w.vm(), w.span());
            engine.write(w.vm(), w.from(), w.to(), w.content());
        } else if (s instanceof Statement.Start st) {
            engine.sync(declared);
            guardHeap(st.span(), st.vm());
            engine.start(st.vm(), declared);
        } else if (s instanceof Statement.Stop st) {
            engine.sync(declared);
            engine.stop(st.vm());
        } else if (s instanceof Statement.Set st) {
            set(st);
        } else if (s instanceof Statement.Show sh) {
            publish(query(sh), out, collect);
        } else if (s instanceof Statement.Sweep sw) {
            sweep(sw, out);
        } else if (s instanceof Statement.Plot p) {
            plot(p, out);
        } else if (s instanceof Statement.Export e) {
            export(e, out);
        } else {
            throw new IllegalStateException("no execution for " + s.getClass().getSimpleName());
        }
    }

    private void publish(Table t, Output out, List<Table> collect) {
        tables.put(t.name(), t);
        if (collect != null) collect.add(t);
        else out.table(t);
    }

    private void startVms(Span at) {
        engine.sync(declared);
        guardHeap(at, null);
        for (var vm : new ArrayList<>(declared.vms.values())) {
            if (engine.view().vm(vm.name()).state() != VmRunState.DECLARED) continue;
            try {
                engine.start(vm.name(), declared);
            } catch (Engine.SimError e) {
                throw new ScriptError(vmSpans.getOrDefault(vm.name(), at), e.getMessage());
            }
        }
    }

    /**
     * Fails before starting VMs whose state would not fit the JVM's heap: a clear message with the
     * figure and the remedy, instead of an OutOfMemoryError halfway through a run.
     */
    private void guardHeap(Span at, String onlyVm) {
        long need = engine.heapNeededToStart(declared, onlyVm);
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        long reservedByOthers = 0;
        if (sweepShared != null) {
            synchronized (sweepShared) {
                reservedByOthers = sweepShared.reserved - reservedHeap;
            }
        }
        if (need > (free - reservedByOthers) * 9 / 10) {
            // what looks taken may be garbage not yet collected (a notebook's earlier runs, the
            // engines of a sweep's earlier values): collect once before saying it does not fit
            System.gc();
            free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        }
        if (sweepShared != null) {
            // a parallel sweep's worker: what the others reserved is taken; one that does not fit
            // beside them runs again alone after them (HeapBusy), so none fails where a
            // sequential sweep would not
            synchronized (sweepShared) {
                long others = sweepShared.reserved - reservedHeap;
                if (need <= (free - others) * 9 / 10) {
                    sweepShared.reserved += need;
                    reservedHeap += need;
                    return;
                }
                if (sweepShared.running > 1) throw new HeapBusy();
            }
        }
        if (need > free * 9 / 10) {
            throw new ScriptError(at, String.format(Locale.ROOT,
                    "this run needs about %.1f GiB of heap for the guest pages it will touch; the JVM has %.1f GiB free",
                    need / (double) (1L << 30), free / (double) (1L << 30)),
                    String.format(Locale.ROOT, "give the JVM more: KVMSIM_HEAP=%dg ./kvmsim ... (the launcher's -Xmx)",
                            Math.max(2, (rt.maxMemory() + need) >>> 30) + 1));
        }
    }

    /**
     * What the engine reports to while a statement runs: an interrupt request stops it (see
     * Engine.Interrupted for what that leaves), and a run shows its progress up to four times a
     * second.
     */
    private Engine.Monitor monitor(Span span, Output out) {
        long[] lastWall = {System.nanoTime()};
        Engine e = engine;
        long accessesBefore = e.accessesDone();
        return new Engine.Monitor() {
            @Override
            public void tick(long done, long total) {
                interruptIfAsked();
                if (total == 0) return;
                long t = System.nanoTime();
                if (t - lastWall[0] > 250_000_000L) {
                    lastWall[0] = t;
                    out.progress(done, total, e.accessesDone() - accessesBefore);
                }
            }

            @Override
            public void counting(String trace, long accesses) {
                interruptIfAsked();
                long t = System.nanoTime();
                if (t - lastWall[0] > 250_000_000L) {
                    lastWall[0] = t;
                    out.counting(trace, accesses);
                }
            }
        };
    }

    private void interruptIfAsked() {
        if (interruptRequested) {
            interruptRequested = false;
            throw new Engine.Interrupted();
        }
    }

    private static String seconds(long nanos) {
        return nanos % 1_000_000_000L == 0 ? nanos / 1_000_000_000L + " s"
                : String.format(Locale.ROOT, "%.3f s", nanos / 1e9);
    }

    private void requireRunning(String name, Span span) {
        engine.sync(declared);
        try {
            RunningVm.of(engine.view(), name);
        } catch (QueryError e) {
            throw new ScriptError(span, e.getMessage(), e.hint());
        }
    }

    /** `set`: a knob changed the way writing its sysfs file would, with sysfs's errors. */
    private void set(Statement.Set st) {
        engine.sync(declared);
        var h = engine.view().host(st.host());
        List<String> p = st.path();
        if (p.get(0).equals("ksm")) {
            if (!h.hasKsm()) throw new ScriptError(st.span(), "host '" + st.host() + "' has no ksm policy");
            String knob = Schema.ksmKnob(p.get(1));
            String v = KsmPolicy.sysfsText(knob, (Long) st.value());
            engine.setKsmKnob(st.host(), knob, v);
        } else if (p.get(0).equals("thp")) {
            engine.setThp(st.host(), ThpMode.of((String) st.value()));
        } else if (p.get(0).equals("khugepaged")) {
            engine.setKhugepagedKnob(st.host(), p.get(1), (Long) st.value());
        } else {
            var declaredPool = h.decl().pool(p.get(0));
            long n = (Long) st.value();
            if (p.get(1).equals("count")) engine.setNrHugepages(st.host(), declaredPool.pageSize(), declaredPool.node(), n);
            else engine.setNrOvercommitHugepages(st.host(), declaredPool.pageSize(), n);
        }
    }

    /**
     * A query's table, read from the engine's view. One about a VM that has not started yet
     * (`show walk` before any `run`) is answered as if the next `run` had started it.
     */
    private Table query(Statement.Show sh) {
        engine.sync(declared);
        String vm = queries.vm(sh.args());
        if (vm != null && engine.view().vm(vm).state() == VmRunState.DECLARED) {
            return onStartedCopy(sh.span(), () -> answer(sh));
        }
        return answer(sh);
    }

    private Table answer(Statement.Show sh) {
        try {
            return queries.answer(sh.args(), declared, engine.view(), engine.probe());
        } catch (QueryError e) {
            throw new ScriptError(sh.span(), e.getMessage(), e.hint());
        }
    }

    /**
     * Runs the body once per value from the same starting state, and concatenates each query's
     * tables with a first column for the swept variable. The starting state is rebuilt by
     * replaying the session's statements so far on a fresh engine with the variable substituted
     * in its declaration: the engine is deterministic, so a replay is the state itself. Each value
     * runs in a scratch session of its own, so values run in parallel ({@link #sweepThreads});
     * what a value prints is held and sent out in value order, so the output is the same for any
     * number of workers.
     */
    private void sweep(Statement.Sweep sw, Output out) {
        if (remote != null && historyIsScript(sw)) {
            sweepRemote(sw, out);
            return;
        }
        List<Statement> history = List.copyOf(executed);
        int n = sw.values().size();
        int threads = Math.min(n, sweepThreads());
        SweepShared shared = new SweepShared();
        List<ValueRun> runs = new ArrayList<>();
        for (int i = 0; i < n; i++) runs.add(new ValueRun(i, scratchSession(shared, threads > 1), out, i == 0 || threads <= 1));
        Map<String, Table> merged = new LinkedHashMap<>();
        ExecutorService pool = threads > 1 ? Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "kvmsim-sweep");
            t.setDaemon(true);
            return t;
        }) : null;
        try {
            List<Future<?>> futures = new ArrayList<>();
            if (pool != null) {
                synchronized (shared) {
                    shared.running = n;
                }
                for (ValueRun r : runs) futures.add(pool.submit(() -> r.run(sw, history)));
            }
            for (ValueRun r : runs) {
                if (pool != null) {
                    awaitValue(futures.get(r.index), runs);
                    if (r.failure instanceof HeapBusy) {
                        // it would not fit beside the other workers: alone, after them, as in a sequential sweep
                        for (Future<?> f : futures) awaitValue(f, runs);
                        r.session = scratchSession(shared, false);
                        r.recorded.clear();
                        r.failure = null;
                        r.run(sw, history);
                    }
                } else {
                    r.run(sw, history);
                }
                r.replay();
                if (r.failure != null) {
                    for (ValueRun other : runs) other.session.interrupt();
                    throw failed(sw, r.index, r.failure);
                }
                merge(merged, sw, r.index, r.got);
            }
        } finally {
            interruptRequested = false;
            if (pool != null) {
                for (ValueRun other : runs) other.session.interrupt();
                pool.shutdownNow();
            }
            children.clear();
        }
        publishSweep(merged, out);
    }

    /** Adds value {@code index}'s tables to the sweep's, each row tagged with the value. */
    private static void merge(Map<String, Table> merged, Statement.Sweep sw, int index, List<Table> got) {
        for (Table t : got) {
            Table tagged = t.copy();
            String col = sw.attribute().replace('.', '_');
            if (tagged.columnNames().contains(col)) col = "sweep_" + col;
            tagged.insertColumn(0, StringColumn.create(col, Collections.nCopies(t.rowCount(), sw.labels().get(index))));
            Table acc = merged.get(t.name());
            if (acc == null) merged.put(t.name(), tagged.setName(t.name()));
            else acc.append(tagged);
        }
    }

    /** The sweep's tables: the first as `sweep`, the others as `sweep_NAME`, and each under its own name. */
    private void publishSweep(Map<String, Table> merged, Output out) {
        boolean first = true;
        for (Table t : merged.values()) {
            Table named = t.copy().setName(first ? "sweep" : "sweep_" + t.name());
            tables.put(named.name(), named);
            tables.put(t.name(), t);
            out.table(named);
            first = false;
        }
    }

    /** Waits for a value's worker; an interrupt of the waiting thread stops every worker. */
    private static void awaitValue(Future<?> f, List<ValueRun> runs) {
        while (true) {
            try {
                f.get();
                return;
            } catch (InterruptedException e) {
                for (ValueRun r : runs) r.session.interrupt();
            } catch (ExecutionException e) {
                return; // a value's failures are kept in its ValueRun
            }
        }
    }

    /**
     * The workers of a sweep: -Dkvmsim.sweep.threads or KVMSIM_SWEEP_THREADS, else kvmsim.threads
     * or KVMSIM_THREADS (as the cores of one engine), else one per processor.
     */
    public static int sweepThreads() {
        String s = System.getProperty("kvmsim.sweep.threads", System.getenv("KVMSIM_SWEEP_THREADS"));
        if (s == null || s.isBlank()) s = System.getProperty("kvmsim.threads", System.getenv("KVMSIM_THREADS"));
        return Engine.threadsSetting(s);
    }

    /** A sweep's scratch session: this one's history and tables, a fresh engine, nothing declared. */
    private Session scratchSession(SweepShared shared, boolean parallel) {
        Session c = new Session(seed);
        c.engine = new Engine(seed, true);
        c.outDir = outDir;
        c.folder = folder;
        c.executed.addAll(executed);
        c.failedQueries.addAll(failedQueries);
        c.vmSpans.putAll(vmSpans);
        c.tables.putAll(tables);
        c.sweepShared = parallel ? shared : null;
        children.add(c);
        if (interruptRequested) c.interrupt();
        return c;
    }

    /**
     * What the workers of one parallel sweep share: how many run, and the heap they reserved.
     * Scripts run side by side (`kvmsim run A B`) share one the same way ({@link #shareHeap}).
     */
    public static final class SweepShared {
        int running;
        long reserved;
    }

    /**
     * Runs this session as one of several workers of {@code shared} (scripts run side by side):
     * the heap its VMs need is reserved against the others', and a script whose VMs do not fit
     * beside theirs stops with {@link HeapBusy}, to run again alone after them. {@link #releaseHeap}
     * when it is done.
     */
    public void shareHeap(SweepShared shared) {
        synchronized (shared) {
            shared.running++;
        }
        sweepShared = shared;
    }

    /** This worker is done: the heap it reserved is the others'. */
    public void releaseHeap() {
        SweepShared sh = sweepShared;
        if (sh == null) return;
        synchronized (sh) {
            sh.running--;
            sh.reserved -= reservedHeap;
        }
        reservedHeap = 0;
        sweepShared = null;
    }

    /** A worker's VMs do not fit beside the other workers' now; it runs again alone. */
    public static final class HeapBusy extends RuntimeException {
        HeapBusy() {
            super(null, null, false, false);
        }
    }

    /** What stops a sweep when value {@code index} failed: its error, said with the value. */
    private static RuntimeException failed(Statement.Sweep sw, int index, Throwable failure) {
        if (failure instanceof ScriptError e) {
            Diagnostic d = e.diagnostic();
            return new ScriptError(d.span(), "with " + sw.variable() + " = " + sw.labels().get(index) + ": " + d.message(), d.hint());
        }
        if (failure instanceof RuntimeException e) return e;
        throw (Error) failure;
    }

    /**
     * What a sweep value sent out, held until its turn: data, not callbacks, so that a value run
     * elsewhere can send it back ({@link Wire}). {@code Export} is an `export` whose file the
     * driver writes (a value run elsewhere would write it on the wrong machine).
     */
    private sealed interface Event {
        record Print(String text) implements Event {}

        record Shown(Table table) implements Event {}

        record Chart(String name, byte[] png, String svg) implements Event {}

        record Exported(String table, Path file) implements Event {}

        record Export(String table, String file, String text, Span span) implements Event {}
    }

    /** Sends a held event on to {@code out}, as the sweeping session. */
    private void send(Event e, Output out) {
        if (e instanceof Event.Print p) out.print(p.text());
        else if (e instanceof Event.Shown t) out.table(t.table());
        else if (e instanceof Event.Chart c) out.chart(c.name(), c.png(), c.svg());
        else if (e instanceof Event.Exported x) out.exported(x.table(), x.file());
        else if (e instanceof Event.Export x) writeExport(x.table(), x.file(), x.text(), x.span(), out);
    }

    /** An Output that also takes `export`s to write later (the sweep's driver writes them). */
    private interface DeferredExports {
        void export(String table, String file, String text, Span span);
    }

    /** One value of a sweep on its scratch session, its output held until its turn. */
    private final class ValueRun {
        final int index;
        Session session;
        final Output live;
        final boolean forwardProgress;
        final List<Event> recorded = Collections.synchronizedList(new ArrayList<>());
        final List<Table> got = new ArrayList<>();
        volatile Throwable failure;

        ValueRun(int index, Session session, Output live, boolean forwardProgress) {
            this.index = index;
            this.session = session;
            this.live = live;
            this.forwardProgress = forwardProgress;
        }

        String label(Statement.Sweep sw) {
            return sw.variable() + " = " + sw.labels().get(index);
        }

        /** The value's output; with {@code defer}, `export` files are held too, not written. */
        private Output recorder(boolean defer) {
            final class Recorder implements Output, DeferredExports {
                public void print(String text) {
                    recorded.add(new Event.Print(text));
                }

                public void table(Table t) {
                    recorded.add(new Event.Shown(t));
                }

                public void chart(String name, byte[] png, String svg) {
                    recorded.add(new Event.Chart(name, png, svg));
                }

                public void exported(String table, Path file) {
                    recorded.add(new Event.Exported(table, file));
                }

                public void export(String table, String file, String text, Span span) {
                    recorded.add(new Event.Export(table, file, text, span));
                }

                public void progress(long done, long total) {
                    progress(done, total, 0);
                }

                public void progress(long done, long total, long accesses) {
                    // one worker's progress only: the first value's (the others' would interleave)
                    if (forwardProgress) live.progress(done, total, accesses);
                }

                public void counting(String trace, long accesses) {
                    if (forwardProgress) live.counting(trace, accesses);
                }
            }
            Output rec = new Recorder();
            if (defer) return rec;
            // writes its exports itself: hide the DeferredExports side
            return new Output() {
                public void print(String text) {
                    rec.print(text);
                }

                public void table(Table t) {
                    rec.table(t);
                }

                public void chart(String name, byte[] png, String svg) {
                    rec.chart(name, png, svg);
                }

                public void exported(String table, Path file) {
                    rec.exported(table, file);
                }

                public void progress(long done, long total) {
                    rec.progress(done, total);
                }

                public void progress(long done, long total, long accesses) {
                    rec.progress(done, total, accesses);
                }

                public void counting(String trace, long accesses) {
                    rec.counting(trace, accesses);
                }
            };
        }

        void run(Statement.Sweep sw, List<Statement> history) {
            run(sw, history, false);
        }

        void run(Statement.Sweep sw, List<Statement> history, boolean deferExports) {
            Output rec = recorder(deferExports);
            Object value = sw.values().get(index);
            String label = label(sw);
            got.clear();
            try {
                session.replay(history, d -> patch(d, sw, value), (h, why) -> rec.print(String.format(Locale.ROOT,
                        "note: with %s, the replayed query at %s:%d %s; this value starts from the state that left",
                        label, h.span().file(), h.span().line(), why)));
                for (Statement s : sw.body()) session.execute(s, rec, got);
            } catch (RuntimeException | Error e) {
                failure = e;
            } finally {
                // its engine is garbage now: the heap it reserved is free for the others
                session.engine = null;
                SweepShared sh = session.sweepShared;
                if (sh != null) {
                    synchronized (sh) {
                        sh.running--;
                        sh.reserved -= session.reservedHeap;
                    }
                }
            }
        }

        /** Sends the held output on, in the order it was made. */
        void replay() {
            synchronized (recorded) {
                for (Event e : recorded) send(e, live);
            }
        }
    }

    /**
     * Whether {@code sw}'s history is what a task can rebuild from the script's text: the
     * statements of the script now running since its last reset, all run clean (a CLI run).
     */
    private boolean historyIsScript(Statement.Sweep sw) {
        if (source == null || statementIndex < 0 || statements.get(statementIndex) != sw) return false;
        List<Statement> expected = scriptHistory(statements, statementIndex);
        if (expected.size() != executed.size() || !failedQueries.isEmpty()) return false;
        for (int i = 0; i < expected.size(); i++) if (expected.get(i) != executed.get(i)) return false;
        return true;
    }

    /** The statements before statement {@code index} since the last reset: a sweep's history in a CLI run. */
    private static List<Statement> scriptHistory(List<Statement> statements, int index) {
        List<Statement> history = new ArrayList<>();
        for (int i = 0; i < index; i++) {
            if (statements.get(i) instanceof Statement.Reset) history.clear();
            else history.add(statements.get(i));
        }
        return history;
    }

    /**
     * A sweep whose values run as tasks of {@link #remote}: each task rebuilds the state the sweep
     * starts from out of the script's text, runs its value and sends back what it printed and
     * showed ({@link #sweepValue}); here the results are sent out and merged in value order as
     * they come, exactly as a local sweep's, and dropped but for the tables the sweep merges.
     */
    private void sweepRemote(Statement.Sweep sw, Output out) {
        // the tables the body refers to (plot, export) that earlier statements made
        List<Table> referenced = new ArrayList<>();
        for (Statement b : sw.body()) {
            String name = b instanceof Statement.Plot p ? p.table() : b instanceof Statement.Export e ? e.table() : null;
            if (name != null && tables.containsKey(name) && !referenced.contains(tables.get(name))) referenced.add(tables.get(name));
        }
        SweepTask task = new SweepTask(source.name(), source.text(), seed, statementIndex, sw.values().size(),
                Wire.tables(referenced));
        Map<String, Table> merged = new LinkedHashMap<>();
        int[] done = {0};
        boolean complete;
        try {
            complete = remote.run(task, (index, bytes) -> {
            if (index != done[0]) throw new IllegalStateException("sweep value " + index + " came before " + done[0]);
            ValueResult r = ValueResult.decode(bytes);
            for (Event e : r.events()) send(e, out);
            if (r.failure() != null) throw failed(sw, index, r.failure());
            merge(merged, sw, index, r.got());
            done[0]++;
            }, () -> interruptRequested);
        } catch (RemoteFailure e) {
            throw new ScriptError(sw.span(), "the sweep's values could not run as tasks (" + done[0] + " of "
                    + sw.values().size() + " done): " + e.getMessage(), "a local run (`kvmsim run`) needs no cluster");
        }
        if (!complete) {
            interruptRequested = false;
            throw new Interrupted(sw.span(), "with " + done[0] + " of " + sw.values().size() + " sweep values done");
        }
        publishSweep(merged, out);
    }

    /**
     * Runs value {@code value} of a {@link SweepTask} in a session of its own, on whatever machine
     * the task landed: the script's statements before the sweep are its history, replayed with the
     * value in place as a local sweep's worker replays them. Returns the value's output, encoded.
     */
    static byte[] sweepValue(SweepTask task, int value) {
        Session s = new Session(task.seed());
        SourceFile src = new SourceFile(task.file(), task.text());
        Frontend.Result compiled = Frontend.compile(src, s.declared, s.queries.syntax());
        if (!compiled.ok() || !(compiled.statements().get(task.statement()) instanceof Statement.Sweep sw)) {
            throw new IllegalStateException("the sweep task's script " + task.file() + " does not compile to a sweep at statement "
                    + task.statement() + " here (a different kvmsim on the executor?)");
        }
        List<Statement> history = scriptHistory(compiled.statements(), task.statement());
        s.executed.addAll(history);
        for (Table t : Wire.tables(task.tables())) s.tables.put(t.name(), t);
        // the tasks in one JVM (an executor's cores, or local[N]) share its heap as a local
        // sweep's workers do: one that does not fit beside the others waits for them, then runs
        ValueRun r = s.new ValueRun(value, s.scratchSession(TASKS, true), SILENT, false);
        synchronized (TASKS) {
            TASKS.running++;
        }
        r.run(sw, history, true);
        if (r.failure instanceof HeapBusy) {
            synchronized (TASKS) {
                while (TASKS.running > 0) {
                    try {
                        TASKS.wait(50);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt(); // Spark cancelled the task
                        throw new IllegalStateException("sweep task cancelled");
                    }
                }
            }
            r = s.new ValueRun(value, s.scratchSession(null, false), SILENT, false);
            r.run(sw, history, true);
        }
        return new ValueResult(List.copyOf(r.recorded), r.got, r.failure).encode();
    }

    /** The sweep tasks running in this JVM: their heap guard (see {@link #sweepValue}). */
    private static final SweepShared TASKS = new SweepShared();

    /**
     * What a {@link RemoteSweeps} throws when the tasks could not be run (the cluster, not a
     * value, failed): said at the sweep's line, not as a bug of kvmsim's.
     */
    public static final class RemoteFailure extends RuntimeException {
        public RemoteFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A sweep value's output, failure included, as it travels from a task ({@link Wire}). */
    private record ValueResult(List<Event> events, List<Table> got, Throwable failure) {

        byte[] encode() {
            Wire.Writer w = new Wire.Writer().integer(events.size());
            for (Event e : events) {
                if (e instanceof Event.Print p) w.integer('P').string(p.text());
                else if (e instanceof Event.Shown t) w.integer('T').table(t.table());
                else if (e instanceof Event.Chart c) w.integer('C').string(c.name()).bytes(c.png()).string(c.svg());
                else if (e instanceof Event.Exported x) w.integer('E').string(x.table()).string(x.file().toString());
                else if (e instanceof Event.Export x) span(w.integer('X').string(x.table()).string(x.file()).string(x.text()), x.span());
            }
            w.integer(got.size());
            for (Table t : got) w.table(t);
            if (failure == null) {
                w.integer(0);
            } else if (failure instanceof ScriptError e) {
                Diagnostic d = e.diagnostic();
                span(w.integer(1), d.span()).string(d.message()).string(d.hint());
            } else if (failure instanceof Interrupted e) {
                Diagnostic d = e.diagnostic();
                span(w.integer(2), d.span()).string(e.getMessage());
            } else {
                // a bug, or the task's JVM out of heap: said on the driver as an internal error
                w.integer(3).string(failure.getClass().getName() + ": " + failure.getMessage());
            }
            return w.done();
        }

        private static Wire.Writer span(Wire.Writer w, Span s) {
            return w.string(s.file()).integer(s.line()).integer(s.column()).integer(s.length());
        }

        private static Span span(Wire.Reader r) {
            return new Span(r.string(), r.integer(), r.integer(), r.integer());
        }

        static ValueResult decode(byte[] bytes) {
            Wire.Reader r = new Wire.Reader(bytes);
            int n = r.integer();
            List<Event> events = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int kind = r.integer();
                events.add(switch (kind) {
                    case 'P' -> new Event.Print(r.string());
                    case 'T' -> new Event.Shown(r.table());
                    case 'C' -> new Event.Chart(r.string(), r.bytes(), r.string());
                    case 'E' -> new Event.Exported(r.string(), Path.of(r.string()));
                    case 'X' -> new Event.Export(r.string(), r.string(), r.string(), span(r));
                    default -> throw new IllegalStateException("bad sweep event " + kind + " on the wire");
                });
            }
            int tables = r.integer();
            List<Table> got = new ArrayList<>(tables);
            for (int i = 0; i < tables; i++) got.add(r.table());
            Throwable failure = switch (r.integer()) {
                case 0 -> null;
                case 1 -> new ScriptError(span(r), r.string(), r.string());
                case 2 -> new Interrupted(span(r), r.string());
                default -> new IllegalStateException("a sweep task failed: " + r.string());
            };
            return new ValueResult(events, got, failure);
        }
    }

    /**
     * Runs {@code history} again on the current (fresh) engine, without output: the engine is
     * deterministic, so this rebuilds the simulation state. {@code patch} may substitute
     * declarations (a sweep's variable). Queries and sweeps change no state and are skipped, but
     * for the queries that do (`show walk` and `show translate` fill in missing nested or shadow
     * entries as the first access would, and fault the host page in) where their VM runs;
     * {@code diverged} hears of each that fails or is skipped where the session's run did not.
     */
    private void replay(List<Statement> history, UnaryOperator<Declaration> patch,
                        BiConsumer<Statement, String> diverged) {
        Output silent = SILENT;
        for (Statement h : history) {
            if (h instanceof Statement.Show sh && queries.changesState(sh.args())) {
                // on a VM not started yet it ran on a scratch copy and changed nothing; it may fail
                // here where it did not (the swept value changed what is mapped, or killed the VM),
                // or have failed there after changing state: what state it leaves is what counts
                engine.sync(declared);
                String vm = queries.vm(sh.args());
                var state = vm == null ? VmRunState.RUNNING : engine.view().vm(vm).state();
                if (state != VmRunState.RUNNING && state != VmRunState.DECLARED
                        && !failedQueries.contains(h)) {
                    diverged.accept(h, "was skipped (the vm is " + state.word() + ")");
                }
                if (state == VmRunState.RUNNING) {
                    try {
                        execute(h, silent, new ArrayList<>());
                    } catch (ScriptError e) {
                        // its state changes (if any) are made; the replay goes on, and says so
                        // where the session's own run of it did not fail
                        if (!failedQueries.contains(h)) diverged.accept(h, "failed (" + e.getMessage() + ")");
                    }
                }
                continue;
            }
            if (h instanceof Statement.Show || h instanceof Statement.Plot || h instanceof Statement.Export
                    || h instanceof Statement.Print || h instanceof Statement.Sweep) {
                continue;
            }
            if (h instanceof Statement.Declare d) h = new Statement.Declare(patch.apply(d.decl()), d.span());
            execute(h, silent, new ArrayList<>());
        }
    }

    /**
     * Answers a query about a VM that has not started yet (`show walk` before any `run`) on a
     * scratch copy of the session in which the declared VMs have started, as the next `run`
     * would start them; the session itself is left as it was.
     */
    /** Where a replay's and a scratch copy's output goes: nowhere. */
    private static final Output SILENT = new Output() {
        public void print(String text) {}

        public void table(Table t) {}

        public void chart(String name, byte[] png, String svg) {}
    };

    private Table onStartedCopy(Span span, Supplier<Table> query) {
        Declarations savedDecl = declared;
        Engine savedEngine = engine;
        Map<String, Table> savedTables = new LinkedHashMap<>(tables);
        try {
            declared = new Declarations();
            engine = new Engine(seed, true);
            replay(List.copyOf(executed), d -> d, (h, e) -> { });
            declared = savedDecl.copy();
            // starting the VMs (prealloc, boot) is long work too: interruptible like a statement
            engine.monitor(monitor(span, SILENT));
            startVms(span);
            return query.get();
        } finally {
            declared = savedDecl;
            engine = savedEngine;
            tables.clear();
            tables.putAll(savedTables);
        }
    }

    /**
     * The heap a script's engines will need, from the memory guard's own estimate
     * (Engine#heapNeededToStart: what the guest pages it is sure to touch cost): {@code script},
     * the most any stretch of the script between resets needs with every VM it declares running;
     * {@code sweepValue}, the most one sweep value's engine needs (its body's declarations in);
     * {@code sideBySide}, what the sweep's values need on {@code workers} workers at once. A
     * value that does not fit beside the others runs alone after them, so {@code max(script,
     * sweepValue)} is what a run needs and {@code sideBySide} what it needs to use every worker.
     * Null if the script does not compile.
     */
    public record HeapEstimate(long script, long sweepValue, long sideBySide, int workers) {
        /** The JVM heap (-Xmx) to give: the guard wants a tenth spare, plus the JVM's and kvmsim's own use. */
        public long xmx(boolean everyWorker) {
            long need = Math.max(script, everyWorker ? sideBySide : sweepValue);
            return need / 9 * 10 + JVM_BASE_HEAP;
        }
    }

    /** About what a JVM running kvmsim uses before any engine (classes, tables, buffers). */
    static final long JVM_BASE_HEAP = 256L << 20;

    public static HeapEstimate heapEstimate(SourceFile src) {
        Frontend.Result compiled = Frontend.compile(src, new Declarations(), Queries.all().syntax());
        if (!compiled.ok()) return null;
        long script = 0, value = 0, side = 0;
        int workers = 1;
        Declarations d = new Declarations();
        List<Declaration> segment = new ArrayList<>();
        for (Statement s : compiled.statements()) {
            if (s instanceof Statement.Reset) {
                d = new Declarations();
                segment.clear();
            } else if (s instanceof Statement.Declare dc) {
                d.declare(dc.decl());
                segment.add(dc.decl());
                script = Math.max(script, heapOf(d));
            } else if (s instanceof Statement.Sweep sw) {
                List<Long> needs = new ArrayList<>();
                for (Object v : sw.values()) {
                    Declarations patched = new Declarations();
                    for (Declaration decl : segment) patched.declare(patch(decl, sw, v));
                    for (Statement b : sw.body()) if (b instanceof Statement.Declare bd) patched.declare(patch(bd.decl(), sw, v));
                    needs.add(heapOf(patched));
                }
                needs.sort(Collections.reverseOrder());
                int w = Math.min(needs.size(), sweepThreads());
                long sum = 0;
                for (int i = 0; i < w; i++) sum += needs.get(i);
                value = Math.max(value, needs.isEmpty() ? 0 : needs.get(0));
                if (sum > side) {
                    side = sum;
                    workers = w;
                }
            }
        }
        return new HeapEstimate(script, value, side, workers);
    }

    /** What the guard would ask of a fresh engine to start every VM of {@code d}. */
    private static long heapOf(Declarations d) {
        Engine e = new Engine(0, true);
        e.sync(d);
        return e.heapNeededToStart(d, null);
    }

    /** The declaration with the swept attribute set to {@code value}, if it is the sweep's owner. */
    private static Declaration patch(Declaration d, Statement.Sweep sw, Object value) {
        if (!d.name().equals(sw.owner())) return d;
        String a = sw.attribute();
        if (sw.ownerKind().equals("vm") && d instanceof Vm v) return v.with(a, value);
        if (sw.ownerKind().equals("workload") && d instanceof Workload w) return w.with(a, value);
        if (sw.ownerKind().equals("host") && d instanceof Host h) {
            String[] p = a.split("\\.");
            if (p[0].equals("ksm") && h.ksm() != null) {
                String knob = Schema.ksmKnob(p[1]);
                return h.with(h.thp(), h.ksm().with(knob, (Long) value), h.pools());
            }
            if (p[0].equals("thp")) {
                return h.with(ThpMode.of((String) value), h.ksm(), h.pools());
            }
            List<HugePagePool> pools = new ArrayList<>();
            for (var pool : h.pools()) {
                if (!pool.name().equals(p[0])) pools.add(pool);
                else if (p[1].equals("count")) pools.add(new HugePagePool(pool.name(), pool.pageSize(), (Long) value, pool.overcommit(), pool.node()));
                else pools.add(new HugePagePool(pool.name(), pool.pageSize(), pool.count(), (Long) value, pool.node()));
            }
            return h.with(h.thp(), h.ksm(), pools);
        }
        return d;
    }

    private Table table(String name, Span span) {
        Table t = tables.get(name);
        if (t == null) {
            String hint = Suggest.hint(name, tables.keySet());
            throw new ScriptError(span, "no table '" + name + "' yet: a query must produce it first",
                    hint != null ? hint : tables.isEmpty() ? "show something first, e.g. show vms"
                            : "tables so far: " + String.join(", ", tables.keySet()));
        }
        return t;
    }

    private void plot(Statement.Plot p, Output out) {
        Table t = table(p.table(), p.span());
        try {
            Charts.Image img = Charts.plot(t, p.x(), p.y(), p.chart(), p.title());
            out.chart(img.name(), img.png(), img.svg());
        } catch (Charts.BadColumn e) {
            throw new ScriptError(p.span(), e.getMessage());
        }
    }

    private void export(Statement.Export e, Output out) {
        Table t = table(e.table(), e.span());
        String text = switch (e.format()) {
            case "csv" -> Render.csv(t);
            case "json" -> Render.jsonOne(t) + "\n";
            case "md" -> Render.markdown(t);
            default -> Render.html(t) + "\n";
        };
        if (out instanceof DeferredExports d) {
            d.export(e.table(), e.file(), text, e.span());
            return;
        }
        writeExport(e.table(), e.file(), text, e.span(), out);
    }

    /** Writes an `export`'s file, relative to {@link #outDir}, in {@link #folder} when set. */
    private void writeExport(String table, String name, String text, Span span, Output out) {
        Path file = outDir == null ? Path.of(name) : outDir.resolve(name);
        Path target = folder == null ? file : folder.resolve(file);
        try {
            if (target.getParent() != null) Files.createDirectories(target.getParent());
            Files.writeString(target, text, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException x) {
            throw new ScriptError(span, "cannot write " + file + ": " + x.getMessage());
        }
        out.exported(table, file);
    }
}
