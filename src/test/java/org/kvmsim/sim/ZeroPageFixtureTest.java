package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * Reads of never-written guest memory map the zero page, held to this machine's kernel
 * (fixtures/thp/zeropage-64.jsonl, oracle O3): the recording's layout replayed through the engine,
 * a 64 MiB region read once per 2 MiB (madvised: the huge zero page) or once per 4 KiB
 * (MADV_NOHUGEPAGE: the zero page), then written the same way. RSS and AnonHugePages must move as
 * the recording's did (nothing after the reads; the whole region after the writes, as THPs for
 * the madvised one), and each range or page must take one EPT violation (shadow fault) for its
 * read and one more for its write.
 */
class ZeroPageFixtureTest {

    private static final long MIB = 1 << 20;

    /** The recording's first valid run: phase name to its line. */
    private static Map<String, JsonObject> recording() throws Exception {
        Path fixture = Path.of(ZeroPageFixtureTest.class.getResource("/fixtures/thp/zeropage-64.jsonl").toURI());
        Map<String, JsonObject> phases = new HashMap<>();
        int runs = 0;
        for (String l : Files.readAllLines(fixture)) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            if (o.has("phase") && runs == 0) phases.put(o.get("phase").getAsString(), o);
            if (o.has("summary")) {
                assertTrue(o.get("valid").getAsBoolean(), "a recorded run without its THPs");
                runs++;
            }
        }
        assertEquals(3, runs, "runs in the fixture");
        return phases;
    }

    /** kB between two phases of the recording. */
    private static long delta(Map<String, JsonObject> rec, String from, String to, String field) {
        return rec.get(to).get(field).getAsLong() - rec.get(from).get(field).getAsLong();
    }

    private final List<Table> tables = new ArrayList<>();

    private void run(String text) {
        Output out = new Output() {
            public void print(String t) {}

            public void table(Table t) {
                tables.add(t);
            }

            public void chart(String n, byte[] png, String svg) {}
        };
        Session.Result r = new Session(1).execute(new SourceFile("zeropage.kvm", text), out);
        if (!r.ok()) fail("script failed: " + r.diagnostics());
    }

    /** The {@code n}-th table named {@code name} (0-based). */
    private Table table(String name, int n) {
        return tables.stream().filter(t -> t.name().equals(name)).skip(n).findFirst().orElseThrow();
    }

    private long meminfoKb(int n, String field) {
        Table t = table("meminfo", n);
        for (int i = 0; i < t.rowCount(); i++) {
            if (t.stringColumn("field").get(i).equals(field)) return t.longColumn("value").get(i);
        }
        throw new AssertionError("no meminfo field " + field);
    }

    private long vmLong(String name, int n, String column) {
        return table(name, n).longColumn(column).get(0);
    }

    /** vm_exits at the {@code n}-th `show mmu`: 0 after the reads, 1 after the writes. */
    private long exits(int n) {
        return vmLong("mmu", n, "vm_exits");
    }

    /**
     * One VM with a 64 MiB `pagetable` mapping of 4 KiB guest pages nobody wrote; a read per
     * {@code step}, then a write per {@code step}; meminfo, vms and mmu after each (and at start).
     */
    private void replay(String paging, String backing, long step) {
        long n = 64 * MIB / step;
        String stride = step == 4096 ? "4 KiB" : "2 MiB";
        run("host hv1 { memory = 1 GiB; thp = madvise }\n"
                + "vm v on hv1 { memory = 256 MiB; paging = " + paging + "; backing = " + backing + " }\n"
                + "pagetable app in v { map 0x7f00_0000_0000 size 64 MiB page 4 KiB }\n"
                + "start v\nshow meminfo on hv1\nshow vms\n"
                + "workload r on v.app { pattern = strided(" + stride + "); footprint = 64 MiB; accesses = " + n + "; seed = 1 }\n"
                + "run 1 s\nshow meminfo on hv1\nshow vms\nshow mmu\n"
                + "workload w on v.app { pattern = strided(" + stride + "); footprint = 64 MiB; accesses = " + n
                + "; writes = 100%; seed = 1 }\n"
                + "run 1 s\nshow meminfo on hv1\nshow vms\nshow mmu\n");
    }

    @ParameterizedTest
    @ValueSource(strings = {"ept", "shadow"})
    void readsPerTwoMiBMapTheHugeZeroPageAndWritesAllocateThps(String paging) throws Exception {
        Map<String, JsonObject> rec = recording();
        replay(paging, "thp", 2 * MIB);
        assertEquals(delta(rec, "huge_start", "huge_read", "rss_kb"), (vmLong("vms", 1, "rss_bytes") - vmLong("vms", 0, "rss_bytes")) / 1024);
        assertEquals(delta(rec, "huge_start", "huge_read", "anon_huge_kb"), meminfoKb(1, "AnonHugePages") - meminfoKb(0, "AnonHugePages"));
        assertEquals(delta(rec, "huge_start", "huge_read", "anon_huge_kb"), meminfoKb(1, "AnonPages") - meminfoKb(0, "AnonPages"));
        assertEquals(delta(rec, "huge_read", "huge_write", "anon_huge_kb"), meminfoKb(2, "AnonHugePages") - meminfoKb(1, "AnonHugePages"));
        assertEquals(delta(rec, "huge_read", "huge_write", "anon_huge_kb"), (vmLong("vms", 2, "rss_bytes") - vmLong("vms", 1, "rss_bytes")) / 1024);
        // thp_fault_alloc: one THP per 2 MiB range written
        assertEquals(delta(rec, "huge_read", "huge_write", "thp_fault_alloc") * 2 * 1024, meminfoKb(2, "AnonHugePages") - meminfoKb(1, "AnonHugePages"));
        // one exit per range read (plus, under EPT, one for the 2 MiB of guest table pages; under
        // shadow paging, the CR3 load); the writes: one more per range, each faulting a THP in
        assertEquals(32 + 1, exits(0));
        assertEquals(32, exits(1) - exits(0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"ept", "shadow"})
    void readsPerFourKiBMapTheZeroPageAndWritesAllocatePages(String paging) throws Exception {
        Map<String, JsonObject> rec = recording();
        replay(paging, "anonymous", 4096);
        assertEquals(delta(rec, "small_start", "small_read", "rss_kb"), (vmLong("vms", 1, "rss_bytes") - vmLong("vms", 0, "rss_bytes")) / 1024);
        assertEquals(delta(rec, "small_start", "small_read", "rss_kb"), meminfoKb(1, "AnonPages") - meminfoKb(0, "AnonPages"));
        assertEquals(delta(rec, "small_read", "small_write", "rss_kb"), (vmLong("vms", 2, "rss_bytes") - vmLong("vms", 1, "rss_bytes")) / 1024);
        assertEquals(delta(rec, "small_read", "small_write", "anon_huge_kb"), meminfoKb(2, "AnonHugePages") - meminfoKb(1, "AnonHugePages"));
        // one exit per page read (plus, under EPT, one per guest table page: 35; under shadow
        // paging, the CR3 load), one more per page written
        assertEquals(16384 + (paging.equals("ept") ? 35 : 1), exits(0));
        assertEquals(16384, exits(1) - exits(0));
    }
}
