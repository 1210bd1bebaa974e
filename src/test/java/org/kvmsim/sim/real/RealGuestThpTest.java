package org.kvmsim.sim.real;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Holds kvmsim's THPs to a real case recorded with THP madvise (fixtures/realguest/thp2): per full
 * scan, each guest's THPs in guest RAM (AnonHugePages of the QEMU process's RAM blocks in smaps,
 * against `show ksm by vm`'s anon_huge_pages_kb) and the host's thp_split_page and
 * thp_split_page_failed (/proc/vmstat, against `show khugepaged`). What is held, and why only so
 * (docs/model.md section 11, "THP (thp2)"):
 *  - before merging starts, every guest's THPs are the real ones (all RAM faulted in as THPs) and
 *    nothing is split;
 *  - from the third full scan on (the second, where the THPs are split, the real ksmd lags behind
 *    as RealGuestKsmTest says), every guest keeps at most as many THPs as for real, and at most
 *    thp_kept_per_guest (tolerance.properties) fewer: the real guests keep THPs whose pages never
 *    reach a merge there (they change between scans: the rmap_items real ksmd keeps outside the
 *    stable tree), which the replay's image does not reproduce;
 *  - the THPs account for every split, exactly, in both: THPs faulted in + collapsed - split =
 *    THPs mapped (so every split is one of guest RAM's, and the per-guest figures and the host's
 *    counters agree);
 *  - KSM's failed splits: cmp_and_merge_page() fails to split a THP when the scanned page and its
 *    unstable-tree match lie in it, then splits it without merging (mm/ksm.c): kvmsim has some,
 *    and no more than the real kernel counted (which also fails on transient references).
 */
class RealGuestThpTest {

    /** A case whose guests faulted THPs in (THP madvise): the recording has the thp_* deltas. */
    static boolean hasThps(Path d) throws Exception {
        if (!Files.isRegularFile(d.resolve("smaps.jsonl")) || !Files.isRegularFile(d.resolve("guests.pages"))) return false;
        String first = Files.readAllLines(d.resolve("smaps.jsonl")).get(0);
        JsonObject vs = JsonParser.parseString(first).getAsJsonObject().getAsJsonObject("vmstat_delta");
        return vs != null && vs.get("thp_fault_alloc").getAsLong() > 0;
    }

    static Stream<String> cases() throws Exception {
        List<String> out = new ArrayList<>();
        try (var s = Files.list(RealGuestKsmTest.root())) {
            for (Path d : s.sorted().toList()) if (hasThps(d)) out.add(d.getFileName().toString());
        }
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void holdsAnonHugePagesAndThpSplitsToTheRecording(String name) throws Exception {
        Path dir = RealGuestKsmTest.root().resolve(name);
        Properties tol = new Properties();
        Path tf = dir.resolve("tolerance.properties");
        if (Files.isRegularFile(tf)) {
            try (var r = Files.newBufferedReader(tf)) {
                tol.load(r);
            }
        }
        long kept = Long.parseLong(tol.getProperty("thp_kept_per_guest", "0"));
        List<RealGuestReplay.ThpScan> scans = RealGuestReplay.compareThp(dir);
        // the THPs every guest faulted in when ksmd started: smaps.jsonl line 0
        JsonObject start = JsonParser.parseString(Files.readAllLines(dir.resolve("smaps.jsonl")).get(0)).getAsJsonObject();
        var guests = start.getAsJsonArray("guests");
        List<String> errors = new ArrayList<>();
        int mergeStart = -1;
        for (JsonObject k : RealGuestReplay.scans(dir)) {
            if (mergeStart < 0 && k.get("pages_sharing").getAsLong() > 0) mergeStart = k.get("full_scans").getAsInt();
        }
        long simFailedTotal = 0;
        for (RealGuestReplay.ThpScan t : scans) {
            String at = "scan " + t.scan() + ": ";
            long realSum = 0, simSum = 0;
            for (int g = 0; g < t.realThps().length; g++) {
                realSum += t.realThps()[g];
                simSum += t.simThps()[g];
                if (t.scan() < mergeStart) {
                    long atStart = 0;
                    for (var b : guests.get(g).getAsJsonObject().getAsJsonObject("ram").entrySet()) {
                        atStart += b.getValue().getAsJsonObject().get("AnonHugePages").getAsLong() / 2048;
                    }
                    if (t.simThps()[g] != atStart) errors.add(at + "g" + g + " has " + t.simThps()[g] + " THPs, " + atStart + " for real");
                } else if (t.scan() > mergeStart) {
                    long d = t.realThps()[g] - t.simThps()[g];
                    if (d < 0 || d > kept) errors.add(at + "g" + g + " keeps " + t.simThps()[g] + " THPs, " + t.realThps()[g] + " for real");
                }
            }
            if (t.scan() < mergeStart && (t.simSplit() != 0 || t.realSplit() != 0)) errors.add(at + "a split before merging starts");
            // every THP faulted in or collapsed is mapped or was split: exact in kvmsim at every
            // scan; for real from merging's start (smaps and vmstat are read a moment apart)
            if (t.simFaultAlloc() + t.simCollapsed() - t.simSplit() != simSum) {
                errors.add(at + "kvmsim: " + t.simFaultAlloc() + " faulted + " + t.simCollapsed() + " collapsed - " + t.simSplit()
                        + " split != " + simSum + " THPs mapped");
            }
            if (t.scan() >= mergeStart && t.realFaultAlloc() + t.realCollapsed() - t.realSplit() - realSum != nonRamThps(start)) {
                errors.add(at + "real: " + t.realFaultAlloc() + " faulted - " + t.realSplit() + " split != " + realSum + " THPs in RAM + "
                        + nonRamThps(start) + " of QEMU's own");
            }
            if (t.scan() > mergeStart && (t.simFailed() > t.realFailed())) {
                errors.add(at + "kvmsim's failed splits " + t.simFailed() + " above the real " + t.realFailed());
            }
            simFailedTotal = t.simFailed();
        }
        if (simFailedTotal == 0) errors.add("kvmsim failed no split (cmp_and_merge_page() on two pages of one THP)");
        assertTrue(errors.isEmpty(), name + ":\n  " + String.join("\n  ", errors) + "\n" + RealGuestReplay.thpTable(name, scans));
    }

    /** THPs of the QEMU processes outside guest RAM (their heaps): rollup minus the RAM blocks'. */
    private static long nonRamThps(JsonObject smapsLine) {
        long n = 0;
        for (var g : smapsLine.getAsJsonArray("guests")) {
            JsonObject o = g.getAsJsonObject();
            long ram = 0;
            for (var b : o.getAsJsonObject("ram").entrySet()) ram += b.getValue().getAsJsonObject().get("AnonHugePages").getAsLong();
            n += (o.getAsJsonObject("rollup").get("AnonHugePages").getAsLong() - ram) / 2048;
        }
        return n;
    }
}
