package org.kvmsim.notebook;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.kvmsim.kernel.CellOutput;
import org.kvmsim.kernel.Cells;
import org.kvmsim.kernel.KvmsimKernel;
import org.kvmsim.session.Session;

/**
 * Executes a notebook in-process, cell by cell in one session, and gives it back with its outputs
 * as `jupyter nbconvert --to notebook --execute` through the kvmsim kernel would save them. The
 * cells run through the kernel's own path ({@link Cells}, {@link CellOutput}); what the kernel
 * would publish is turned into outputs by the rules nbclient 0.7 applies to iopub messages
 * (client.py): a code cell whose source is blank or that is tagged skip-execution is left as it
 * is; the others get their outputs anew and execution counts 1, 2, ... in order; a display with a
 * display_id is recorded, and an update_display_data (or a later display with that id) replaces
 * the data and metadata of each output it named; clear_output empties the cell's outputs at once,
 * or with wait=true before the next output; an error stops the notebook unless errors are allowed
 * (allow_errors, or the cell tagged raises-exception). language_info is the kernel's
 * kernel_info_reply's. Then, as nbconvert's exporter always does (coalesce_streams), consecutive
 * stream outputs of one name are merged and a line's text up to a carriage return that does not
 * end it is dropped. Where kvmsim differs: an executed cell loses nbclient's timing metadata
 * ("execution"), which nbconvert with record_timing=False would keep from an earlier run.
 */
public final class NotebookRun {

    /** What a run reports as it goes (the command line's progress). */
    public interface Listener {
        /** Code cell {@code index} (of the notebook's cells) is about to run as execution count {@code count}. */
        default void cell(int index, int count, int codeCells, String firstLine) {}

        /** Progress of a `run` in the current cell: simulated nanoseconds done of total, accesses simulated (< 0: not known). */
        default void runProgress(long doneNanos, long totalNanos, long accesses) {}

        /** A trace counted before its first run in the current cell: accesses read so far. */
        default void counting(String trace, long accesses) {}
    }

    /** The cell that failed (an error not allowed), as nbclient's CellExecutionError names it. */
    public record Failure(int index, String firstLine, String ename, String evalue, List<String> traceback) {}

    /** The executed notebook, or where it failed (then the notebook is not to be written). */
    public record Result(JsonObject notebook, Failure failure) {}

    /** The seed the kernel's session runs with (KernelLauncher's default). */
    static final long KERNEL_SEED = 1;

    private static final Gson GSON = new Gson();
    private static final Pattern CR = Pattern.compile(".*\r(?=[^\n])", Pattern.UNIX_LINES);

    private NotebookRun() {}

    /**
     * Runs {@code notebook} (as {@link Nbformat#read} gave it; not changed) with relative file
     * names resolved in {@code folder}, as a kernel started there would.
     */
    public static Result execute(JsonObject notebook, Path folder, boolean allowErrors, Listener listener) {
        return execute(notebook, folder, allowErrors, listener, System::nanoTime);
    }

    /** The same with the wall clock the progress display goes by (tests make a run look long). */
    static Result execute(JsonObject notebook, Path folder, boolean allowErrors, Listener listener, LongSupplier clock) {
        JsonObject nb = notebook.deepCopy();
        Session session = new Session(KERNEL_SEED);
        // as KernelLauncher: exports under the kernel's working directory, which nbconvert makes the notebook's folder
        session.outDir(folder.toAbsolutePath());
        session.folder(folder);
        nb.getAsJsonObject("metadata").add("language_info", GSON.toJsonTree(KvmsimKernel.languageInfo()));
        JsonArray cells = nb.getAsJsonArray("cells");
        int codeCells = 0;
        for (JsonElement c : cells) if (runs(c.getAsJsonObject())) codeCells++;
        Map<String, Map<Integer, List<Integer>>> displays = new HashMap<>();
        int count = 0;
        for (int i = 0; i < cells.size(); i++) {
            JsonObject cell = cells.get(i).getAsJsonObject();
            if (!runs(cell)) continue;
            String source = Nbformat.string(cell, "source");
            cell.getAsJsonObject("metadata").remove("execution");
            count++;
            listener.cell(i, count, codeCells, firstLine(source));
            JsonArray outputs = new JsonArray();
            cell.add("outputs", outputs);
            Outputs sink = new Outputs(cells, i, displays, listener);
            Cells.Outcome outcome = Cells.run(session, Cells.source(count, source), new CellOutput(sink, clock));
            cell.addProperty("execution_count", count);
            if (!outcome.ok() && !allowErrors && !tags(cell).contains("raises-exception")) {
                return new Result(nb, new Failure(i, firstLine(source), outcome.ename(), outcome.evalue(), outcome.traceback()));
            }
        }
        for (JsonElement c : cells) coalesceStreams(c.getAsJsonObject());
        return new Result(nb, null);
    }

    private static boolean runs(JsonObject cell) {
        String source = Nbformat.string(cell, "source");
        return "code".equals(Nbformat.string(cell, "cell_type")) && source != null && !PyText.isBlank(source)
                && !tags(cell).contains("skip-execution");
    }

    private static List<String> tags(JsonObject cell) {
        List<String> out = new ArrayList<>();
        if (cell.getAsJsonObject("metadata").get("tags") instanceof JsonArray a) {
            for (JsonElement t : a) if (t.isJsonPrimitive()) out.add(t.getAsString());
        }
        return out;
    }

    static String firstLine(String source) {
        for (String line : source.split("\n", -1)) if (!line.isBlank()) return line.strip();
        return "";
    }

    /** nbconvert's coalesce_streams preprocessor (preprocessors/coalescestreams.py). */
    static void coalesceStreams(JsonObject cell) {
        if (!(cell.get("outputs") instanceof JsonArray outputs) || outputs.isEmpty()) return;
        JsonArray merged = new JsonArray();
        JsonObject last = null;
        for (JsonElement e : outputs) {
            JsonObject o = e.getAsJsonObject();
            if (last != null && "stream".equals(Nbformat.string(o, "output_type")) && "stream".equals(Nbformat.string(last, "output_type"))
                    && Nbformat.string(last, "name") != null && Nbformat.string(last, "name").equals(Nbformat.string(o, "name"))) {
                last.addProperty("text", Nbformat.string(last, "text") + Nbformat.string(o, "text"));
            } else {
                merged.add(o);
                last = o;
            }
        }
        for (JsonElement e : merged) {
            JsonObject o = e.getAsJsonObject();
            String text = Nbformat.string(o, "text");
            if ("stream".equals(Nbformat.string(o, "output_type")) && text != null && text.indexOf('\r') >= 0) {
                o.addProperty("text", CR.matcher(text).replaceAll(""));
            }
        }
        cell.add("outputs", merged);
    }

    /** The outputs nbclient makes of one cell's iopub messages (process_message, output, clear_output). */
    private static final class Outputs implements CellOutput.Sink {
        private final JsonArray cells;
        private final int index;
        private final Map<String, Map<Integer, List<Integer>>> displays;
        private final Listener listener;
        private boolean clearBeforeNextOutput;

        Outputs(JsonArray cells, int index, Map<String, Map<Integer, List<Integer>>> displays, Listener listener) {
            this.cells = cells;
            this.index = index;
            this.displays = displays;
            this.listener = listener;
        }

        private JsonArray outs() {
            return cells.get(index).getAsJsonObject().getAsJsonArray("outputs");
        }

        @Override
        public void stdout(String text) {
            JsonObject o = new JsonObject();
            o.addProperty("output_type", "stream");
            o.addProperty("name", "stdout");
            o.addProperty("text", text);
            output(o, null);
        }

        @Override
        public void display(DisplayData data) {
            JsonObject content = GSON.toJsonTree(data).getAsJsonObject();
            String id = displayId(content);
            if (id != null) updateDisplayId(id, content);
            JsonObject o = new JsonObject();
            o.addProperty("output_type", "display_data");
            o.add("data", content.has("data") ? content.get("data") : new JsonObject());
            o.add("metadata", content.has("metadata") ? content.get("metadata") : new JsonObject());
            output(o, id);
        }

        @Override
        public void update(DisplayData data) {
            JsonObject content = GSON.toJsonTree(data).getAsJsonObject();
            String id = displayId(content);
            if (id != null) updateDisplayId(id, content);
        }

        @Override
        public void clear(boolean wait) {
            if (wait) {
                clearBeforeNextOutput = true;
            } else {
                clearCell();
            }
        }

        @Override
        public void error(String ename, String evalue, List<String> traceback) {
            JsonObject o = new JsonObject();
            o.addProperty("output_type", "error");
            o.addProperty("ename", ename);
            o.addProperty("evalue", evalue);
            JsonArray tb = new JsonArray();
            for (String line : traceback) tb.add(line);
            o.add("traceback", tb);
            output(o, null);
        }

        @Override
        public void runProgress(long doneNanos, long totalNanos, long accesses) {
            listener.runProgress(doneNanos, totalNanos, accesses);
        }

        @Override
        public void counting(String trace, long accesses) {
            listener.counting(trace, accesses);
        }

        private void output(JsonObject out, String displayId) {
            if (clearBeforeNextOutput) {
                clearCell();
                clearBeforeNextOutput = false;
            }
            if (displayId != null) {
                displays.computeIfAbsent(displayId, k -> new LinkedHashMap<>())
                        .computeIfAbsent(index, k -> new ArrayList<>()).add(outs().size());
            }
            outs().add(out);
        }

        private void clearCell() {
            cells.get(index).getAsJsonObject().add("outputs", new JsonArray());
            for (Map<Integer, List<Integer>> cellMap : displays.values()) {
                if (cellMap.containsKey(index)) cellMap.put(index, new ArrayList<>());
            }
        }

        private void updateDisplayId(String id, JsonObject content) {
            Map<Integer, List<Integer>> at = displays.get(id);
            if (at == null) return;
            for (Map.Entry<Integer, List<Integer>> en : at.entrySet()) {
                JsonArray outputs = cells.get(en.getKey()).getAsJsonObject().getAsJsonArray("outputs");
                for (int k : en.getValue()) {
                    JsonObject o = outputs.get(k).getAsJsonObject();
                    o.add("data", content.has("data") ? content.get("data").deepCopy() : new JsonObject());
                    o.add("metadata", content.has("metadata") ? content.get("metadata").deepCopy() : new JsonObject());
                }
            }
        }

        private static String displayId(JsonObject content) {
            if (content.get("transient") instanceof JsonObject t && t.get("display_id") != null && !t.get("display_id").isJsonNull()) {
                String id = t.get("display_id").getAsString();
                return id.isEmpty() ? null : id;
            }
            return null;
        }
    }
}
