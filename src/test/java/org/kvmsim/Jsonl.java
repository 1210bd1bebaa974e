package org.kvmsim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The recording tools' output: one JSON object a line (tools/thp, tools/realguest, ../shared/tools). */
public final class Jsonl {

    private Jsonl() {}

    /** Every line of {@code file} but blank ones, as objects. */
    public static List<JsonObject> read(Path file) throws IOException {
        List<JsonObject> out = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            if (!l.isBlank()) out.add(JsonParser.parseString(l).getAsJsonObject());
        }
        return out;
    }

    /**
     * A tools/thp recording of several variants: the lines after each {"variant": V} line, by V in
     * recording order; each variant's {"summary"} line must say the recording stayed valid (THP's
     * `enabled` unchanged throughout), and is left out.
     */
    public static Map<String, List<JsonObject>> variants(Path file) throws IOException {
        Map<String, List<JsonObject>> out = new LinkedHashMap<>();
        String variant = null;
        for (JsonObject o : read(file)) {
            if (o.has("variant")) {
                variant = o.get("variant").getAsString();
                out.put(variant, new ArrayList<>());
            } else if (o.has("summary")) {
                assertTrue(o.get("valid").getAsBoolean(), variant + ": THP enabled changed during the recording");
            } else if (variant != null) {
                out.get(variant).add(o);
            }
        }
        return out;
    }
}
