package org.kvmsim.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * `kvmsim run FILE...`: runs scripts and prints their tables in query order. Several scripts run
 * side by side, one worker per processor (as a sweep's values: KVMSIM_SWEEP_THREADS), their VMs'
 * heap reserved against each other's (a script that does not fit beside the others runs again
 * alone after them); what each prints is held and sent out in argument order, so the output is
 * byte for byte that of running them one after another. Ctrl-C stops them all. With --format json the
 * whole output is one JSON document, {"tables": [...]}, or {"errors": [...]} (exit 1) on an error.
 * Ctrl-C stops the run and says where (`lab.kvm:12:1: interrupted: at 3.456 s of simulated
 * time`, or in JSON as the one error), exit status 130; see {@link SignalStop}. A run longer
 * than a second shows its progress on standard error ({@link Progress}), but with --quiet or
 * --format json.
 */
@Command(name = "run", description = "Run scripts and print the tables their queries produce.")
class RunCommand implements Callable<Integer> {

    enum Format { text, json, csv, md, html }

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "kvmsim scripts (.kvm); several run side by side, output in this order")
    List<Path> files;

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

    /** Where the scripts' sweeps run their values; null: this machine's workers. */
    Session.RemoteSweeps remoteSweeps(PrintWriter stderr) throws CannotStart {
        return null;
    }

    /** What {@link #remoteSweeps} could not start, said in one line, with the exit code. */
    static final class CannotStart extends Exception {
        final int exitCode;

        CannotStart(String message, int exitCode) {
            super(message, null, false, false);
            this.exitCode = exitCode;
        }
    }

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
        Session.RemoteSweeps remote;
        try {
            remote = remoteSweeps(stderr);
        } catch (CannotStart e) {
            stderr.println("kvmsim: " + e.getMessage());
            return e.exitCode;
        }
        List<Session> running = new CopyOnWriteArrayList<>();
        Progress progress = new Progress(stderr, Progress.detect(quiet, format == Format.json));
        // Ctrl-C stops every script where it is; the process exits once they have said where.
        try (SignalStop signals = new SignalStop(() -> {
            stopping = true;
            for (Session s : running) s.interrupt();
        }, stderr)) {
            if (files.size() == 1) {
                Session session = new Session(seed);
                session.remoteSweeps(remote);
                running.add(session);
                return runScript(files.get(0), session, stdout, stderr, progress, progress);
            }
            return runSideBySide(remote, running, stdout, stderr, progress);
        } finally {
            if (remote instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    stderr.println("kvmsim: closing the sweeps' cluster connection: " + e.getMessage());
                }
            }
        }
    }

    /** Where a script's run progress goes. */
    interface ProgressSink {
        void progress(long doneNanos, long totalNanos, long accesses);

        /** A trace counted before its first run (see {@link Output#counting}). */
        default void counting(String trace, long accesses) {}
    }

    /** Set by Ctrl-C: scripts not started yet do not start. */
    private volatile boolean stopping;

    /** What one script of several printed, held until those before it are out. */
    private static final class Held {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        int exitCode = -1;
        boolean heapBusy;
    }

    /**
     * Several scripts at once, a worker per processor; each one's output is held and sent out
     * when every script before it is done. Only the first script not yet out shows progress.
     */
    private int runSideBySide(Session.RemoteSweeps remote, List<Session> running, PrintWriter stdout,
                              PrintWriter stderr, Progress progress) {
        int n = files.size();
        int threads = Math.min(n, Session.sweepThreads());
        Session.SweepShared heap = new Session.SweepShared();
        List<Held> held = new ArrayList<>();
        int[] head = {0};
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "kvmsim-run");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Held h = new Held();
                held.add(h);
                int index = i;
                futures.add(pool.submit(() -> {
                    if (stopping) return;
                    Session session = new Session(seed);
                    session.remoteSweeps(remote);
                    if (threads > 1) session.shareHeap(heap);
                    running.add(session);
                    try {
                        h.exitCode = runScript(files.get(index), session, writer(h.out), writer(h.err),
                                new ProgressSink() {
                                    public void progress(long done, long total, long accesses) {
                                        if (head[0] == index) progress.update(done, total, accesses);
                                    }

                                    public void counting(String trace, long accesses) {
                                        if (head[0] == index) progress.counting(trace, accesses);
                                    }
                                }, Progress.NONE);
                    } catch (Session.HeapBusy busy) {
                        h.heapBusy = true;
                    } finally {
                        session.releaseHeap();
                        running.remove(session);
                    }
                }));
            }
            int rc = 0;
            for (int i = 0; i < n; i++) {
                Held h = held.get(i);
                await(futures.get(i));
                if (h.heapBusy && !stopping) {
                    // it would not fit beside the others: alone, after them, as one after another would run it
                    for (Future<?> f : futures) await(f);
                    h = new Held();
                    Session session = new Session(seed);
                    session.remoteSweeps(remote);
                    running.add(session);
                    try {
                        int index = i;
                        h.exitCode = runScript(files.get(i), session, writer(h.out), writer(h.err), (done, total, accesses) -> {
                            if (head[0] == index) progress.update(done, total, accesses);
                        }, Progress.NONE);
                    } finally {
                        running.remove(session);
                    }
                }
                if (h.exitCode < 0) continue; // not started: Ctrl-C came first
                progress.clear();
                stdout.print(h.out);
                stdout.flush();
                stderr.print(h.err);
                stderr.flush();
                held.set(i, null); // sent: nothing of it stays here
                head[0] = i + 1;
                rc = worse(rc, h.exitCode);
            }
            return rc;
        } finally {
            for (Session s : running) s.interrupt();
            pool.shutdownNow();
        }
    }

    /** Waits for a script's worker; an interrupt of the waiting thread stops every script. */
    private void await(Future<?> f) {
        while (true) {
            try {
                f.get();
                return;
            } catch (InterruptedException e) {
                stopping = true;
            } catch (ExecutionException e) {
                // a bug of ours in a worker: as the single-script path, one line, never frames
                throw new IllegalStateException(e.getCause());
            }
        }
    }

    /** The exit code of several scripts: an interrupt, else a usage error, else a script error, else 0. */
    private static int worse(int a, int b) {
        for (int code : new int[] {INTERRUPTED, 2, 1}) if (a == code || b == code) return code;
        return 0;
    }

    private static PrintWriter writer(StringWriter w) {
        return new PrintWriter(w, true);
    }

    /**
     * Runs one script in {@code session}, printing to {@code stdout} and {@code stderr}; returns
     * its exit code. {@code progress} hears the run's progress; {@code bar} is cleared before
     * each table and at the end.
     */
    private int runScript(Path file, Session session, PrintWriter stdout, PrintWriter stderr,
                          ProgressSink progressSink, Progress progress) {
        SourceFile src;
        try {
            src = Scripts.read(file);
        } catch (IOException e) {
            stderr.println("kvmsim: cannot read " + file + ": " + CheckCommand.reason(e));
            return 2;
        }
        Path dir = out == null ? Path.of("") : out;
        session.outDir(out);
        List<Table> tables = new ArrayList<>();
        boolean machine = format == Format.json;
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
                progressSink.progress(doneNanos, totalNanos, -1);
            }

            @Override
            public void progress(long doneNanos, long totalNanos, long accesses) {
                progressSink.progress(doneNanos, totalNanos, accesses);
            }

            @Override
            public void counting(String trace, long accesses) {
                progressSink.counting(trace, accesses);
            }

            @Override
            public void exported(String table, Path path) {
                Path shown = out != null && path.startsWith(out) ? out.relativize(path) : path;
                (machine ? stderr : stdout).println("exported " + table + " to " + shown);
            }
        };
        Session.Result r;
        {
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
