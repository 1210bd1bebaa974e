package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.kvmsim.Jsonl;
import org.kvmsim.ScriptRun;
import tech.tablesaw.api.Table;

/**
 * KSM against khugepaged held to this machine's kernel (fixtures/thp/ksm-thp-16.jsonl, oracle O4):
 * 32 MiB of THPs whose two 16 MiB halves share 100 pages in every 2 MiB range, made mergeable with
 * ksmd scanning 1000 pages every 20 ms. ksmd splits every THP at once; khugepaged collapses 8
 * ranges a wake (100 shared pages are within max_ptes_shared = 256), which un-merges them, and
 * ksmd splits them and merges again before the next poll: pages_sharing stays 800 and
 * AnonHugePages 0 half a second after each wake. At max_ptes_shared = 0 nothing is collapsed.
 * kvmsim runs one VM with the same layout (guest RAM is the probe's one mapping).
 */
class KsmThpRealTest {

    record Sample(double t, long collapsed, long anonHugeKb, long pagesSharing) {}

    private static Map<String, List<Sample>> recorded() throws Exception {
        Path fixture = Path.of(KsmThpRealTest.class.getResource("/fixtures/thp/ksm-thp-16.jsonl").toURI());
        Map<String, List<Sample>> out = new LinkedHashMap<>();
        Jsonl.variants(fixture).forEach((variant, lines) -> out.put(variant, lines.stream().filter(o -> o.has("t_s"))
                .map(o -> new Sample(o.get("t_s").getAsDouble(), o.get("pages_collapsed").getAsLong(),
                        o.get("anon_huge_kb").getAsLong(), o.get("pages_sharing").getAsLong())).toList()));
        return out;
    }

    /** kvmsim at 0.5 s, 10.5 s, 20.5 s, 30.5 s and 40.5 s: collapses so far, AnonHugePages, pages_sharing. */
    private static List<Sample> simulated(String knob) {
        StringBuilder s = new StringBuilder("""
                ksm policy k { run = 1; pages_to_scan = 1000; sleep = 20 ms }
                host hv { memory = 4 GiB; cpu = skylake; thp = madvise; ksm = k }
                vm v on hv { memory = 32 MiB; paging = ept; backing = thp }
                start v
                contents v {
                  pages 0 .. 8191 = unique
                }
                """);
        for (int half = 0; half < 2; half++) {
            for (int r = 0; r < 8; r++) {
                for (int j = 0; j < 100; j++) {
                    int p = half * 4096 + r * 512 + j;
                    s.append("write v pages ").append(p).append(" .. ").append(p).append(" = same ").append(r * 512 + j + 1).append('\n');
                }
            }
        }
        if (knob != null) s.append("set hv.khugepaged.").append(knob.replace("=", " = ")).append('\n');
        for (int i = 0; i < 5; i++) {
            s.append(i == 0 ? "run 500 ms\n" : "run 10 s\n").append("show khugepaged on hv\nshow meminfo on hv\nshow ksm on hv\n");
        }
        List<Table> tables = ScriptRun.tables("o4", s.toString());
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Table kh = tables.get(3 * i), mem = tables.get(3 * i + 1), ksm = tables.get(3 * i + 2);
            long ahp = -1;
            for (int row = 0; row < mem.rowCount(); row++) {
                if (mem.stringColumn("field").get(row).equals("AnonHugePages")) ahp = mem.longColumn("value").get(row);
            }
            samples.add(new Sample(0.5 + 10 * i, kh.longColumn("pages_collapsed").get(0), ahp,
                    ((Number) ksm.column("pages_sharing").get(0)).longValue()));
        }
        return samples;
    }

    /** The recorded sample nearest {@code t}. */
    private static Sample at(List<Sample> real, double t) {
        Sample best = real.get(0);
        for (Sample x : real) if (Math.abs(x.t() - t) < Math.abs(best.t() - t)) best = x;
        return best;
    }

    private static void same(String variant, List<Sample> real, List<Sample> sim) {
        for (Sample k : sim) {
            Sample r = at(real, k.t() + 0.5); // the kernel's wakes drift by about 0.5 s in 30 s
            assertEquals(r.collapsed(), k.collapsed(), variant + ": collapses by " + k.t() + " s");
            assertEquals(r.anonHugeKb(), k.anonHugeKb(), variant + ": AnonHugePages at " + k.t() + " s");
            assertEquals(r.pagesSharing(), k.pagesSharing(), variant + ": pages_sharing at " + k.t() + " s");
        }
    }

    @Test
    void khugepagedCollapsesSharedRangesAndKsmdSplitsThemAgain() throws Exception {
        List<Sample> real = recorded().get("defaults");
        assertEquals(32, real.get(real.size() - 1).collapsed(), "8 collapses a wake, 4 wakes after the first");
        same("defaults", real, simulated(null));
    }

    @Test
    void nothingCollapsesAtMaxPtesSharedZero() throws Exception {
        List<Sample> real = recorded().get("max_ptes_shared=0");
        assertEquals(0, real.get(real.size() - 1).collapsed());
        same("max_ptes_shared=0", real, simulated("max_ptes_shared=0"));
    }
}
