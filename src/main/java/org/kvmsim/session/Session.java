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
import org.kvmsim.lang.Diagnostics;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.lang.Suggest;
import org.kvmsim.model.Backing;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Statement;
import org.kvmsim.model.Vm;
import org.kvmsim.model.Workload;
import org.kvmsim.report.Charts;
import org.kvmsim.report.Render;
import org.kvmsim.report.Tables;
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
    private final Map<String, Table> tables = new LinkedHashMap<>();
    private final long seed;
    private Path outDir;
    private volatile boolean interruptRequested;

    public Session(long seed) {
        this.seed = seed;
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

    /** The last table each query produced, by table name (what `plot` and `export` refer to). */
    public Map<String, Table> tables() {
        return java.util.Collections.unmodifiableMap(tables);
    }

    /** Asks a running script to stop at the next event boundary. Safe from any thread. */
    public void interrupt() {
        interruptRequested = true;
    }

    /** Parses, checks and runs {@code source}, sending its results to {@code out}. */
    public Result execute(SourceFile source, Output out) {
        interruptRequested = false;
        Frontend.Result compiled = Frontend.compile(source, declared);
        if (!compiled.ok()) return new Result(false, compiled.diagnostics().list(), false);
        try {
            for (Statement s : compiled.statements()) execute(s, out, null);
            return new Result(true, List.of(), false);
        } catch (ScriptError e) {
            return new Result(false, List.of(e.diagnostic()), false);
        } catch (Interrupted e) {
            return new Result(false, List.of(e.diagnostic()), true);
        }
    }

    /** Only checks {@code source} against the session's declarations; changes nothing. */
    public Diagnostics check(SourceFile source) {
        return Frontend.compile(source, declared).diagnostics();
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
        if (s instanceof Statement.Declare d) {
            declared.declare(d.decl());
        } else if (s instanceof Statement.Print p) {
            out.print(p.text());
        } else if (s instanceof Statement.Reset) {
            declared = new Declarations();
            tables.clear();
        } else if (s instanceof Statement.Show sh) {
            publish(show(sh), out, collect);
        } else if (s instanceof Statement.Sweep sw) {
            sweep(sw, out);
        } else if (s instanceof Statement.Plot p) {
            plot(p, out);
        } else if (s instanceof Statement.Export e) {
            export(e, out);
        } else {
            throw ScriptError.notImplemented(s.span(), describe(s));
        }
    }

    private void publish(Table t, Output out, List<Table> collect) {
        tables.put(t.name(), t);
        if (collect != null) collect.add(t);
        else out.table(t);
    }

    private static String describe(Statement s) {
        if (s instanceof Statement.RunFor) return "run (the simulation engine)";
        if (s instanceof Statement.RunUntil) return "run until (the simulation engine)";
        if (s instanceof Statement.Write) return "write (guest memory contents)";
        if (s instanceof Statement.Set) return "set (runtime knobs)";
        if (s instanceof Statement.Start) return "start (VM lifecycle)";
        if (s instanceof Statement.Stop) return "stop (VM lifecycle)";
        if (s instanceof Statement.Show sh) return "show " + sh.kind().name().toLowerCase().replace('_', ' ');
        return s.getClass().getSimpleName().toLowerCase();
    }

    private Table show(Statement.Show sh) {
        switch (sh.kind()) {
            case VMS -> {
                Tables.VmsTable t = new Tables.VmsTable();
                // Nothing has run yet, so no VM has started: its resident set is truly empty.
                for (Vm vm : declared.vms.values()) t.add(vm, "declared", 0);
                return t.table();
            }
            default -> throw ScriptError.notImplemented(sh.span(), describe(sh));
        }
    }

    /**
     * Runs the body once per value from the same starting declarations, and concatenates each
     * query's tables with a first column for the swept variable.
     */
    private void sweep(Statement.Sweep sw, Output out) {
        Declarations start = declared.copy();
        Map<String, Table> merged = new LinkedHashMap<>();
        for (int i = 0; i < sw.values().size(); i++) {
            declared = start.copy();
            apply(sw, sw.values().get(i));
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
        }
        declared = start;
        boolean first = true;
        for (Table t : merged.values()) {
            Table named = t.copy().setName(first ? "sweep" : "sweep_" + t.name());
            tables.put(named.name(), named);
            tables.put(t.name(), t);
            out.table(named);
            first = false;
        }
    }

    private void apply(Statement.Sweep sw, Object value) {
        switch (sw.ownerKind()) {
            case "vm" -> {
                Vm v = declared.vms.get(sw.owner());
                Vm n = switch (sw.attribute()) {
                    case "memory" -> new Vm(v.name(), v.host(), (Long) value, v.vcpus(), v.paging(), v.backing(), v.image(), v.levels(), v.prealloc(), v.reserve(), v.memMerge());
                    case "vcpus" -> new Vm(v.name(), v.host(), v.memory(), ((Long) value).intValue(), v.paging(), v.backing(), v.image(), v.levels(), v.prealloc(), v.reserve(), v.memMerge());
                    case "paging" -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), org.kvmsim.model.Paging.valueOf(((String) value).toUpperCase()), v.backing(), v.image(), v.levels(), v.prealloc(), v.reserve(), v.memMerge());
                    case "backing" -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), v.paging(), (Backing) value, v.image(), v.levels(), v.prealloc(), v.reserve(), v.memMerge());
                    case "image" -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), v.paging(), v.backing(), (String) value, v.levels(), v.prealloc(), v.reserve(), v.memMerge());
                    case "levels" -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), v.paging(), v.backing(), v.image(), ((Long) value).intValue(), v.prealloc(), v.reserve(), v.memMerge());
                    case "prealloc" -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), v.paging(), v.backing(), v.image(), v.levels(), (Boolean) value, v.reserve(), v.memMerge());
                    case "reserve" -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), v.paging(), v.backing(), v.image(), v.levels(), v.prealloc(), (Boolean) value, v.memMerge());
                    default -> new Vm(v.name(), v.host(), v.memory(), v.vcpus(), v.paging(), v.backing(), v.image(), v.levels(), v.prealloc(), v.reserve(), (Boolean) value);
                };
                // Replace in place: a swept VM keeps its place in the start order.
                declared.vms.put(n.name(), n);
            }
            case "workload" -> {
                Workload w = declared.workloads.get(sw.owner());
                Workload n = switch (sw.attribute()) {
                    case "pattern" -> new Workload(w.name(), w.targets(), (org.kvmsim.model.Pattern) value, w.footprint(), w.accesses(), w.writesPct(), w.seed());
                    case "footprint" -> new Workload(w.name(), w.targets(), w.pattern(), (Long) value, w.accesses(), w.writesPct(), w.seed());
                    case "accesses" -> new Workload(w.name(), w.targets(), w.pattern(), w.footprint(), (Long) value, w.writesPct(), w.seed());
                    case "writes" -> new Workload(w.name(), w.targets(), w.pattern(), w.footprint(), w.accesses(), (Double) value, w.seed());
                    default -> new Workload(w.name(), w.targets(), w.pattern(), w.footprint(), w.accesses(), w.writesPct(), (Long) value);
                };
                declared.workloads.put(n.name(), n);
            }
            default -> throw ScriptError.notImplemented(sw.span(), "sweep over host knobs (the simulation engine)");
        }
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
