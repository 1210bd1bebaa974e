package org.kvmsim.sim.ksm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.kvmsim.Jsonl;

/**
 * Holds the real-guest recordings (fixtures/realguest, made by tools/realguest/record.sh) to what
 * the recorder promises, so that a replay can trust them: a line after every full scan and no scan
 * missed, the knobs the case asked for and every knob put back afterwards, and dumps that account
 * for every page ksmd merged. The last is what makes the dumps a faithful image of what ksmd saw:
 * at a dump taken right after full scan N (guests and ksmd frozen), the PTEs that map a KSM page,
 * counted over every RAM block of every guest through /proc/PID/pagemap and /proc/kpageflags, are
 * exactly pages_shared + pages_sharing of scan N (each stable-tree rmap_item is one such PTE:
 * mm/ksm.c), and with use_zero_pages the PTEs mapping the zero page are at least ksm_zero_pages.
 * A RAM block left out, or dumped short of its mapping, breaks the equality (it did: ksmd merges
 * QEMU's resizeable ACPI-table block past its used_length). The replay of these recordings through
 * kvmsim is tested where page files are imported.
 */
class RealGuestRecordingTest {

    static Path dir() throws Exception {
        return Path.of(RealGuestRecordingTest.class.getResource("/fixtures/realguest").toURI());
    }

    static Stream<String> cases() throws Exception {
        try (Stream<Path> s = Files.list(dir())) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList().stream();
        }
    }

    static JsonObject caseJson(String c) throws Exception {
        return JsonParser.parseString(Files.readString(dir().resolve(c).resolve("case.json"))).getAsJsonObject();
    }

    @Test
    void theIssueCasesAreRecorded() throws Exception {
        // issue #13: at least four real cases (2 and 4+ guests, pages_to_scan and sleep values,
        // use_zero_pages on and off, a guest kernel parameter that changes memory), and one with THP madvise
        List<JsonObject> all = new ArrayList<>();
        for (String c : cases().toList()) all.add(caseJson(c));
        assertTrue(all.size() >= 5, "cases: " + all.size());
        assertTrue(all.stream().anyMatch(c -> c.get("guests").getAsInt() == 2));
        assertTrue(all.stream().anyMatch(c -> c.get("guests").getAsInt() >= 4));
        assertTrue(all.stream().map(c -> c.getAsJsonObject("ksm").get("pages_to_scan").getAsInt()).distinct().count() >= 2);
        assertTrue(all.stream().map(c -> c.getAsJsonObject("ksm").get("sleep_millisecs").getAsInt()).distinct().count() >= 2);
        assertTrue(all.stream().map(c -> c.getAsJsonObject("ksm").get("use_zero_pages").getAsInt()).distinct().count() == 2);
        assertTrue(all.stream().anyMatch(c -> c.get("guest_kernel_cmdline").getAsString().contains("init_on_free=1")));
        assertTrue(all.stream().anyMatch(c -> c.getAsJsonObject("thp").get("enabled").getAsString().equals("madvise")));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void aLineAfterEveryFullScanWithTheQemuProcessesBesideIt(String c) throws Exception {
        JsonObject cj = caseJson(c);
        List<JsonObject> ksm = Jsonl.read(dir().resolve(c).resolve("ksm.jsonl"));
        List<JsonObject> smaps = Jsonl.read(dir().resolve(c).resolve("smaps.jsonl"));
        assertEquals(cj.get("scans").getAsInt() + 1, ksm.size(), c + ": the start line and one per full scan");
        assertEquals(ksm.size(), smaps.size(), c + ": one smaps line per ksm line");
        double t = -1;
        for (int i = 0; i < ksm.size(); i++) {
            JsonObject k = ksm.get(i);
            assertEquals(i, k.get("scan").getAsInt(), c + " line " + (i + 1));
            assertEquals(i, k.get("full_scans").getAsInt(), c + " line " + (i + 1) + ": a full scan was missed");
            assertTrue(k.get("t_ksm").getAsDouble() > t, c + " line " + (i + 1) + ": time goes forward");
            t = k.get("t_ksm").getAsDouble();
            JsonObject s = smaps.get(i);
            assertEquals(i, s.get("scan").getAsInt());
            assertEquals(cj.get("guests").getAsInt(), s.getAsJsonArray("guests").size());
            for (JsonElement g : s.getAsJsonArray("guests")) {
                JsonObject ram = g.getAsJsonObject().getAsJsonObject("ram");
                for (JsonElement b : cj.getAsJsonArray("ramblocks")) {
                    assertTrue(ram.has(b.getAsJsonObject().get("name").getAsString()), c + ": smaps of every RAM block");
                }
            }
        }
        assertEquals(cj.get("command").getAsString(), Files.readString(dir().resolve(c).resolve("record.cmd")).strip(),
                c + ": record.cmd is the command case.json says made it");
    }

    @ParameterizedTest
    @MethodSource("cases")
    void theCaseKnobsWereSetAndEveryKnobPutBack(String c) throws Exception {
        JsonObject cj = caseJson(c);
        Map<String, JsonObject> knobs = new TreeMap<>();
        for (JsonObject l : Jsonl.read(dir().resolve(c).resolve("knobs.jsonl"))) knobs.put(l.get("knobs").getAsString(), l);
        JsonObject before = knobs.get("before"), set = knobs.get("set"), after = knobs.get("after");
        for (String k : before.keySet()) {
            if (!k.startsWith("ksm/") && !k.startsWith("thp/")) continue;
            if (k.endsWith("full_scans") || k.endsWith("pages_collapsed")) continue; // khugepaged's counters
            assertEquals(before.get(k), after.get(k), c + ": " + k + " put back");
        }
        JsonObject ksm = cj.getAsJsonObject("ksm");
        for (String k : List.of("pages_to_scan", "sleep_millisecs", "use_zero_pages", "max_page_sharing", "smart_scan")) {
            assertEquals(ksm.get(k).getAsString(), set.get("ksm/" + k).getAsString(), c + ": " + k);
        }
        assertEquals(cj.getAsJsonObject("thp").get("enabled").getAsString(), set.get("thp/enabled").getAsString());
        for (JsonElement b : cj.getAsJsonArray("ramblocks")) {
            assertTrue(b.getAsJsonObject().get("mergeable").getAsBoolean(), c + ": QEMU marks every RAM block MADV_MERGEABLE");
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void theDumpsAccountForEveryPageKsmdMerged(String c) throws Exception {
        JsonObject cj = caseJson(c);
        List<JsonObject> ksm = Jsonl.read(dir().resolve(c).resolve("ksm.jsonl"));
        Map<String, long[]> byTag = new TreeMap<>(); // tag -> scan, KSM PTEs, zero-page PTEs, guests
        for (JsonElement e : cj.getAsJsonArray("dumps")) {
            JsonObject d = e.getAsJsonObject();
            long[] a = byTag.computeIfAbsent(d.get("tag").getAsString(), t -> new long[4]);
            a[0] = d.get("ksm_full_scans_at_dump").getAsLong();
            for (Map.Entry<String, JsonElement> b : d.getAsJsonObject("pages").entrySet()) {
                a[1] += b.getValue().getAsJsonObject().get("ksm").getAsLong();
                a[2] += b.getValue().getAsJsonObject().get("zero").getAsLong();
            }
            a[3]++;
        }
        assertTrue(byTag.containsKey("boot"), c + ": a dump before ksmd starts");
        for (Map.Entry<String, long[]> e : byTag.entrySet()) {
            long[] a = e.getValue();
            assertEquals(cj.get("guests").getAsLong(), a[3], c + " " + e.getKey() + ": every guest dumped");
            JsonObject k = ksm.get((int) a[0]);
            assertEquals(k.get("pages_shared").getAsLong() + k.get("pages_sharing").getAsLong(), a[1],
                    c + " " + e.getKey() + ": PTEs mapping KSM pages against pages_shared + pages_sharing");
            assertTrue(a[2] >= k.get("ksm_zero_pages").getAsLong(), c + " " + e.getKey() + ": zero-page PTEs");
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void ksmdSplitsTheGuestsThpsOnlyWhereThpIsOn(String c) throws Exception {
        JsonObject cj = caseJson(c);
        List<JsonObject> smaps = Jsonl.read(dir().resolve(c).resolve("smaps.jsonl"));
        long first = 0, last = 0;
        for (JsonElement g : smaps.get(0).getAsJsonArray("guests")) first += anonHuge(g);
        for (JsonElement g : smaps.get(smaps.size() - 1).getAsJsonArray("guests")) last += anonHuge(g);
        long splits = smaps.get(smaps.size() - 1).getAsJsonObject("vmstat_delta").get("thp_split_page").getAsLong();
        if (cj.getAsJsonObject("thp").get("enabled").getAsString().equals("never")) {
            assertEquals(0, first + last, c + ": no THP in guest RAM with THP never");
        } else {
            // QEMU madvises guest RAM MADV_HUGEPAGE (softmmu/physmem.c, ram_block_add()); ksmd
            // splits a THP to merge a page in it (mm/ksm.c, try_to_merge_one_page() -> split_huge_page())
            assertTrue(first > 0, c + ": guest RAM faulted in as THPs: " + first + " kB");
            assertTrue(last < first, c + ": AnonHugePages " + first + " -> " + last + " kB");
            assertTrue(splits > 0, c + ": thp_split_page " + splits);
        }
    }

    private static long anonHuge(JsonElement guest) {
        return guest.getAsJsonObject().getAsJsonObject("ram").getAsJsonObject("pc.ram").get("AnonHugePages").getAsLong();
    }
}
