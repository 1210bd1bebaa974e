package org.kvmsim.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.kvmsim.lang.Diagnostic;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.lang.Suggest;
import org.kvmsim.model.Backing;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Statement;
import org.kvmsim.model.Vm;
import org.kvmsim.model.Workload;
import org.kvmsim.query.Queries;
import org.kvmsim.query.QueryError;
import org.kvmsim.report.Charts;
import org.kvmsim.report.Render;
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
    private final java.util.Set<Statement> failedQueries = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private org.kvmsim.sim.Engine engine;
    /** Where each VM was declared, so a VM that fails to start is reported at its declaration. */
    private final Map<String, org.kvmsim.lang.Span> vmSpans = new java.util.HashMap<>();
    private final Map<String, Table> tables = new LinkedHashMap<>();
    /** What `show` can show: the checker's forms, the tables, and what a sweep replays. */
    private final Queries queries = Queries.all();
    private final long seed;
    private Path outDir;
    private volatile boolean interruptRequested;

    public Session(long seed) {
        this.seed = seed;
        this.engine = new org.kvmsim.sim.Engine(seed);
    }

    public long seed() {
        return seed;
    }

    /** Where `export` and relative file names go (null: the working directory). */
    public void outDir(Path dir) {
        this.outDir = dir;
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
        return java.util.Collections.unmodifiableMap(tables);
    }

    /**
     * Asks a running script to stop at the next statement or event boundary. Safe from any
     * thread. The request stays until a statement sees it or {@link #clearInterrupt} withdraws
     * it, so one that arrives while {@link #execute} is still compiling stops the script.
     */
    public void interrupt() {
        interruptRequested = true;
    }

    /** Withdraws an interrupt no statement has seen (the kernel calls it before and after a cell). */
    public void clearInterrupt() {
        interruptRequested = false;
    }

    /** Parses, checks and runs {@code source}, sending its results to {@code out}. */
    public Result execute(SourceFile source, Output out) {
        Frontend.Result compiled = Frontend.compile(source, declared, queries.syntax());
        if (!compiled.ok()) return new Result(false, compiled.diagnostics().list(), false);
        try {
            for (Statement s : compiled.statements()) {
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
        }
    }

    private static final class Interrupted extends RuntimeException {
        private final org.kvmsim.lang.Span span;

        Interrupted(org.kvmsim.lang.Span span, String where) {
            super(where, null, false, false);
            this.span = span;
        }

        Diagnostic diagnostic() {
            return new Diagnostic(span, "interrupted: " + getMessage(), "the session is usable; what ran before stays");
        }
    }

    void checkInterrupt(org.kvmsim.lang.Span span, String where) {
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
        try {
            run(s, out, collect);
        } catch (org.kvmsim.sim.Engine.SimError e) {
            // What the simulated system refused (out of memory, a guest without room for its
            // page tables) is reported at the statement that asked for it.
            throw new ScriptError(s.span(), e.getMessage());
        }
    }

    private void run(Statement s, Output out, List<Table> collect) {
        if (s instanceof Statement.Declare d) {
            // What is already running constrains a declaration (the engine refuses to change a
            // running VM or the host under it) or takes it up at once (contents, pagetables).
            engine.sync(declared);
            if (d.decl() instanceof org.kvmsim.model.Host h) engine.redeclare(h);
            if (d.decl() instanceof Vm v) engine.redeclare(v);
            declared.declare(d.decl());
            if (d.decl() instanceof Vm v) vmSpans.put(v.name(), d.span());
            if (d.decl() instanceof org.kvmsim.model.ContentsSpec c) engine.declared(c);
            if (d.decl() instanceof org.kvmsim.model.PageTableSpec pt) engine.declared(pt);
        } else if (s instanceof Statement.Print p) {
            out.print(p.text());
        } else if (s instanceof Statement.Reset) {
            declared = new Declarations();
            tables.clear();
            engine = new org.kvmsim.sim.Engine(seed);
        } else if (s instanceof Statement.ResetMmu) {
            // the counters only: TLBs, walk caches and tables stay warm
            engine.sync(declared);
            for (Vm vm : declared.vms.values()) {
                var st = engine.vm(vm.name());
                if (st.mmu != null) st.mmu.resetCounters();
            }
        } else if (s instanceof Statement.RunFor r) {
            startVms(r.span());
            engine.scheduleWorkloads(declared, r.nanos());
            engine.runFor(r.nanos(), monitor(r.span(), out));
        } else if (s instanceof Statement.RunUntil r) {
            startVms(r.span());
            var host = engine.host(r.host());
            java.util.function.LongSupplier counter = () -> ksmCounter(host.ksmd.counters(), r.counter());
            long started = engine.now();
            if (!engine.runUntil(() -> counter.getAsLong() >= r.target(), r.boundNanos(), monitor(r.span(), out))) {
                throw new ScriptError(r.span(), r.host() + ".ksm." + r.counter() + " did not reach " + r.target()
                        + " within " + seconds(r.boundNanos()) + " of simulated time (it is "
                        + counter.getAsLong() + ")", "add `within DURATION` to wait longer, or check that ksmd runs");
            }
            // The run took what it took, not its bound: progress ends at the time actually simulated.
            out.progress(engine.now() - started, engine.now() - started);
        } else if (s instanceof Statement.Write w) {
            var vm = runningVm(w.vm(), w.span());
            engine.fill(vm, w.from(), w.to(), w.content());
        } else if (s instanceof Statement.Start st) {
            engine.sync(declared);
            var vm = engine.vm(st.vm());
            if (vm.state != org.kvmsim.sim.view.VmRunState.RUNNING) engine.start(vm, declared);
        } else if (s instanceof Statement.Stop st) {
            engine.sync(declared);
            engine.stop(engine.vm(st.vm()));
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

    private void startVms(org.kvmsim.lang.Span at) {
        engine.sync(declared);
        guardHeap(at);
        for (var vm : new ArrayList<>(declared.vms.values())) {
            var st = engine.vm(vm.name());
            if (st.state != org.kvmsim.sim.view.VmRunState.DECLARED) continue;
            try {
                engine.start(st, declared);
            } catch (org.kvmsim.sim.Engine.SimError e) {
                throw new ScriptError(vmSpans.getOrDefault(vm.name(), at), e.getMessage());
            }
        }
    }

    /**
     * Fails before starting VMs whose state would not fit the JVM's heap: a clear message with the
     * figure and the remedy, instead of an OutOfMemoryError halfway through a run.
     */
    private void guardHeap(org.kvmsim.lang.Span at) {
        long need = engine.heapNeededToStart(declared);
        Runtime rt = Runtime.getRuntime();
        long free = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (need > free * 9 / 10) {
            throw new ScriptError(at, String.format(java.util.Locale.ROOT,
                    "this run needs about %.1f GiB of heap for the guest pages it will touch; the JVM has %.1f GiB free",
                    need / (double) (1L << 30), free / (double) (1L << 30)),
                    String.format(java.util.Locale.ROOT, "give the JVM more: KVMSIM_HEAP=%dg ./kvmsim ... (the launcher's -Xmx)",
                            Math.max(2, (rt.maxMemory() + need) >>> 30) + 1));
        }
    }

    private org.kvmsim.sim.Engine.Monitor monitor(org.kvmsim.lang.Span span, Output out) {
        long[] lastWall = {System.nanoTime()};
        return (done, total) -> {
            checkInterrupt(span, String.format(java.util.Locale.ROOT, "at %.3f s of simulated time", engine.now() / 1e9));
            long t = System.nanoTime();
            if (t - lastWall[0] > 250_000_000L) {
                lastWall[0] = t;
                out.progress(done, total);
            }
        };
    }

    private static String seconds(long nanos) {
        return nanos % 1_000_000_000L == 0 ? nanos / 1_000_000_000L + " s"
                : String.format(java.util.Locale.ROOT, "%.3f s", nanos / 1e9);
    }

    private static long ksmCounter(org.kvmsim.sim.view.KsmCounters c, String name) {
        return switch (name) {
            case "full_scans" -> c.fullScans();
            case "pages_scanned" -> c.pagesScanned();
            case "pages_shared" -> c.pagesShared();
            case "pages_sharing" -> c.pagesSharing();
            case "pages_unshared" -> c.pagesUnshared();
            case "pages_volatile" -> c.pagesVolatile();
            case "pages_skipped" -> c.pagesSkipped();
            case "ksm_zero_pages" -> c.ksmZeroPages();
            case "stable_node_chains" -> c.stableNodeChains();
            case "stable_node_dups" -> c.stableNodeDups();
            default -> c.generalProfit();
        };
    }

    private org.kvmsim.sim.Engine.VmState runningVm(String name, org.kvmsim.lang.Span span) {
        engine.sync(declared);
        var vm = engine.vm(name);
        if (vm == null || vm.state != org.kvmsim.sim.view.VmRunState.RUNNING) {
            throw new ScriptError(span, "vm '" + name + "' is not running (" + (vm == null ? "not declared"
                    : vm.state.name().toLowerCase()) + ")", "VMs start at the first `run` after they are declared, or with `start`");
        }
        return vm;
    }

    /** `set`: a knob changed the way writing its sysfs file would, with sysfs's errors. */
    private void set(Statement.Set st) {
        engine.sync(declared);
        var h = engine.host(st.host());
        List<String> p = st.path();
        if (p.get(0).equals("ksm")) {
            if (h.ksmd == null) throw new ScriptError(st.span(), "host '" + st.host() + "' has no ksm policy");
            String v = p.get(1).equals("advisor_mode") ? (((Long) st.value()) == 1 ? "scan-time" : "none") : st.value().toString();
            String knob = org.kvmsim.lang.Schema.ksmKnob(p.get(1));
            try {
                h.ksmd.set(knob, v);
            } catch (org.kvmsim.sim.ksm.KsmKnobException e) {
                throw new ScriptError(st.span(), "writing " + v + " to /sys/kernel/mm/ksm/" + knob + " fails: " + e.getMessage());
            }
        } else if (p.get(0).equals("thp")) {
            h.thp.mode = org.kvmsim.sim.hugetlb.ThpSettings.Mode.valueOf(((String) st.value()).toUpperCase());
        } else {
            var declaredPool = h.decl.pool(p.get(0));
            var pool = h.pools.pool(declaredPool.pageSize());
            long n = (Long) st.value();
            if (p.get(1).equals("count")) pool.setNrHugepages(n, declaredPool.node());
            else pool.setNrOvercommitHugepages(n);
        }
    }

    /**
     * A query's table, read from the engine's view. One about a VM that has not started yet
     * (`show walk` before any `run`) is answered as if the next `run` had started it.
     */
    private Table query(Statement.Show sh) {
        engine.sync(declared);
        String vm = queries.vm(sh.args());
        if (vm != null && engine.view().vm(vm).state() == org.kvmsim.sim.view.VmRunState.DECLARED) {
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
     * in its declaration: the engine is deterministic, so a replay is the state itself.
     */
    private void sweep(Statement.Sweep sw, Output out) {
        Declarations savedDecl = declared;
        org.kvmsim.sim.Engine savedEngine = engine;
        Map<String, Table> savedTables = new LinkedHashMap<>(tables);
        List<Statement> history = List.copyOf(executed);
        Map<String, Table> merged = new LinkedHashMap<>();
        try {
            for (int i = 0; i < sw.values().size(); i++) {
                Object value = sw.values().get(i);
                String label = sw.variable() + " = " + sw.labels().get(i);
                declared = new Declarations();
                engine = new org.kvmsim.sim.Engine(seed);
                try {
                    replay(history, d -> patch(d, sw, value), (h, why) -> out.print(String.format(
                            "note: with %s, the replayed query at %s:%d %s; this value starts from the state that left",
                            label, h.span().file(), h.span().line(), why)));
                    List<Table> got = new ArrayList<>();
                    for (Statement s : sw.body()) execute(s, out, got);
                    for (Table t : got) {
                        Table tagged = t.copy();
                        String col = sw.attribute().replace('.', '_');
                        if (tagged.columnNames().contains(col)) col = "sweep_" + col;
                        tagged.insertColumn(0, StringColumn.create(col, java.util.Collections.nCopies(t.rowCount(), sw.labels().get(i))));
                        Table acc = merged.get(t.name());
                        if (acc == null) merged.put(t.name(), tagged.setName(t.name()));
                        else acc.append(tagged);
                    }
                } catch (ScriptError e) {
                    Diagnostic d = e.diagnostic();
                    throw new ScriptError(d.span(), "with " + label + ": " + d.message(), d.hint());
                }
            }
        } finally {
            declared = savedDecl;
            engine = savedEngine;
            tables.clear();
            tables.putAll(savedTables);
        }
        boolean first = true;
        for (Table t : merged.values()) {
            Table named = t.copy().setName(first ? "sweep" : "sweep_" + t.name());
            tables.put(named.name(), named);
            tables.put(t.name(), t);
            out.table(named);
            first = false;
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
    private void replay(List<Statement> history, java.util.function.UnaryOperator<org.kvmsim.model.Declaration> patch,
                        java.util.function.BiConsumer<Statement, String> diverged) {
        Output silent = new Output() {
            public void print(String text) {}

            public void table(Table t) {}

            public void chart(String name, byte[] png, String svg) {}
        };
        for (Statement h : history) {
            if (h instanceof Statement.Show sh && queries.changesState(sh.args())) {
                // on a VM not started yet it ran on a scratch copy and changed nothing; it may fail
                // here where it did not (the swept value changed what is mapped, or killed the VM),
                // or have failed there after changing state: what state it leaves is what counts
                engine.sync(declared);
                String vm = queries.vm(sh.args());
                var state = vm == null ? org.kvmsim.sim.view.VmRunState.RUNNING : engine.view().vm(vm).state();
                if (state != org.kvmsim.sim.view.VmRunState.RUNNING && state != org.kvmsim.sim.view.VmRunState.DECLARED
                        && !failedQueries.contains(h)) {
                    diverged.accept(h, "was skipped (the vm is " + state.word() + ")");
                }
                if (state == org.kvmsim.sim.view.VmRunState.RUNNING) {
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
    private Table onStartedCopy(org.kvmsim.lang.Span span, java.util.function.Supplier<Table> query) {
        Declarations savedDecl = declared;
        org.kvmsim.sim.Engine savedEngine = engine;
        Map<String, Table> savedTables = new LinkedHashMap<>(tables);
        try {
            declared = new Declarations();
            engine = new org.kvmsim.sim.Engine(seed);
            replay(List.copyOf(executed), d -> d, (h, e) -> { });
            declared = savedDecl.copy();
            startVms(span);
            return query.get();
        } finally {
            declared = savedDecl;
            engine = savedEngine;
            tables.clear();
            tables.putAll(savedTables);
        }
    }

    /** The declaration with the swept attribute set to {@code value}, if it is the sweep's owner. */
    private static org.kvmsim.model.Declaration patch(org.kvmsim.model.Declaration d, Statement.Sweep sw, Object value) {
        if (!d.name().equals(sw.owner())) return d;
        String a = sw.attribute();
        if (sw.ownerKind().equals("vm") && d instanceof Vm v) return v.with(a, value);
        if (sw.ownerKind().equals("workload") && d instanceof Workload w) {
            return switch (a) {
                case "pattern" -> new Workload(w.name(), w.targets(), (org.kvmsim.model.Pattern) value, w.footprint(), w.accesses(), w.writesPct(), w.seed());
                case "footprint" -> new Workload(w.name(), w.targets(), w.pattern(), (Long) value, w.accesses(), w.writesPct(), w.seed());
                case "accesses" -> new Workload(w.name(), w.targets(), w.pattern(), w.footprint(), (Long) value, w.writesPct(), w.seed());
                case "writes" -> new Workload(w.name(), w.targets(), w.pattern(), w.footprint(), w.accesses(), (Double) value, w.seed());
                default -> new Workload(w.name(), w.targets(), w.pattern(), w.footprint(), w.accesses(), w.writesPct(), (Long) value);
            };
        }
        if (sw.ownerKind().equals("host") && d instanceof org.kvmsim.model.Host h) {
            String[] p = a.split("\\.");
            if (p[0].equals("ksm") && h.ksm() != null) {
                String knob = org.kvmsim.lang.Schema.ksmKnob(p[1]);
                return h.with(h.thp(), h.ksm().with(knob, (Long) value), h.pools());
            }
            if (p[0].equals("thp")) {
                return h.with(org.kvmsim.model.ThpMode.valueOf(((String) value).toUpperCase()), h.ksm(), h.pools());
            }
            List<org.kvmsim.model.HugePagePool> pools = new ArrayList<>();
            for (var pool : h.pools()) {
                if (!pool.name().equals(p[0])) pools.add(pool);
                else if (p[1].equals("count")) pools.add(new org.kvmsim.model.HugePagePool(pool.name(), pool.pageSize(), (Long) value, pool.overcommit(), pool.node()));
                else pools.add(new org.kvmsim.model.HugePagePool(pool.name(), pool.pageSize(), pool.count(), (Long) value, pool.node()));
            }
            return h.with(h.thp(), h.ksm(), pools);
        }
        return d;
    }

    private Table table(String name, org.kvmsim.lang.Span span) {
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
        Path file = outDir == null ? Path.of(e.file()) : outDir.resolve(e.file());
        try {
            if (file.getParent() != null) Files.createDirectories(file.getParent());
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException x) {
            throw new ScriptError(e.span(), "cannot write " + file + ": " + x.getMessage());
        }
        out.exported(e.table(), file);
    }
}
