package org.kvmsim.kernel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.kvmsim.report.Render;
import org.kvmsim.session.Output;
import tech.tablesaw.api.Table;

/**
 * A cell's results as Jupyter shows them: each query its own display_data, in order (tables as
 * HTML with a plain-text fallback, charts as PNG and SVG), `print` on stdout, an error last, and
 * for a long run one progress display that is updated in place at most four times a second.
 *
 * <p>The progress display must not outlive the run: whether it appears at all depends on wall
 * time, and a saved notebook must not. So when the run is over (the cell's next output, its error
 * or its end) the display is taken away the way the protocol allows: clear_output, then the
 * cell's earlier outputs published again. With wait=true (the messaging spec: "wait to clear the
 * output until new output is available") nothing flickers in a front end, and nbclient
 * (client.py: clear_output sets clear_before_next_output; output() empties the cell's outputs and
 * its display_id mapping before appending the next one) saves exactly the cell's real outputs.
 * With nothing to publish again it is clear_output(wait=false), at once. The kernel and
 * `kvmsim notebook run` both run cells through this class ({@link Cells}), so both save the same.
 */
public final class CellOutput implements Output {

    /** Where the messages go: iopub in the kernel, a notebook's outputs in `notebook run`, a list in tests. */
    public interface Sink {
        void stdout(String text);

        void display(DisplayData data);

        /** update_display_data: the data of an earlier display with the same display_id. */
        void update(DisplayData data);

        /** clear_output: with {@code wait}, when the next output comes; else at once. */
        void clear(boolean wait);

        /** The error output (ename, evalue, traceback) of a cell that failed. */
        void error(String ename, String evalue, List<String> traceback);

        /**
         * Every progress report of a run, unthrottled (the command line shows it on stderr), with
         * the workload accesses simulated so far ({@code accesses} < 0: not known).
         */
        default void runProgress(long doneNanos, long totalNanos, long accesses) {}

        /** Every report of a trace's count before its first run, unthrottled (see {@link Output#counting}). */
        default void counting(String trace, long accesses) {}
    }

    static final long SHOW_PROGRESS_AFTER_NS = 1_000_000_000L;
    static final long MIN_UPDATE_INTERVAL_NS = 250_000_000L;
    /** How much of a cell's text output history keeps (history_request with output=True). */
    static final int TRANSCRIPT_MAX_CHARS = 16 * 1024;

    private final Sink sink;
    private final LongSupplier clock;
    /** Since when a run's progress counts toward the second before it shows: the cell's start, or the last display's end. */
    private long quietSinceNs;
    private String progressId;
    private long lastUpdateNs;
    private long done, total;
    /** The trace being counted before a run, while it is (the display says so instead of the run's time), and its accesses read. */
    private String counting;
    private long counted;
    /** What the cell has published so far, but its progress: a String on stdout or a DisplayData. */
    private final List<Object> published = new ArrayList<>();
    private final StringBuilder transcript = new StringBuilder();
    private long transcriptDropped;

    public CellOutput(Sink sink, LongSupplier clock) {
        this.sink = sink;
        this.clock = clock;
        this.quietSinceNs = clock.getAsLong();
    }

    @Override
    public void print(String text) {
        String line = text.endsWith("\n") ? text : text + "\n";
        retireProgress(true);
        record(line);
        published.add(line);
        sink.stdout(line);
    }

    @Override
    public void table(Table table) {
        DisplayData d = new DisplayData(Render.text(table));
        d.putHTML(Render.html(table));
        show(d);
    }

    @Override
    public void chart(String name, byte[] png, String svg) {
        DisplayData d = new DisplayData("<chart " + name + ">");
        d.putData("image/png", Base64.getEncoder().encodeToString(png));
        if (svg != null) {
            // The vector form travels as an <img> of an SVG data URI in text/html, not as
            // image/svg+xml: Debian's nbconvert runs image/svg+xml through lxml's clean_html,
            // which empties every SVG, and its HTML export prefers SVG to PNG. An <img> keeps
            // the vectors in JupyterLab, in exported HTML and in any browser; PNG is the fallback.
            String uri = "data:image/svg+xml;base64," + Base64.getEncoder().encodeToString(
                    svg.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            d.putHTML("<img src=\"" + uri + "\" alt=\"" + esc(name) + "\" style=\"max-width:100%\">");
        }
        show(d);
    }

    @Override
    public void exported(String table, Path file) {
        DisplayData d = new DisplayData("exported " + table + " to " + file);
        String href = file.isAbsolute() ? file.toUri().toString() : file.toString().replace('\\', '/');
        d.putHTML("exported " + esc(table) + " to <a href=\"" + esc(href) + "\" target=\"_blank\">" + esc(file.toString()) + "</a>");
        show(d);
    }

    private void show(DisplayData d) {
        retireProgress(true);
        record(d);
        published.add(d);
        sink.display(d);
    }

    /** The cell failed: its error output, after what it showed. */
    void error(String ename, String evalue, List<String> traceback) {
        retireProgress(true);
        sink.error(ename, evalue, List.copyOf(traceback));
    }

    @Override
    public void progress(long doneNanos, long totalNanos) {
        progress(doneNanos, totalNanos, -1);
    }

    @Override
    public void progress(long doneNanos, long totalNanos, long accesses) {
        sink.runProgress(doneNanos, totalNanos, accesses);
        done = doneNanos;
        total = totalNanos;
        counting = null;
        showProgress();
    }

    @Override
    public void counting(String trace, long accesses) {
        sink.counting(trace, accesses);
        counting = trace;
        counted = accesses;
        showProgress();
    }

    /** Shows (after the cell's first second) or updates the progress display with what it says now. */
    private void showProgress() {
        long now = clock.getAsLong();
        if (progressId == null) {
            if (now - quietSinceNs < SHOW_PROGRESS_AFTER_NS) return;
            // transient (never saved), so a random id costs no determinism
            progressId = "kvmsim-progress-" + UUID.randomUUID();
            lastUpdateNs = now;
            sink.display(progressData());
        } else if (now - lastUpdateNs >= MIN_UPDATE_INTERVAL_NS) {
            lastUpdateNs = now;
            sink.update(progressData());
        }
    }

    /**
     * Takes the progress display away, if one shows: clear_output and the cell's outputs again
     * (see the class comment). {@code more}: another output follows at once.
     */
    private void retireProgress(boolean more) {
        if (progressId == null) return;
        progressId = null;
        quietSinceNs = clock.getAsLong();
        if (published.isEmpty() && !more) {
            sink.clear(false);
            return;
        }
        sink.clear(true);
        for (Object o : published) {
            if (o instanceof String text) sink.stdout(text);
            else sink.display((DisplayData) o);
        }
    }

    /** The cell is over: a progress display still showing goes. */
    void finish() {
        retireProgress(false);
    }

    /**
     * The cell's output as text (stdout and each display's text/plain, not the progress display),
     * at most {@link #TRANSCRIPT_MAX_CHARS} characters; null if the cell showed nothing.
     */
    String transcript() {
        if (transcript.length() == 0) return null;
        return transcriptDropped == 0 ? transcript.toString()
                : transcript + "... (" + transcriptDropped + " more characters)\n";
    }

    private void record(DisplayData d) {
        Object text = d.getData(MIMEType.TEXT_PLAIN);
        if (text != null) record(text.toString().endsWith("\n") ? text.toString() : text + "\n");
    }

    private void record(String text) {
        int room = TRANSCRIPT_MAX_CHARS - transcript.length();
        if (text.length() <= room) {
            transcript.append(text);
        } else {
            transcript.append(text, 0, Math.max(0, room));
            transcriptDropped += text.length() - Math.max(0, room);
        }
    }

    private DisplayData progressData() {
        if (counting != null) {
            // no bar: the trace's length is what the count finds out
            String text = "run: reading trace " + counting + " before its first run (once per process): "
                    + Render.approx(counted) + " accesses so far";
            DisplayData d = new DisplayData(text);
            d.putHTML("<div style=\"font-family:monospace;font-size:12px\">" + esc(text) + "</div>");
            d.setDisplayId(progressId);
            return d;
        }
        String pct = total > 0 ? String.format(Locale.ROOT, "%.0f%%", 100.0 * done / total) : "";
        String text = "run: " + time(done) + " of " + time(total) + " simulated (" + pct + ")";
        DisplayData d = new DisplayData(text);
        long max = Math.max(1, total);
        d.putHTML("<div style=\"font-family:monospace;font-size:12px\"><progress max=\"" + max + "\" value=\""
                + Math.min(done, max) + "\" style=\"width:20em;vertical-align:middle\"></progress> " + esc(text) + "</div>");
        d.setDisplayId(progressId);
        return d;
    }

    static String time(long ns) {
        if (ns >= 3_600_000_000_000L) return String.format(Locale.ROOT, "%.2f h", ns / 3.6e12);
        if (ns >= 60_000_000_000L) return String.format(Locale.ROOT, "%.2f min", ns / 6e10);
        if (ns >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2f s", ns / 1e9);
        if (ns >= 1_000_000L) return String.format(Locale.ROOT, "%.2f ms", ns / 1e6);
        if (ns >= 1_000L) return String.format(Locale.ROOT, "%.2f us", ns / 1e3);
        return ns + " ns";
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
