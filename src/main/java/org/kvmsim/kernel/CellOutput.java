package org.kvmsim.kernel;

import java.nio.file.Path;
import java.util.Base64;
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
 * HTML with a plain-text fallback, charts as PNG and SVG), `print` on stdout, and for a long run
 * one progress display that is updated in place at most four times a second.
 */
final class CellOutput implements Output {

    /** Where the messages go: iopub in the kernel, a list in tests. */
    interface Sink {
        void stdout(String text);

        void display(DisplayData data);

        void update(DisplayData data);
    }

    static final long SHOW_PROGRESS_AFTER_NS = 1_000_000_000L;
    static final long MIN_UPDATE_INTERVAL_NS = 250_000_000L;
    /** How much of a cell's text output history keeps (history_request with output=True). */
    static final int TRANSCRIPT_MAX_CHARS = 16 * 1024;

    private final Sink sink;
    private final LongSupplier clock;
    private final long startNs;
    private String progressId;
    private long lastUpdateNs;
    private long done, total;
    private final StringBuilder transcript = new StringBuilder();
    private long transcriptDropped;

    CellOutput(Sink sink, LongSupplier clock) {
        this.sink = sink;
        this.clock = clock;
        this.startNs = clock.getAsLong();
    }

    @Override
    public void print(String text) {
        String line = text.endsWith("\n") ? text : text + "\n";
        record(line);
        sink.stdout(line);
    }

    @Override
    public void table(Table table) {
        DisplayData d = new DisplayData(Render.text(table));
        d.putHTML(Render.html(table));
        record(d);
        sink.display(d);
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
        record(d);
        sink.display(d);
    }

    @Override
    public void exported(String table, Path file) {
        DisplayData d = new DisplayData("exported " + table + " to " + file);
        String href = file.isAbsolute() ? file.toUri().toString() : file.toString().replace('\\', '/');
        d.putHTML("exported " + esc(table) + " to <a href=\"" + esc(href) + "\" target=\"_blank\">" + esc(file.toString()) + "</a>");
        record(d);
        sink.display(d);
    }

    @Override
    public void progress(long doneNanos, long totalNanos) {
        done = doneNanos;
        total = totalNanos;
        long now = clock.getAsLong();
        if (progressId == null) {
            if (now - startNs < SHOW_PROGRESS_AFTER_NS) return;
            progressId = "kvmsim-progress-" + UUID.randomUUID();
            lastUpdateNs = now;
            sink.display(progressData(false, null));
        } else if (now - lastUpdateNs >= MIN_UPDATE_INTERVAL_NS) {
            lastUpdateNs = now;
            sink.update(progressData(false, null));
        }
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

    /** Finalises the progress display, if one was shown: done, or where the run stopped. */
    void finish(String stoppedBecause) {
        if (progressId != null) sink.update(progressData(true, stoppedBecause));
    }

    private DisplayData progressData(boolean last, String stopped) {
        String pct = total > 0 ? String.format(Locale.ROOT, "%.0f%%", 100.0 * done / total) : "";
        String text = last && stopped == null
                ? "run: " + time(total) + " simulated, done"
                : "run: " + time(done) + " of " + time(total) + " simulated (" + pct + ")"
                        + (stopped != null ? ", stopped: " + stopped : "");
        DisplayData d = new DisplayData(text);
        long max = Math.max(1, total);
        long value = last && stopped == null ? max : Math.min(done, max);
        d.putHTML("<div style=\"font-family:monospace;font-size:12px\"><progress max=\"" + max + "\" value=\"" + value
                + "\" style=\"width:20em;vertical-align:middle\"></progress> " + esc(text) + "</div>");
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
