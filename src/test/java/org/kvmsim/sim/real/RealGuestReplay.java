package org.kvmsim.sim.real;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.kvmsim.Jsonl;
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
        return script(dir, false);
    }

    /**
     * The replay; with {@code thpPerScan}, it stops at every full scan and shows `ksm by vm`
     * (each VM's AnonHugePages) and `khugepaged` (the host's thp_* events) instead of the history.
     */
    public static String script(Path dir, boolean thpPerScan) throws Exception {
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
        if (thpPerScan) {
            for (int i = 1; i < scans(dir).size(); i++) {
                s.append("run until hv1.ksm.full_scans = ").append(i).append("\nshow ksm by vm on hv1\nshow khugepaged on hv1\n");
            }
            return s.toString();
        }
        s.append("run until hv1.ksm.full_scans = ").append(scans(dir).size() - 1).append("\n");
        s.append("show ksm history on hv1\n");
        return s.toString();
    }

    private static String onOff(JsonObject k, String knob) {
        return k.get(knob).getAsLong() != 0 ? "on" : "off";
    }

    /** The real recording: ksm.jsonl, line i = full scan i (0: when ksmd started). */
    public static List<JsonObject> scans(Path dir) throws Exception {
        return Jsonl.read(dir.resolve("ksm.jsonl"));
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

    /**
     * THPs per full scan, real and kvmsim's: per guest, its THPs in guest RAM (the real one: the
     * AnonHugePages of the QEMU process's RAM blocks in smaps.jsonl / 2048 kB, so QEMU's own heap
     * is left out; kvmsim's: `ksm by vm`'s anon_huge_pages_kb / 2048), and the host's
     * thp_split_page and thp_split_page_failed (real: vmstat_delta; kvmsim: `khugepaged`).
     */
    public record ThpScan(int scan, long[] realThps, long[] simThps, long realSplit, long simSplit, long realFailed,
                          long simFailed, long realFaultAlloc, long simFaultAlloc, long realCollapsed, long simCollapsed) {}

    public static List<ThpScan> compareThp(Path dir) throws Exception {
        List<JsonObject> smaps = Jsonl.read(dir.resolve("smaps.jsonl"));
        List<Table> tables = ScriptRun.tables(dir.getFileName().toString(), script(dir, true));
        List<ThpScan> out = new ArrayList<>();
        for (int i = 1; i < smaps.size(); i++) {
            JsonObject r = smaps.get(i);
            var guests = r.getAsJsonArray("guests");
            long[] real = new long[guests.size()], sim = new long[guests.size()];
            Table vms = tables.get(2 * (i - 1)), k = tables.get(2 * (i - 1) + 1);
            for (int g = 0; g < guests.size(); g++) {
                long kb = 0;
                for (var b : guests.get(g).getAsJsonObject().getAsJsonObject("ram").entrySet()) {
                    kb += b.getValue().getAsJsonObject().get("AnonHugePages").getAsLong();
                }
                real[g] = kb / 2048;
                sim[g] = vms.longColumn("anon_huge_pages_kb").get(g) / 2048;
            }
            JsonObject vs = r.getAsJsonObject("vmstat_delta");
            out.add(new ThpScan(r.get("scan").getAsInt(), real, sim, vs.get("thp_split_page").getAsLong(),
                    k.longColumn("thp_split_page").get(0), vs.get("thp_split_page_failed").getAsLong(),
                    k.longColumn("thp_split_page_failed").get(0), vs.get("thp_fault_alloc").getAsLong(),
                    k.longColumn("thp_fault_alloc").get(0), vs.get("thp_collapse_alloc").getAsLong(),
                    k.longColumn("pages_collapsed").get(0)));
        }
        return out;
    }

    public static String thpTable(String name, List<ThpScan> scans) {
        StringBuilder s = new StringBuilder("| " + name + " scan | THPs per guest real / kvmsim | thp_split_page real / kvmsim"
                + " | thp_split_page_failed real / kvmsim |\n|---|---|---|---|\n");
        for (ThpScan t : scans) {
            s.append("| ").append(t.scan()).append(" | ");
            for (int g = 0; g < t.realThps().length; g++) s.append(g == 0 ? "" : ", ").append(t.realThps()[g]).append(" / ").append(t.simThps()[g]);
            s.append(" | ").append(t.realSplit()).append(" / ").append(t.simSplit()).append(" | ").append(t.realFailed()).append(" / ")
                    .append(t.simFailed()).append(" |\n");
        }
        return s.toString();
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
                if (!Files.isRegularFile(d.resolve("guests.pages"))) continue;
                System.out.println(table(d.getFileName().toString(), compare(d)));
                if (RealGuestThpTest.hasThps(d)) System.out.println(thpTable(d.getFileName().toString(), compareThp(d)));
            }
        }
    }
}
