package org.kvmsim.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress of a long `kvmsim run` on standard error: a one-line bar redrawn with \r when the
 * user watches a terminal, plain lines every few seconds when stderr goes to a file or a pipe,
 * nothing with --quiet or --format json. Java cannot tell whether stderr alone is a terminal, so
 * a terminal is {@code System.console() != null} (stdin and stdout are one); KVMSIM_PROGRESS
 * (or -Dkvmsim.progress) = bar, lines or off overrides it. Nothing shows in the first second of
 * a run; a run estimated at an hour or more says so once, with what would shorten it.
 */
final class Progress implements RunCommand.ProgressSink {

    enum Mode { BAR, LINES, OFF }

    /** Shows nothing (a script whose output is held: only the one being sent out shows progress). */
    static final Progress NONE = new Progress(null, Mode.OFF);

    static final long SHOW_AFTER_NS = 1_000_000_000L;
    static final long LINE_EVERY_NS = 5_000_000_000L;
    static final long LONG_RUN_NS = 3_600_000_000_000L;
    private static final int WIDTH = 24;

    private final PrintWriter err;
    private final Mode mode;
    private long runTotal = -1;
    private long lastDone;
    private long runStartWall;
    private long lastLine;
    private boolean barShown;
    private boolean warned;
    /** The trace being counted, since when, and how far. */
    private String countingTrace;
    private long countingStartWall;
    private long countedLast;

    Progress(PrintWriter err, Mode mode) {
        this.err = err;
        this.mode = mode;
    }

    /** The mode for this process: the override if set, else a bar on a terminal and lines elsewhere. */
    static Mode detect(boolean quiet, boolean machine) {
        if (quiet || machine) return Mode.OFF;
        String o = System.getProperty("kvmsim.progress", System.getenv("KVMSIM_PROGRESS"));
        if (o != null) {
            switch (o.toLowerCase(Locale.ROOT)) {
                case "bar": return Mode.BAR;
                case "lines": return Mode.LINES;
                case "off": return Mode.OFF;
                default: break;
            }
        }
        return System.console() != null ? Mode.BAR : Mode.LINES;
    }

    /**
     * {@code done} of {@code total} simulated nanoseconds of the current run (a new total: a new
     * run), and the workload accesses it has simulated ({@code accesses} < 0: not known).
     */
    @Override
    public void progress(long done, long total, long accesses) {
        update(done, total, accesses);
    }

    synchronized void update(long done, long total, long accesses) {
        if (mode == Mode.OFF || total <= 0) return;
        long now = System.nanoTime();
        boolean newRun = total != runTotal || done < lastDone;
        lastDone = done;
        if (newRun) {
            runTotal = total;
            runStartWall = now;
            lastLine = now;
            warned = false;
            return;
        }
        long wall = now - runStartWall;
        if (wall < SHOW_AFTER_NS) return;
        double frac = Math.min(1.0, done / (double) total);
        long rest = frac <= 0 ? -1 : (long) (wall * (1 - frac) / frac);
        if (!warned && rest >= LONG_RUN_NS) {
            warned = true;
            clear();
            err.println(String.format(Locale.ROOT, "kvmsim: at this speed the run will take about %s more;"
                    + " fewer workload accesses or a shorter `run` would shorten it (Ctrl-C stops it and prints the tables so far)", time(rest)));
            err.flush();
        }
        String text = String.format(Locale.ROOT, "%s of %s simulated, %s%s elapsed, %s left",
                sim(done), sim(total), accesses < 0 ? "" : count(accesses) + " accesses, ", time(wall),
                rest < 0 ? "?" : "about " + time(rest));
        int filled = (int) Math.round(frac * WIDTH);
        show("[" + "#".repeat(filled) + ".".repeat(WIDTH - filled) + "] ", text, now);
    }

    /** The bar redrawn in place ({@code bar} before the text), or a line every few seconds. */
    private void show(String bar, String text, long now) {
        if (mode == Mode.BAR) {
            err.print("\r" + bar + text + "  ");
            err.flush();
            barShown = true;
        } else if (now - lastLine >= LINE_EVERY_NS) {
            lastLine = now;
            err.println("kvmsim: " + text);
            err.flush();
        }
    }

    /**
     * A trace counted before its first run, {@code accesses} read so far: after a second, the bar
     * (or every few seconds a line) says so; the run that follows starts its own.
     */
    @Override
    public synchronized void counting(String trace, long accesses) {
        if (mode == Mode.OFF) return;
        long now = System.nanoTime();
        if (!trace.equals(countingTrace) || accesses < countedLast) {
            countingTrace = trace;
            countingStartWall = now;
            lastLine = now;
        }
        countedLast = accesses;
        // the next run's first report is a new run
        runTotal = -1;
        long wall = now - countingStartWall;
        if (wall < SHOW_AFTER_NS) return;
        String text = "reading trace " + trace + " before its first run: " + count(accesses) + " accesses, "
                + time(wall) + " elapsed";
        show("", text, now);
    }

    /** A line of its own (a notebook's next cell), under the bar if one shows; nothing when off. */
    synchronized void note(String line) {
        if (mode == Mode.OFF) return;
        clear();
        err.println("kvmsim: " + line);
        err.flush();
    }

    /** Takes the bar off the line before other output (a table, the end of the run). */
    synchronized void clear() {
        if (!barShown) return;
        err.print("\r" + " ".repeat(WIDTH + 80) + "\r");
        err.flush();
        barShown = false;
    }

    private static String sim(long ns) {
        return ns % 1_000_000_000L == 0 ? ns / 1_000_000_000L + " s" : String.format(Locale.ROOT, "%.3f s", ns / 1e9);
    }

    /** A count as a person reads it: 950, 12.3 k, 4.56 M, 1.20 G. */
    static String count(long n) {
        return org.kvmsim.report.Render.approx(n);
    }

    static String time(long ns) {
        long s = ns / 1_000_000_000L;
        if (s < 60) return s + " s";
        if (s < 3600) return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        return String.format(Locale.ROOT, "%.1f h", s / 3600.0);
    }
}
