package org.kvmsim.sim.real;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.kvmsim.ScriptRun;
import tech.tablesaw.api.Table;

/**
 * Replays one recorded real case (fixtures/realguest/CASE: case.json, ksm.jsonl and the page file
 * guests.pages made from its dumps) in kvmsim: the same knobs, as many VMs of the same memory
 * booted from the dumps taken when ksmd started, run for as many full scans as the recording.
 */
public final class RealGuestReplay {
    /** Counters compared per full scan. */
    public static final String[] COUNTERS = {"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
            "ksm_zero_pages", "stable_node_dups"};

    private RealGuestReplay() {}

    /** The script that replays the case in {@code dir}. */
    public static String script(Path dir) throws Exception {
        JsonObject c = JsonParser.parseString(Files.readString(dir.resolve("case.json"))).getAsJsonObject();
        JsonObject k = c.getAsJsonObject("ksm");
        String thp = c.getAsJsonObject("thp").get("enabled").getAsString();
        int guests = c.get("guests").getAsInt();
        long mib = c.get("memory_mib").getAsLong();
        String startTag = null;
        for (var d : c.getAsJsonArray("dumps")) {
            JsonObject o = d.getAsJsonObject();
            if (o.get("ksm_full_scans_at_dump").getAsLong() == 0) startTag = o.get("tag").getAsString();
        }
        StringBuilder s = new StringBuilder();
        s.append("# replays fixtures/realguest/").append(dir.getFileName()).append(" (").append(c.get("command").getAsString())
                .append(")\n");
        s.append(String.format(Locale.ROOT, "ksm policy real { pages_to_scan = %d; sleep = %d ms; use_zero_pages = %s;"
                        + " max_page_sharing = %d; merge_across_nodes = %s; smart_scan = %s }%n",
                k.get("pages_to_scan").getAsLong(), k.get("sleep_millisecs").getAsLong(), onOff(k, "use_zero_pages"),
                k.get("max_page_sharing").getAsLong(), onOff(k, "merge_across_nodes"), onOff(k, "smart_scan")));
        s.append("host hv1 { memory = 16 GiB; ksm = real; thp = ").append(thp).append(" }\n");
        s.append("image guests { from = \"").append(dir.resolve("guests.pages").toAbsolutePath()).append('"');
        if (startTag != null) s.append("; dump = \"").append(startTag).append('"');
        s.append(" }\n");
        // QEMU madvises guest RAM for THP (backing = thp); its ROMs and other blocks come with the image
        s.append("vm g0 on hv1 { memory = ").append(mib).append(" MiB; backing = thp; image = guests }\n");
        for (int g = 1; g < guests; g++) s.append("vm g").append(g).append(" like g0\n");
        s.append("run until hv1.ksm.full_scans = ").append(scans(dir).size() - 1).append("\n");
        s.append("show ksm history on hv1\n");
        return s.toString();
    }

    private static String onOff(JsonObject k, String knob) {
        return k.get(knob).getAsLong() != 0 ? "on" : "off";
    }

    /** The real recording: ksm.jsonl, line i = full scan i (0: when ksmd started). */
    public static List<JsonObject> scans(Path dir) throws Exception {
        List<JsonObject> out = new ArrayList<>();
        for (String l : Files.readAllLines(dir.resolve("ksm.jsonl"))) if (!l.isBlank()) out.add(JsonParser.parseString(l).getAsJsonObject());
        return out;
    }

    /** One full scan: the real counters and kvmsim's, in COUNTERS order. */
    public record Scan(int scan, long[] real, long[] sim) {}

    public static List<Scan> compare(Path dir) throws Exception {
        List<JsonObject> real = scans(dir);
        List<Table> tables = ScriptRun.tables(dir.getFileName().toString(), script(dir));
        Table h = tables.get(tables.size() - 1);
        List<Scan> out = new ArrayList<>();
        for (int i = 1; i < real.size(); i++) {
            JsonObject r = real.get(i);
            int scan = r.get("full_scans").getAsInt();
            int row = -1;
            for (int j = 0; j < h.rowCount(); j++) if (h.longColumn("full_scans").get(j) == scan) row = j;
            if (row < 0) throw new AssertionError(dir.getFileName() + ": kvmsim's history has no full scan " + scan);
            long[] rv = new long[COUNTERS.length], sv = new long[COUNTERS.length];
            for (int c = 0; c < COUNTERS.length; c++) {
                rv[c] = r.get(COUNTERS[c]).getAsLong();
                sv[c] = h.longColumn(COUNTERS[c]).get(row);
            }
            out.add(new Scan(scan, rv, sv));
        }
        return out;
    }

    /** The comparison as a Markdown table (docs/model.md quotes it). */
    public static String table(String name, List<Scan> scans) {
        StringBuilder s = new StringBuilder("| " + name + " scan |");
        for (String c : COUNTERS) s.append(' ').append(c).append(" real / kvmsim |");
        s.append('\n').append("|---|").append("---|".repeat(COUNTERS.length)).append('\n');
        for (Scan sc : scans) {
            s.append("| ").append(sc.scan()).append(" |");
            for (int c = 0; c < COUNTERS.length; c++) s.append(' ').append(sc.real()[c]).append(" / ").append(sc.sim()[c]).append(" |");
            s.append('\n');
        }
        return s.toString();
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        try (var cases = Files.list(root)) {
            for (Path d : cases.sorted().toList()) {
                if (Files.isRegularFile(d.resolve("guests.pages"))) System.out.println(table(d.getFileName().toString(), compare(d)));
            }
        }
    }
}
