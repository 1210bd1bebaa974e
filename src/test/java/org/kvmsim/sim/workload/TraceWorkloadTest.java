package org.kvmsim.sim.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;
import tech.tablesaw.api.Table;

/** A trace workload against the synthetic stream whose addresses it holds, and its errors. */
class TraceWorkloadTest {

    /** Where the first workload of a freshly started VM has its range (GuestKernel.WORKLOAD_GVA). */
    private static final long BASE = 0x7f00_0000_0000L;
    private static final long FOOTPRINT = 4L << 20;
    private static final int N = 30_000;

    @TempDir
    Path dir;

    private static final String VMS = """
            host h { memory = 8 GiB; cpus = 4 }
            vm ept on h { memory = 1 GiB; vcpus = 1 }
            vm shadow like ept { paging = shadow }
            start ept
            start shadow
            """;

    /** sequential yields line after line from the range's base, wrapping at the footprint: so does this trace. */
    private byte[] sequentialLackey(String kind) {
        StringBuilder b = new StringBuilder("==4242== Lackey, an example Valgrind tool\n");
        for (int i = 0; i < N; i++) {
            if (i % 4 == 0) b.append("I  0040").append(Integer.toHexString(0x1000 + i)).append(",3\n");
            String k = kind.equals("mixed") ? (i % 2 == 0 ? "S" : "M") : kind;
            b.append(' ').append(k).append(' ').append(Long.toHexString(BASE + (i * 64L) % FOOTPRINT)).append(",8\n");
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private Path write(String name, byte[] data, String compression) throws IOException {
        Path p = dir.resolve(name);
        try (OutputStream raw = Files.newOutputStream(p);
             OutputStream o = switch (compression) {
                 case "gz" -> new GZIPOutputStream(raw);
                 case "xz" -> new XZOutputStream(raw, new LZMA2Options(1));
                 case "zst" -> new com.github.luben.zstd.ZstdOutputStream(raw);
                 default -> raw;
             }) {
            o.write(data);
        }
        return p;
    }

    /** Runs a script written beside the traces; the tables it showed, or its diagnostics. */
    private Session.Result run(String text, List<Table> tables) throws IOException {
        Path script = dir.resolve("t.kvm");
        Files.writeString(script, text);
        return new Session(1).execute(new SourceFile(script.toString(), text), collecting(tables));
    }

    /** Output that keeps the tables shown. */
    private static Output collecting(List<Table> tables) {
        return new Output() {
            public void print(String t) {}

            public void table(Table t) {
                tables.add(t);
            }

            public void chart(String n, byte[] png, String svg) {}
        };
    }

    private String shown(String text) throws IOException {
        List<Table> tables = new ArrayList<>();
        Session.Result r = run(text, tables);
        assertTrue(r.ok(), () -> r.diagnostics().toString());
        StringBuilder b = new StringBuilder();
        for (Table t : tables) b.append(t.print(1000)).append('\n');
        return b.toString();
    }

    private String errors(String text) throws IOException {
        Session.Result r = run(text, new ArrayList<>());
        assertFalse(r.ok());
        return r.diagnostics().toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"plain", "gz", "xz", "zst"})
    void aTraceOfSequentialReadsCountsAsTheSequentialPattern(String compression) throws IOException {
        write("seq.trace", sequentialLackey("L"), compression);
        String synthetic = shown(VMS + "workload w on ept, shadow { pattern = sequential; footprint = 4 MiB; accesses = "
                + N + " }\nrun 1 s\nshow mmu\n");
        String traced = shown(VMS + "workload w on ept, shadow { trace = \"seq.trace\" }\nrun 1 s\nshow mmu\n");
        assertEquals(synthetic, traced);
        assertTrue(traced.contains(" " + N + " "), traced);
    }

    @Test
    void storesAndModifiesAreWrites() throws IOException {
        write("w.lackey", sequentialLackey("mixed"), "plain");
        String synthetic = shown(VMS + "workload w on ept, shadow { pattern = sequential; footprint = 4 MiB; accesses = "
                + N + "; writes = 100% }\nrun 1 s\nshow mmu\n");
        String traced = shown(VMS + "workload w on ept, shadow { trace = \"w.lackey\" }\nrun 1 s\nshow mmu\n");
        assertEquals(synthetic, traced);
    }

    @Test
    void aTraceIsConsumedAcrossRunsAndRepeats() throws IOException {
        write("seq.lackey", sequentialLackey("L"), "xz");
        String script = VMS + "workload w on ept { trace = \"seq.lackey\"; accesses = 25000; limit = 20000; repeat = 2 }\n"
                + "run 1 s\nshow mmu\nrun 1 s\nshow mmu\nrun 1 s\nshow mmu\n";
        List<Table> tables = new ArrayList<>();
        assertTrue(run(script, tables).ok());
        List<String> accesses = new ArrayList<>();
        for (Table t : tables) accesses.add(t.column("accesses").getString(0));
        assertEquals(List.of("25000", "40000", "40000"), accesses);
        // deterministic
        assertEquals(shown(script), shown(script));
    }

    @Test
    void runsAfterTheFirstReplayTheDecodedCopyNotTheFile() throws IOException {
        Path trace = write("seq.lackey", sequentialLackey("L"), "zst");
        Session s = new Session(1);
        List<Table> tables = new ArrayList<>();
        Output out = collecting(tables);
        String first = VMS + "workload w on ept { trace = \"" + trace + "\"; accesses = 10000 }\nrun 1 s\n";
        Session.Result r = s.execute(new SourceFile(dir.resolve("a.kvm").toString(), first), out);
        assertTrue(r.ok(), () -> r.diagnostics().toString());
        // the trace was counted and decoded before the first run: the rest replays without it
        Files.delete(trace);
        Session.Result r2 = s.execute(new SourceFile(dir.resolve("b.kvm").toString(), "run 1 s\nrun 1 s\nshow workloads\n"), out);
        assertTrue(r2.ok(), () -> r2.diagnostics().toString());
        Table w = tables.get(tables.size() - 1);
        assertEquals("30000", w.column("accesses").getString(0));
        assertEquals("0", w.column("accesses_left").getString(0));
    }

    /** The rows of `show workloads` after each run, as "workload vm accesses fetches left". */
    private List<String> workloadRows(String script) throws IOException {
        List<Table> tables = new ArrayList<>();
        Session.Result r = run(script, tables);
        assertTrue(r.ok(), () -> r.diagnostics().toString());
        List<String> rows = new ArrayList<>();
        for (Table t : tables) {
            assertEquals("workloads", t.name());
            for (int i = 0; i < t.rowCount(); i++) {
                rows.add(t.stringColumn("workload").get(i) + " " + t.stringColumn("vm").get(i) + " "
                        + t.column("accesses").getString(i) + " " + t.column("instruction_fetches").getString(i) + " "
                        + t.column("accesses_left").getString(i));
            }
        }
        return rows;
    }

    @Test
    void instructionFetchesAreCountedApartUpToTheLastAccessReplayed() throws IOException {
        // an I line before every 4th access: k accesses replayed pass ceil(k / 4) fetches
        write("seq.lackey", sequentialLackey("L"), "zst");
        String script = VMS + "workload w on ept { trace = \"seq.lackey\"; accesses = 25000; limit = 20000; repeat = 2 }\n"
                + "workload p on shadow { pattern = uniform; footprint = 4 MiB; accesses = 1000 }\n"
                + "show workloads\nrun 1 s\nshow workloads\nrun 1 s\nshow workloads\n";
        assertEquals(List.of(
                // before the first run: a trace's length is not counted yet
                "w ept 0 0 ", "p shadow 0 0 1000",
                // a pass of 20000 (5000 fetches), then 5000 of the second (1250)
                "w ept 25000 6250 15000", "p shadow 1000 0 0",
                "w ept 40000 10000 0", "p shadow 1000 0 0"), workloadRows(script));
    }

    @Test
    void aWholePassCountsTheFetchesAfterItsLastAccess() throws IOException {
        write("tail.lackey", "I  00401000,3\n L 7f0000000000,8\nI  00401003,2\nI  00401005,4\n"
                .getBytes(StandardCharsets.US_ASCII), "plain");
        String script = VMS + "workload w on ept, shadow { trace = \"tail.lackey\"; repeat = 2 }\nrun 1 s\nshow workloads ept\n";
        assertEquals(List.of("w ept 2 6 0"), workloadRows(script));
        // ChampSim: every record is an instruction fetch, its memory operands its accesses
        ByteBuffer b = ByteBuffer.allocate(3 * 64).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3; i++) {
            b.position(i * 64);
            b.putLong(0x401000 + 4 * i).putLong(0);
            b.putLong(i == 1 ? BASE + 4096 : 0).putLong(0);
            b.putLong(i == 0 ? BASE : 0);
        }
        write("t.champsim", b.array(), "plain");
        String champsim = VMS + "workload w on ept { trace = \"t.champsim\"; format = champsim; accesses = 1 }\n"
                + "run 1 s\nshow workloads\nrun 1 s\nshow workloads\n";
        assertEquals(List.of("w ept 1 1 1", "w ept 2 3 0"), workloadRows(champsim));
    }

    @Test
    void aDrmemtraceReplaysItsReadsAndWritesAndCountsItsFetches() throws IOException {
        Files.copy(Path.of("src/test/resources/traces/hand.drmemtrace"), dir.resolve("hand.drmemtrace"));
        String script = VMS + "workload w on ept { trace = \"hand.drmemtrace\"; format = drmemtrace }\n"
                + "run 1 s\nshow workloads\n";
        assertEquals(List.of("w ept 3 6 0"), workloadRows(script));
        // the same accesses as a lackey trace give the same counters
        write("same.lackey", ("I  00401000,3\n L 7f0000000000,8\n S 7f0000001008,8\n L 7f0000002010,4\n")
                .getBytes(StandardCharsets.US_ASCII), "plain");
        assertEquals(shown(VMS + "workload w on ept, shadow { trace = \"same.lackey\" }\nrun 1 s\nshow mmu\n"),
                shown(VMS + "workload w on ept, shadow { trace = \"hand.drmemtrace\"; format = drmemtrace }\nrun 1 s\nshow mmu\n"));
    }

    @Test
    void aMalformedLineIsNamedByFileAndLine() throws IOException {
        write("bad.lackey.gz", " L 7f0000000000,8\nI  401000,3\n X 12,4\n".getBytes(StandardCharsets.US_ASCII), "gz");
        String e = errors(VMS + "workload w on ept { trace = \"bad.lackey.gz\" }\nrun 1 s\n");
        assertTrue(e.contains("bad.lackey.gz:3: not a lackey line: ' X 12,4'"), e);
        assertTrue(e.contains("t.kvm:7:1"), e);
        write("bad2.lackey", " L 7f00zz,8\n".getBytes(StandardCharsets.US_ASCII), "plain");
        assertTrue(errors(VMS + "workload w on ept { trace = \"bad2.lackey\" }\nrun 1 s\n").contains("bad2.lackey:1: not a lackey line"));
    }

    @Test
    void theScriptIsCheckedBeforeItRuns() throws IOException {
        write("ok.lackey", sequentialLackey("L"), "plain");
        String missing = errors(VMS + "workload w on ept { trace = \"missing.lackey\" }\n");
        assertTrue(missing.contains("no trace file 'missing.lackey'"), missing);
        String threads = errors(VMS + "workload w on ept { trace = \"ok.lackey\"; threads = 2 }\n");
        assertTrue(threads.contains("a trace workload takes no 'threads'"), threads);
        String pattern = errors(VMS + "workload w on ept { trace = \"ok.lackey\"; pattern = uniform }\n");
        assertTrue(pattern.contains("a trace workload takes no 'pattern'"), pattern);
        String limit = errors(VMS + "workload w on ept { footprint = 4 MiB; accesses = 10; limit = 3 }\n");
        assertTrue(limit.contains("'limit' belongs to a trace workload"), limit);
        write("empty.lackey", "I  401000,3\n".getBytes(StandardCharsets.US_ASCII), "plain");
        String empty = errors(VMS + "workload w on ept { trace = \"empty.lackey\" }\nrun 1 s\n");
        assertTrue(empty.contains("empty.lackey: no loads, stores or modifies in it"), empty);
        write("high.lackey", " L 1000000000000,8\n".getBytes(StandardCharsets.US_ASCII), "plain");
        String high = errors(VMS + "workload w on ept { trace = \"high.lackey\" }\nrun 1 s\n");
        assertTrue(high.contains("high.lackey:1: address 0x1000000000000 is beyond the guest's 4-level page tables"), high);
    }

    /** {@code n} loads from {@code base} on, line after line, wrapping at 1 MiB. */
    private static byte[] loads(long base, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append(" L ").append(Long.toHexString(base + (i * 64L) % (1 << 20))).append(",8\n");
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static final String TWO_VCPUS = """
            host h { memory = 8 GiB; cpus = 4 }
            vm m on h { memory = 1 GiB; vcpus = 2 }
            vm s like m { paging = shadow }
            start m
            start s
            """;

    /** The accesses column of `show mmu by vcpu`, row by row as "vm/vcpu=accesses". */
    private String byVcpu(String script) throws IOException {
        List<Table> tables = new ArrayList<>();
        Session.Result r = run(script, tables);
        assertTrue(r.ok(), () -> r.diagnostics().toString());
        Table t = tables.get(tables.size() - 1);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < t.rowCount(); i++) {
            b.append(t.column("vm").getString(i)).append('/').append(t.column("vcpu").getString(i)).append('=')
                    .append(t.column("accesses").getString(i)).append(' ');
        }
        return b.toString().trim();
    }

    @Test
    void eachFileOfAMultiThreadedTraceRunsOnItsOwnVcpu() throws IOException {
        write("t0.lackey.xz", loads(BASE, 7000), "xz");
        write("t1.lackey.gz", loads(BASE + (1 << 19), 3000), "gz");
        String both = byVcpu(TWO_VCPUS + "workload w on m, s { trace = [\"t0.lackey.xz\", \"t1.lackey.gz\"] }\n"
                + "run 1 s\nshow mmu by vcpu\n");
        assertEquals("m/0=7000 m/1=3000 s/0=7000 s/1=3000", both);
        // the sum is the sum of both replayed alone
        String t0 = byVcpu(TWO_VCPUS + "workload w on m, s { trace = \"t0.lackey.xz\" }\nrun 1 s\nshow mmu by vcpu\n");
        String t1 = byVcpu(TWO_VCPUS + "workload w on m, s { trace = \"t1.lackey.gz\" }\nrun 1 s\nshow mmu by vcpu\n");
        assertEquals("m/0=7000 m/1=0 s/0=7000 s/1=0", t0);
        assertEquals("m/0=3000 m/1=0 s/0=3000 s/1=0", t1);
        // one file in a list is the single-file form
        assertEquals(shown(TWO_VCPUS + "workload w on m, s { trace = \"t0.lackey.xz\" }\nrun 1 s\nshow mmu\nshow meminfo\n"),
                shown(TWO_VCPUS + "workload w on m, s { trace = [\"t0.lackey.xz\"] }\nrun 1 s\nshow mmu\nshow meminfo\n"));
    }

    @Test
    void threadsShareThePageMapAndSplitAccessesByWhatEachHasLeft() throws IOException {
        // both threads read the same 1 MiB: the second toucher of a page finds it mapped
        write("a.lackey", loads(BASE, 6000), "plain");
        write("b.lackey", loads(BASE, 2000), "plain");
        String script = TWO_VCPUS + "workload w on m { trace = [\"a.lackey\", \"b.lackey\"]; accesses = 4000 }\n"
                + "run 1 s\nshow mmu by vcpu\nrun 1 s\nshow mmu by vcpu\nrun 1 s\nshow mmu by vcpu\nshow meminfo\n";
        List<Table> tables = new ArrayList<>();
        assertTrue(run(script, tables).ok());
        List<String> runs = new ArrayList<>();
        for (Table t : tables) {
            if (t.columnNames().contains("vcpu")) runs.add(t.column("accesses").getString(0) + "+" + t.column("accesses").getString(1));
        }
        // 3000 + 1000 a run, in proportion to 6000 and 2000: both files end with the second run
        assertEquals(List.of("3000+1000", "6000+2000", "6000+2000"), runs);
        String shared = shown(TWO_VCPUS + "workload w on m { trace = [\"a.lackey\", \"b.lackey\"] }\nrun 1 s\nshow meminfo\n");
        String alone = shown(TWO_VCPUS + "workload w on m { trace = \"a.lackey\" }\nrun 1 s\nshow meminfo\n");
        assertEquals(alone, shared, "b's pages are a's: no page more is faulted in");
    }

    @Test
    void aMultiThreadedReplayIsTheSameForAnyNumberOfSimulationThreads() throws IOException {
        write("t0.lackey", loads(BASE, 20_000), "plain");
        write("t1.lackey", loads(BASE + (3L << 20), 15_000), "zst");
        write("t2.lackey", loads(BASE + (1 << 19), 9_000), "gz");
        String script = """
                host h { memory = 8 GiB; cpus = 8 }
                vm a on h { memory = 1 GiB; vcpus = 2 }
                vm b on h { memory = 1 GiB; vcpus = 2; paging = shadow }
                vm c on h { memory = 1 GiB; vcpus = 2 }
                start a
                start b
                start c
                workload w on a, b, c { trace = ["t0.lackey", "t1.lackey", "t2.lackey"]; accesses = 30000 }
                workload z on c { pattern = zipf(0.8); footprint = 16 MiB; accesses = 50_000; writes = 10% }
                run 1 s
                run 1 s
                show mmu by vcpu
                show cpus
                show meminfo
                """;
        String before = System.getProperty("kvmsim.threads");
        try {
            System.setProperty("kvmsim.threads", "1");
            String one = shown(script);
            System.setProperty("kvmsim.threads", "2");
            String two = shown(script);
            assertEquals(one, two);
            assertEquals(one, shown(script));
            // thread 2 is on vCPU 0 beside thread 0: 20000 + 9000 there, 15000 on vCPU 1
            // thread 2 is on vCPU 0 beside thread 0: 20000 + 9000 there, 15000 on vCPU 1
            assertTrue(byVcpu(script.replace("show cpus\n", "").replace("show meminfo\n", ""))
                    .startsWith("a/0=29000 a/1=15000 b/0=29000 b/1=15000 "), one);
        } finally {
            if (before == null) System.clearProperty("kvmsim.threads");
            else System.setProperty("kvmsim.threads", before);
        }
    }

    @Test
    void aMissingFileOfTheListIsNamedWhereItIsWritten() throws IOException {
        write("t0.lackey", loads(BASE, 10), "plain");
        String e = errors(VMS + "workload w on ept {\n  trace = [\"t0.lackey\", \"t1.lackey\"]\n}\n");
        assertTrue(e.contains("t.kvm:7:25"), e);
        assertTrue(e.contains("no trace file 't1.lackey'"), e);
        String notString = errors(VMS + "workload w on ept { trace = [\"t0.lackey\", 3] }\n");
        assertTrue(notString.contains("trace lists file names in strings, not '3'"), notString);
        write("bad.lackey", " L 7f0000000000,8\n Q 1,1\n".getBytes(StandardCharsets.US_ASCII), "plain");
        String bad = errors(VMS + "workload w on ept { trace = [\"t0.lackey\", \"bad.lackey\"] }\nrun 1 s\n");
        assertTrue(bad.contains("bad.lackey:2: not a lackey line"), bad);
    }
}
