package org.kvmsim.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * `kvmsim notebook run --check`: a notebook executed again must be byte for byte the committed
 * file. When it is not, this names what differs first: a cell's outputs (the cell by its index
 * and first source line, the output by its index, and the first line that differs), or, if every
 * output is the same, the first line of the file that is not (metadata, ids, timing left in it).
 */
public final class NotebookCheck {

    private NotebookCheck() {}

    /** Null if {@code now} is {@code committed}'s bytes; else what differs first, in a few lines. */
    public static String difference(byte[] committed, byte[] now) {
        if (Arrays.equals(committed, now)) return null;
        String oldText = new String(committed, java.nio.charset.StandardCharsets.UTF_8);
        String newText = new String(now, java.nio.charset.StandardCharsets.UTF_8);
        try {
            JsonObject a = Nbformat.read(oldText), b = Nbformat.read(newText);
            String cells = cellDifference(a.getAsJsonArray("cells"), b.getAsJsonArray("cells"));
            if (cells != null) return cells;
        } catch (Nbformat.Invalid e) {
            // fall through to the line-by-line difference
        }
        String[] x = oldText.split("\n", -1), y = newText.split("\n", -1);
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            String l = i < x.length ? x[i] : "(end of file)", r = i < y.length ? y[i] : "(end of file)";
            if (!l.equals(r)) {
                return "the outputs are the same, but line " + (i + 1) + " of the file is not:\n"
                        + "  committed: " + clip(l) + "\n  now:       " + clip(r);
            }
        }
        return "the bytes differ";
    }

    private static String cellDifference(JsonArray a, JsonArray b) {
        if (a.size() != b.size()) return "the notebook has " + a.size() + " cells, but the run gave " + b.size();
        for (int i = 0; i < a.size(); i++) {
            JsonObject ca = a.get(i).getAsJsonObject(), cb = b.get(i).getAsJsonObject();
            if (!"code".equals(Nbformat.string(ca, "cell_type"))) continue;
            String name = "cell " + i + " (`" + clip(NotebookRun.firstLine(Objects.toString(Nbformat.string(ca, "source"), ""))) + "`)";
            JsonArray oa = ca.getAsJsonArray("outputs"), ob = cb.getAsJsonArray("outputs");
            for (int k = 0; k < Math.max(oa.size(), ob.size()); k++) {
                if (k >= oa.size()) return name + ": output " + k + " is new:\n  now:       " + clip(describe(ob.get(k)).get(0));
                if (k >= ob.size()) return name + ": output " + k + " is gone:\n  committed: " + clip(describe(oa.get(k)).get(0));
                if (oa.get(k).equals(ob.get(k))) continue;
                List<String> x = describe(oa.get(k)), y = describe(ob.get(k));
                for (int l = 0; l < Math.max(x.size(), y.size()); l++) {
                    String p = l < x.size() ? x.get(l) : "(no more lines)", q = l < y.size() ? y.get(l) : "(no more lines)";
                    if (!p.equals(q)) {
                        return name + ": output " + k + " differs from the committed one:\n  committed: " + clip(p) + "\n  now:       " + clip(q);
                    }
                }
                return name + ": output " + k + " differs from the committed one in " + differingKeys(oa.get(k), ob.get(k));
            }
            if (!Objects.equals(ca.get("execution_count"), cb.get("execution_count"))) {
                return name + ": execution_count " + ca.get("execution_count") + ", but the run gave " + cb.get("execution_count");
            }
        }
        return null;
    }

    /** An output as lines to compare: its type, then its text (a stream's, text/plain, or an error's traceback). */
    private static List<String> describe(JsonElement e) {
        JsonObject o = e.getAsJsonObject();
        String type = Objects.toString(Nbformat.string(o, "output_type"), "?");
        List<String> lines = new ArrayList<>();
        switch (type) {
            case "stream" -> {
                lines.add("stream " + Nbformat.string(o, "name"));
                lines.addAll(List.of(Objects.toString(Nbformat.string(o, "text"), "").split("\n", -1)));
            }
            case "error" -> {
                lines.add("error " + Nbformat.string(o, "ename") + ": " + Nbformat.string(o, "evalue"));
                if (o.get("traceback") instanceof JsonArray tb) for (JsonElement t : tb) lines.add(t.getAsString());
            }
            default -> {
                JsonObject data = o.get("data") instanceof JsonObject d ? d : new JsonObject();
                lines.add(type + " " + new TreeSet<>(data.keySet()));
                String text = Nbformat.string(data, "text/plain");
                if (text != null) lines.addAll(List.of(text.split("\n", -1)));
            }
        }
        return lines;
    }

    private static String differingKeys(JsonElement a, JsonElement b) {
        JsonObject x = a.getAsJsonObject(), y = b.getAsJsonObject();
        List<String> keys = new ArrayList<>();
        for (String k : new TreeSet<>(x.keySet())) {
            if (x.get(k) instanceof JsonObject m && y.get(k) instanceof JsonObject n) {
                for (String mk : new TreeSet<>(m.keySet())) if (!Objects.equals(m.get(mk), n.get(mk))) keys.add(k + "." + mk);
                for (String nk : new TreeSet<>(n.keySet())) if (!m.has(nk)) keys.add(k + "." + nk);
            } else if (!Objects.equals(x.get(k), y.get(k))) {
                keys.add(k);
            }
        }
        return keys.isEmpty() ? "its keys" : String.join(", ", keys);
    }

    private static String clip(String s) {
        return s.length() > 160 ? s.substring(0, 157) + "..." : s;
    }
}
