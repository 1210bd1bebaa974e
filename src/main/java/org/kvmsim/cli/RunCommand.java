package org.kvmsim.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.kvmsim.lang.Diagnostic;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tech.tablesaw.api.Table;

/**
 * `kvmsim run FILE`: runs a script and prints its tables in query order. With --format json the
 * whole output is one JSON document, {"tables": [...]}, or {"errors": [...]} (exit 1) on an error.
 * Ctrl-C stops the run and says where (`lab.kvm:12:1: interrupted: at 3.456 s of simulated
 * time`, or in JSON as the one error), exit status 130; see {@link SignalStop}. A run longer
 * than a second shows its progress on standard error ({@link Progress}), but with --quiet or
 * --format json.
 */
@Command(name = "run", description = "Run a script and print the tables its queries produce.")
final class RunCommand implements Callable<Integer> {

    enum Format { text, json, csv, md, html }

    @Parameters(paramLabel = "FILE", description = "a kvmsim script (.kvm)")
    Path file;

    @Option(names = "--format", defaultValue = "text", description = "text, json, csv, md or html (default: ${DEFAULT-VALUE})")
    Format format;

    @Option(names = "--out", paramLabel = "DIR", description = "directory for exported files and charts (default: the working directory)")
    Path out;

    @Option(names = "--seed", defaultValue = "1", description = "seed of every random choice (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = {"-q", "--quiet"}, description = "no progress on standard error")
    boolean quiet;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        SourceFile src;
        try {
            src = Scripts.read(file);
        } catch (IOException e) {
            stderr.println("kvmsim: cannot read " + file + ": " + CheckCommand.reason(e));
            return 2;
        }
        Session session = new Session(seed);
        Path dir = out == null ? Path.of("") : out;
        session.outDir(out);
        List<Table> tables = new ArrayList<>();
        boolean machine = format == Format.json;
        Progress progress = new Progress(stderr, Progress.detect(quiet, machine));
        Output sink = new Output() {
            @Override
            public void print(String text) {
                // In JSON mode stdout holds one document; printed lines go to stderr.
                progress.clear();
                (machine ? stderr : stdout).println(text);
            }

            @Override
            public void table(Table t) {
                tables.add(t);
                if (!machine) {
                    progress.clear();
                    stdout.print(render(t, tables.size() > 1));
                    stdout.flush();
                }
            }

            @Override
            public void chart(String name, byte[] png, String svg) {
                try {
                    if (!dir.toString().isEmpty()) Files.createDirectories(dir);
                    Files.write(dir.resolve(name + ".png"), png);
                    Files.writeString(dir.resolve(name + ".svg"), svg);
                    (machine ? stderr : stdout).println("chart: " + name + ".png, " + name + ".svg");
                } catch (IOException e) {
                    stderr.println("kvmsim: cannot write chart " + name + ": " + e.getMessage());
                }
            }

            @Override
            public void progress(long doneNanos, long totalNanos) {
                progress.update(doneNanos, totalNanos);
            }

            @Override
            public void exported(String table, Path path) {
                Path shown = out != null && path.startsWith(out) ? out.relativize(path) : path;
                (machine ? stderr : stdout).println("exported " + table + " to " + shown);
            }
        };
        Session.Result r;
        // Ctrl-C stops the run where it is; the process exits once the run has said where.
        try (SignalStop signals = new SignalStop(session, stderr)) {
            r = session.execute(src, sink);
            progress.clear();
            List<Diagnostic> diagnostics = r.interrupted() ? interrupted(r.diagnostics()) : r.diagnostics();
            if (machine) {
                JsonObject doc = new JsonObject();
                if (!r.ok()) doc.add("errors", errors(diagnostics));
                else doc = com.google.gson.JsonParser.parseString(Render.json(tables)).getAsJsonObject();
                // serializeNulls: the error contract always has "hint", null when there is none
                stdout.println(new GsonBuilder().disableHtmlEscaping().serializeNulls().create().toJson(doc));
            } else if (r.interrupted()) {
                // not an error of the script: one line saying where the run stopped
                for (Diagnostic d : diagnostics) {
                    stderr.println(d.span().file() + ":" + d.span().line() + ":" + d.span().column() + ": " + d.message());
                }
            } else if (!r.ok()) {
                for (Diagnostic d : diagnostics) stderr.print(d.render(src));
            }
            stdout.flush();
            stderr.flush();
        }
        return r.interrupted() ? INTERRUPTED : r.ok() ? 0 : 1;
    }

    /** The exit status of a run stopped by a signal: 128 + SIGINT, as the JVM and shells give. */
    static final int INTERRUPTED = 130;

    /** An interruption's diagnostics without the notebook's hint (there is no session to go on with). */
    private static List<Diagnostic> interrupted(List<Diagnostic> diagnostics) {
        List<Diagnostic> plain = new ArrayList<>();
        for (Diagnostic d : diagnostics) plain.add(new Diagnostic(d.span(), d.message()));
        return plain;
    }

    private String render(Table t, boolean separate) {
        String sep = separate ? "\n" : "";
        return switch (format) {
            case csv -> sep + "# " + t.name() + "\n" + Render.csv(t);
            case md -> sep + Render.markdown(t);
            case html -> Render.html(t) + "\n";
            default -> sep + Render.text(t);
        };
    }

    static JsonArray errors(List<Diagnostic> diagnostics) {
        JsonArray arr = new JsonArray();
        for (Diagnostic d : diagnostics) {
            JsonObject o = new JsonObject();
            o.addProperty("file", d.span().file());
            o.addProperty("line", d.span().line());
            o.addProperty("column", d.span().column());
            o.addProperty("message", d.message());
            if (d.hint() == null) o.add("hint", com.google.gson.JsonNull.INSTANCE);
            else o.addProperty("hint", d.hint());
            arr.add(o);
        }
        return arr;
    }
}
