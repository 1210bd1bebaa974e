package org.kvmsim.notebook;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Set;

/**
 * A notebook file read and written as Python's nbformat 5.5 does it (what nbconvert uses):
 * reading joins split text (v4/rwbase.py rejoin_lines: a cell's source, a stream's text, a
 * mime bundle's entries but JSON mimes) and drops transient keys (strip_transient: metadata
 * orig_nbformat, orig_nbformat_minor, signature; a cell's metadata trusted); writing splits them
 * again (split_lines: source, stream text, and in a bundle text/*, application/javascript and
 * image/svg+xml, each into lines keeping their ends; image/png and JSON stay one value) and prints
 * the JSON as {@link PyJson} does, with a newline at the end (nbconvert's NotebookExporter adds it).
 *
 * <p>Cell ids (nbformat 4.5): a cell without one gets one and a duplicate is replaced, as
 * validator._normalize does; a notebook of format 4.0-4.4 becomes 4.5 with an id on every cell,
 * as v4/convert.py upgrade does (and as Jupyter's front ends do on save). Where kvmsim differs:
 * nbformat draws new ids at random (uuid4().hex[:8]); kvmsim derives the same 8 hex digits from the
 * cell's position and source, so a run is deterministic; and nbconvert itself leaves a 4.0-4.4
 * notebook at its minor version. Only nbformat 4 is read.
 */
public final class Nbformat {

    private Nbformat() {}

    /** A file that is not a notebook kvmsim can run. */
    public static final class Invalid extends Exception {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    static final int MINOR = 5;

    public static JsonObject read(String text) throws Invalid {
        JsonElement e;
        try {
            e = PyJson.parse(text);
        } catch (PyJson.Malformed m) {
            throw new Invalid("not JSON: " + m.getMessage());
        }
        if (!e.isJsonObject()) throw new Invalid("not a notebook: the JSON is not an object");
        JsonObject nb = e.getAsJsonObject();
        int major = intOf(nb, "nbformat", 1), minor = intOf(nb, "nbformat_minor", 0);
        if (major != 4) {
            throw new Invalid("nbformat " + major + ": kvmsim runs nbformat 4 notebooks"
                    + " (`jupyter nbconvert --to notebook` upgrades an older one)");
        }
        if (!(nb.get("cells") instanceof JsonArray cells)) throw new Invalid("not a notebook: no \"cells\" list");
        if (!(nb.get("metadata") instanceof JsonObject)) throw new Invalid("not a notebook: no \"metadata\" object");
        for (int i = 0; i < cells.size(); i++) {
            if (!(cells.get(i) instanceof JsonObject c)) throw new Invalid("cell " + i + " is not an object");
            String type = string(c, "cell_type");
            if (type == null || !Set.of("code", "markdown", "raw").contains(type)) {
                throw new Invalid("cell " + i + ": cell_type is not code, markdown or raw");
            }
            if (!(c.get("metadata") instanceof JsonObject)) c.add("metadata", new JsonObject());
            if (type.equals("code") && !(c.get("outputs") instanceof JsonArray)) {
                throw new Invalid("cell " + i + ": a code cell without an \"outputs\" list");
            }
        }
        rejoinLines(nb);
        for (JsonElement c : cells) {
            if (!(c.getAsJsonObject().get("source") instanceof JsonPrimitive p) || !p.isString()) {
                throw new Invalid("cell " + cells.asList().indexOf(c) + ": its source is not text");
            }
        }
        stripTransient(nb);
        if (minor < MINOR) {
            for (JsonElement c : cells) c.getAsJsonObject().remove("id");
            nb.addProperty("nbformat_minor", MINOR);
        }
        if (intOf(nb, "nbformat_minor", 0) >= MINOR) normalizeIds(cells);
        return nb;
    }

    static String write(JsonObject notebook) {
        JsonObject nb = notebook.deepCopy();
        splitLines(nb);
        stripTransient(nb);
        String s = PyJson.dumps(nb);
        return s.endsWith("\n") ? s : s + "\n";
    }

    public static byte[] writeBytes(JsonObject nb) {
        return write(nb).getBytes(StandardCharsets.UTF_8);
    }

    private static int intOf(JsonObject o, String key, int missing) throws Invalid {
        JsonElement v = o.get(key);
        if (v == null) return missing;
        if (v instanceof JsonPrimitive p && p.isNumber() && p.getAsString().matches("-?[0-9]+")) return p.getAsInt();
        throw new Invalid("not a notebook: \"" + key + "\" is not an integer");
    }

    static String string(JsonObject o, String key) {
        return o.get(key) instanceof JsonPrimitive p && p.isString() ? p.getAsString() : null;
    }

    // ---- rwbase.py ----------------------------------------------------------------------------

    private static void rejoinLines(JsonObject nb) throws Invalid {
        for (JsonElement ce : nb.getAsJsonArray("cells")) {
            JsonObject cell = ce.getAsJsonObject();
            if (cell.get("source") instanceof JsonArray a) cell.addProperty("source", join(a));
            if (cell.get("attachments") instanceof JsonObject att) {
                for (var en : att.entrySet()) if (en.getValue() instanceof JsonObject b) rejoinBundle(b);
            }
            if ("code".equals(string(cell, "cell_type"))) {
                for (JsonElement oe : cell.getAsJsonArray("outputs")) {
                    if (!(oe instanceof JsonObject out)) throw new Invalid("an output is not an object");
                    String type = string(out, "output_type");
                    if ("execute_result".equals(type) || "display_data".equals(type)) {
                        if (out.get("data") instanceof JsonObject data) rejoinBundle(data);
                    } else if (type != null && !type.isEmpty() && out.get("text") instanceof JsonArray t) {
                        out.addProperty("text", join(t));
                    }
                }
            }
        }
    }

    private static String join(JsonArray a) throws Invalid {
        StringBuilder sb = new StringBuilder();
        for (JsonElement e : a) {
            if (!(e instanceof JsonPrimitive p) || !p.isString()) throw new Invalid("a list of lines holds something not text");
            sb.append(p.getAsString());
        }
        return sb.toString();
    }

    private static boolean isJsonMime(String mime) {
        return mime.equals("application/json") || (mime.startsWith("application/") && mime.endsWith("+json"));
    }

    private static void rejoinBundle(JsonObject data) throws Invalid {
        for (String key : Set.copyOf(data.keySet())) {
            if (!isJsonMime(key) && data.get(key) instanceof JsonArray a && allStrings(a)) data.addProperty(key, join(a));
        }
    }

    private static boolean allStrings(JsonArray a) {
        for (JsonElement e : a) if (!(e instanceof JsonPrimitive p) || !p.isString()) return false;
        return true;
    }

    private static void splitLines(JsonObject nb) {
        for (JsonElement ce : nb.getAsJsonArray("cells")) {
            JsonObject cell = ce.getAsJsonObject();
            String source = string(cell, "source");
            if (source != null) cell.add("source", lines(source));
            if (cell.get("attachments") instanceof JsonObject att) {
                for (var en : att.entrySet()) if (en.getValue() instanceof JsonObject b) splitBundle(b);
            }
            if ("code".equals(string(cell, "cell_type"))) {
                for (JsonElement oe : cell.getAsJsonArray("outputs")) {
                    JsonObject out = oe.getAsJsonObject();
                    String type = string(out, "output_type");
                    if ("execute_result".equals(type) || "display_data".equals(type)) {
                        if (out.get("data") instanceof JsonObject data) splitBundle(data);
                    } else if ("stream".equals(type)) {
                        String text = string(out, "text");
                        if (text != null) out.add("text", lines(text));
                    }
                }
            }
        }
    }

    private static void splitBundle(JsonObject data) {
        for (String key : Set.copyOf(data.keySet())) {
            String v = string(data, key);
            if (v != null && (key.startsWith("text/") || key.equals("application/javascript") || key.equals("image/svg+xml"))) {
                data.add(key, lines(v));
            }
        }
    }

    private static JsonArray lines(String s) {
        JsonArray a = new JsonArray();
        for (String line : PyText.splitLinesKeepEnds(s)) a.add(line);
        return a;
    }

    private static void stripTransient(JsonObject nb) {
        JsonObject md = nb.getAsJsonObject("metadata");
        md.remove("orig_nbformat");
        md.remove("orig_nbformat_minor");
        md.remove("signature");
        for (JsonElement c : nb.getAsJsonArray("cells")) {
            if (c.getAsJsonObject().get("metadata") instanceof JsonObject cm) cm.remove("trusted");
        }
    }

    // ---- validator._normalize -------------------------------------------------------------------

    private static void normalizeIds(JsonArray cells) {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < cells.size(); i++) {
            JsonObject c = cells.get(i).getAsJsonObject();
            String id = string(c, "id");
            if (id == null || seen.contains(id)) {
                id = newId(i, string(c, "source"), seen);
                c.addProperty("id", id);
            }
            seen.add(id);
        }
    }

    /** Eight hex digits, as nbformat's generate_corpus_id, but from the cell's place and text. */
    private static String newId(int index, String source, Set<String> taken) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (int salt = 0; ; salt++) {
                byte[] h = sha.digest((index + "\0" + salt + "\0" + source).getBytes(StandardCharsets.UTF_8));
                String id = HexFormat.of().formatHex(h, 0, 4);
                if (!taken.contains(id)) return id;
            }
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is in every JDK", e);
        }
    }
}
