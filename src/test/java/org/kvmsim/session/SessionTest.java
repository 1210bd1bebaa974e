package org.kvmsim.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import tech.tablesaw.api.Table;

class SessionTest {

    @TempDir
    Path dir;

    /** Collects what a session outputs. */
    static final class Collect implements Output {
        final List<Table> tables = new ArrayList<>();
        final List<String> lines = new ArrayList<>();
        final List<byte[]> pngs = new ArrayList<>();
        /** Counted down at a run's first progress report: the run is under way. */
        final java.util.concurrent.CountDownLatch progressed = new java.util.concurrent.CountDownLatch(1);

        public void print(String text) {
            lines.add(text);
        }

        public void table(Table t) {
            tables.add(t);
        }

        public void chart(String name, byte[] png, String svg) {
            pngs.add(png);
            assertTrue(svg.contains("<svg"), "an SVG document");
        }

        public void progress(long done, long total, long accesses) {
            progressed.countDown();
        }

        String text() {
            StringBuilder b = new StringBuilder();
            for (Table t : tables) b.append(Render.text(t));
            return b.toString();
        }
    }

    static Session.Result run(Session s, String text, Collect out) {
        return s.execute(new SourceFile("cell.kvm", text), out);
    }

    private static final String KSM = """
            ksm policy fast { pages_to_scan = 1000; sleep = 20 ms }
            host hv1 { memory = 4 GiB; ksm = fast; thp = never }
            vm g1 on hv1 { memory = 64 MiB }
            vm g2 like g1
            contents g1 { pages 0 .. 99 = same 1; pages 100 .. 199 = zero; pages 200 .. 1199 = unique }
            contents g2 { pages 0 .. 99 = same 1; pages 100 .. 1199 = unique }
            run until hv1.ksm.full_scans = 2
            write g1 pages 0 .. 9 = same 2
            run until hv1.ksm.full_scans = 4
            show ksm history on hv1
            show ksm by vm
            show meminfo on hv1
            show events
            """;

    @Test
    void sameScriptSameSeedSameBytes() {
        Collect a = new Collect(), b = new Collect();
        assertTrue(run(new Session(42), KSM, a).ok());
        assertTrue(run(new Session(42), KSM, b).ok());
        assertEquals(a.text(), b.text());
        assertFalse(a.text().isEmpty());
    }

    @Test
    void aSweepStartsFromTheStateQueriesLeft() {
        // `show walk` on a running VM fills in the nested entries the walk needs (as the first
        // access would): the sweep's replay must do the same, or its run counts other violations;
        // on a VM not started yet it runs on a scratch copy (and must not replay itself forever)
        String setup = """
                host hv1 { memory = 4 GiB; thp = never }
                vm g on hv1 { memory = 256 MiB; paging = ept }
                pagetable p in g { map 0x7f00_0000_0000 size 4 MiB page 4 KiB }
                show walk g.p 0x7f00_0000_3000
                run 1 ms
                show walk g.p 0x7f00_0000_1000
                show translate g.p 0x7f00_0000_2000
                workload w on g.p { pattern = uniform; footprint = 4 MiB; accesses = 5000; seed = 1 }
                """;
        Collect straight = new Collect();
        assertTrue(run(new Session(7), setup + "run 1 s\nshow mmu\n", straight).ok());
        Collect swept = new Collect();
        assertTrue(run(new Session(7), setup + "sweep w.seed in [1] { run 1 s; show mmu }\n", swept).ok());
        Table a = straight.tables.get(straight.tables.size() - 1);
        Table b = swept.tables.get(swept.tables.size() - 1);
        assertEquals(a.longColumn("ept_violations").get(0), b.longColumn("ept_violations").get(0));
        assertEquals(a.longColumn("cycles").get(0), b.longColumn("cycles").get(0));
    }

    @Test
    void aSweepAfterAFailedTranslateStartsFromTheStateItLeft() {
        // the failed query made the VM's default address space (a guest table page, faulted in)
        // before it failed: the sweep's replay must too
        Session s = new Session(7);
        assertTrue(run(s, "host h { memory = 1 GiB; thp = never }\nvm a on h { memory = 64 MiB }\nrun 1 s\n", new Collect()).ok());
        assertFalse(run(s, "show translate a 0x1000\n", new Collect()).ok());
        Collect direct = new Collect();
        assertTrue(run(s, "show vms\n", direct).ok());
        Collect swept = new Collect();
        assertTrue(run(s, "sweep a.vcpus in [1] { show vms }\n", swept).ok());
        long rss = direct.tables.get(0).longColumn("rss_bytes").get(0);
        assertTrue(rss > 0);
        assertEquals(rss, swept.tables.get(0).longColumn("rss_bytes").get(0));
    }

    @Test
    void cellsShareOneSessionAndAFailingCellLeavesItUsable() {
        Session s = new Session(1);
        Collect out = new Collect();
        assertTrue(run(s, "host h { memory = 1 GiB }\nvm v on h { memory = 64 MiB }", out).ok());
        Session.Result bad = run(s, "vm w on h { memory = 1 }", out);
        assertFalse(bad.ok());
        assertEquals("cell.kvm", bad.diagnostics().get(0).span().file());
        assertTrue(run(s, "vm v on h { memory = 128 MiB }\nshow vms", out).ok(), "a cell run again replaces its VM");
        assertEquals(1, out.tables.get(0).rowCount());
        assertEquals(128L << 20, out.tables.get(0).longColumn("memory_bytes").get(0));
    }

    @Test
    void exportWritesEveryFormat() throws Exception {
        Session s = new Session(1);
        s.outDir(dir);
        Collect out = new Collect();
        Session.Result r = run(s, """
                host h { memory = 1 GiB }
                vm v on h { memory = 64 MiB; vcpus = 2 }
                show vms
                export vms to "t.csv"
                export vms to "t.json"
                export vms to "t.md"
                export vms to "sub/t.html"
                """, out);
        assertTrue(r.ok(), r.diagnostics().toString());
        assertEquals("name,host,memory_bytes,vcpus,paging,backing,image,state,rss_bytes\nv,h,67108864,2,ept,anonymous,,declared,0\n",
                Files.readString(dir.resolve("t.csv")));
        var json = JsonParser.parseString(Files.readString(dir.resolve("t.json"))).getAsJsonObject();
        assertEquals("vms", json.get("name").getAsString());
        assertEquals(67108864L, json.getAsJsonArray("rows").get(0).getAsJsonArray().get(2).getAsLong());
        assertTrue(Files.readString(dir.resolve("t.md")).contains("| v | h | 67108864 | 2 |"));
        assertTrue(Files.readString(dir.resolve("sub/t.html")).startsWith("<table class=\"kvmsim\""));
    }

    @Test
    void plotRendersPngAndSvg() {
        Collect out = new Collect();
        Session.Result r = run(new Session(1), KSM + "plot ksm_history { x = full_scans; y = pages_sharing; kind = line }\n", out);
        assertTrue(r.ok(), r.diagnostics().toString());
        assertEquals(1, out.pngs.size());
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(out.pngs.get(0), 4));
        Session.Result bad = run(new Session(1), KSM + "plot ksm_history { x = full_scans; y = pages_sharin }\n", out);
        assertTrue(bad.diagnostics().get(0).message().contains("has no column 'pages_sharin'"));
    }

    @Test
    void sweepConcatenatesWithAColumnPerValue() {
        Collect out = new Collect();
        Session.Result r = run(new Session(1), """
                ksm policy p { pages_to_scan = 100 }
                host hv1 { memory = 1 GiB; ksm = p; thp = never }
                vm a on hv1 { memory = 64 MiB }
                contents a { pages 0 .. 399 = same 7 }
                sweep hv1.ksm.pages_to_scan in [100, 400] {
                  run 100 ms
                  show ksm on hv1
                }
                """, out);
        assertTrue(r.ok(), r.diagnostics().toString());
        Table t = out.tables.get(0);
        assertEquals("sweep", t.name());
        assertEquals("ksm_pages_to_scan", t.column(0).name());
        assertEquals(2, t.rowCount());
        assertEquals(List.of("100", "400"), t.stringColumn(0).asList());
        assertEquals(List.of(100L, 400L), t.longColumn("pages_to_scan").asList());
        assertTrue(t.longColumn("full_scans").get(1) > t.longColumn("full_scans").get(0));
    }

    @Test
    void anInterruptStopsALongRunAtAnEventAndTheSessionStaysUsable() throws Exception {
        Session s = new Session(1);
        Collect out = new Collect();
        assertTrue(run(s, """
                ksm policy p { pages_to_scan = 100; sleep = 1 ms }
                host hv1 { memory = 4 GiB; ksm = p; thp = never }
                vm a on hv1 { memory = 512 MiB }
                contents a { pages 0 .. 99_999 = unique }
                """, out).ok());
        // interrupted once the run is under way (its first progress report), not after a sleep
        // that a loaded machine could outlast before the run begins
        Thread t = new Thread(() -> {
            try {
                if (out.progressed.await(60, java.util.concurrent.TimeUnit.SECONDS)) s.interrupt();
            } catch (InterruptedException e) {
                // the test is over
            }
        });
        t.start();
        Session.Result r = run(s, "run 1000 h", out);
        t.join();
        assertTrue(r.interrupted(), "the run was interrupted");
        assertTrue(r.diagnostics().get(0).message().startsWith("interrupted: at "), r.diagnostics().get(0).message());
        Session.Result after = run(s, "show ksm on hv1\nrun 10 ms\nshow vms", out);
        assertTrue(after.ok(), after.diagnostics().toString());
    }

    @Test
    void aPagetableWhoseBuildFailedIsADiagnosticForEveryQueryOnIt() {
        Session s = new Session(1);
        Collect out = new Collect();
        assertTrue(run(s, """
                host hv1 { memory = 8 GiB }
                image base { footprint = 48 MiB }
                vm small on hv1 { memory = 64 MiB; image = base }
                run 1 ms
                """, out).ok());
        // declared on a running VM, it is built at once, and there is no room for it
        Session.Result built = run(s, "pagetable big in small {\n  map 0x0000_0040_0000 size 32 MiB page 4 KiB\n}\n", out);
        assertFalse(built.ok());
        for (String q : List.of("show pagetable small.big", "show walk small.big 0x400000", "show translate small.big 0x400000")) {
            Session.Result r = run(s, q + "\n", out);
            assertFalse(r.ok(), q);
            assertTrue(r.diagnostics().get(0).message().contains("pagetable 'big' of vm 'small' has no address space"),
                    q + ": " + r.diagnostics());
        }
    }
}
