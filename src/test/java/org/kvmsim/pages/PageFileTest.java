package org.kvmsim.pages;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The page file: ELF cores, raw dumps and recorder folders in; the same image, byte for byte, out. */
class PageFileTest {

    @TempDir
    Path dir;

    @Test
    void rawDumpsOfTwoGuestsShareTheirCommonPages() throws Exception {
        Files.write(dir.resolve("a.raw"), Dumps.pages(1, 2, 0, 7, 8));
        Files.write(dir.resolve("b.raw"), Dumps.pages(1, 2, 0, 9, 0));
        List<String> notes = new ArrayList<>();
        PageImage img = DumpImport.read(List.of(new DumpImport.Input(dir.resolve("a.raw"), null, Double.NaN),
                new DumpImport.Input(dir.resolve("b.raw"), null, Double.NaN)), notes);
        assertEquals(2, img.guests().size());
        int[] a = img.dumps().get(0).codes()[0], b = img.dumps().get(1).codes()[0];
        assertArrayEquals(new int[] {3, 4, PageImage.ZERO, 5, 6}, a);
        assertArrayEquals(new int[] {3, 4, PageImage.ZERO, 7, PageImage.ZERO}, b);
        assertEquals(5, img.contents());
        assertTrue(notes.get(0).contains("cannot tell held zero pages"), notes.toString());
    }

    @Test
    void writesTheSameBytesTwiceAndReadsBackWhatItWrote() throws Exception {
        Files.write(dir.resolve("a.raw"), Dumps.pages(1, 2, 0, 7, 8, 1, 1));
        PageImage img = DumpImport.read(List.of(new DumpImport.Input(dir.resolve("a.raw"), "vm", 10)), new ArrayList<>());
        PageFile.write(img, dir.resolve("x.pages"));
        PageFile.write(DumpImport.read(List.of(new DumpImport.Input(dir.resolve("a.raw"), "vm", 10)), new ArrayList<>()),
                dir.resolve("y.pages"));
        assertArrayEquals(Files.readAllBytes(dir.resolve("x.pages")), Files.readAllBytes(dir.resolve("y.pages")));
        byte[] head = Files.readAllBytes(dir.resolve("x.pages"));
        assertEquals("KVMSIMPG", new String(head, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
        assertEquals(PageFile.VERSION, java.nio.ByteBuffer.wrap(head, 8, 4).getInt());
        PageImage back = PageFile.read(dir.resolve("x.pages"));
        assertArrayEquals(img.dumps().get(0).codes()[0], back.dumps().get(0).codes()[0]);
        assertEquals("vm", back.guests().get(0));
        assertEquals(10.0, back.dumps().get(0).seconds());
        assertEquals(img.contents(), back.contents());
        assertEquals("pc.ram", back.blocks().get(0).name());
    }

    @Test
    void anElfCoreMapsRamAboveFourGibAfterLowRamAndLeavesRomAliasesOut() throws Exception {
        // low RAM 0-0xa0000 and 1 MiB-2 MiB, an option ROM alias at 0xc0000, RAM at 4 GiB
        Dumps.elf(dir.resolve("core"), List.of(
                new Dumps.Segment(0, new int[160]),
                new Dumps.Segment(0xc0000, new int[] {50, 51}),
                new Dumps.Segment(0x100000, fill(256, 100)),
                new Dumps.Segment(1L << 32, new int[] {1, 2, 0, 3})));
        List<String> notes = new ArrayList<>();
        PageImage img = DumpImport.read(List.of(new DumpImport.Input(dir.resolve("core"), null, Double.NaN)), notes);
        PageImage.Block ram = img.blocks().get(0);
        // lowmem = 2 MiB, so RAM is 2 MiB + 4 pages; the gap under 1 MiB reads as not present
        assertEquals(512 + 4, ram.pages());
        int[] c = img.dumps().get(0).codes()[0];
        assertEquals(PageImage.ZERO, c[0]);
        assertEquals(PageImage.ABSENT, c[0xc0]);
        assertEquals(c[256], c[256 + 1] - 1);
        assertEquals(c[512], img.dumps().get(0).codes()[0][512]);
        assertEquals(PageImage.ZERO, c[514]);
        assertTrue(notes.stream().anyMatch(n -> n.contains("1 ROM segment")), notes.toString());
        long[] high = ram.gpaRanges().get(2);
        assertArrayEquals(new long[] {1L << 32, 2L << 20, 4 * 4096}, high);
    }

    @Test
    void aTruncatedElfCoreSaysWhereItEnds() throws Exception {
        Dumps.elf(dir.resolve("core"), List.of(new Dumps.Segment(0x100000, fill(8, 1))));
        byte[] all = Files.readAllBytes(dir.resolve("core"));
        Files.write(dir.resolve("short"), java.util.Arrays.copyOf(all, all.length - 4096));
        BadDump b = assertThrows(BadDump.class, () -> DumpImport.read(
                List.of(new DumpImport.Input(dir.resolve("short"), null, Double.NaN)), new ArrayList<>()));
        assertTrue(b.render().startsWith(dir.resolve("short") + ": offset 64" + ": segment at gpa 0x100000 lies past the end")
                || b.render().contains("offset"), b.render());
        assertTrue(b.render().contains("truncated core"), b.render());
    }

    @Test
    void aRawDumpOfPartPagesIsRefusedAtTheFirstByteOfThePartPage() throws Exception {
        Files.write(dir.resolve("odd.raw"), new byte[4096 + 100]);
        BadDump b = assertThrows(BadDump.class, () -> DumpImport.read(
                List.of(new DumpImport.Input(dir.resolve("odd.raw"), null, Double.NaN)), new ArrayList<>()));
        assertEquals(dir.resolve("odd.raw") + ": offset 4096: a raw dump must be a whole number of 4 KiB pages (4196 bytes);"
                + " ELF cores start with 0x7f 'ELF'", b.render());
    }

    @Test
    void aForeignOrDamagedPageFileIsRefused() throws Exception {
        Files.write(dir.resolve("no.pages"), "hello world, not pages".getBytes());
        BadDump b = assertThrows(BadDump.class, () -> PageFile.read(dir.resolve("no.pages")));
        assertTrue(b.render().startsWith(dir.resolve("no.pages") + ": offset 0: not a kvmsim page file"), b.render());
        Files.write(dir.resolve("a.raw"), Dumps.pages(1, 2, 3));
        PageFile.write(DumpImport.read(List.of(new DumpImport.Input(dir.resolve("a.raw"), null, Double.NaN)), new ArrayList<>()),
                dir.resolve("ok.pages"));
        byte[] ok = Files.readAllBytes(dir.resolve("ok.pages"));
        Files.write(dir.resolve("cut.pages"), java.util.Arrays.copyOf(ok, ok.length - 10));
        BadDump cut = assertThrows(BadDump.class, () -> PageFile.read(dir.resolve("cut.pages")));
        assertTrue(cut.getMessage().contains("truncated") || cut.getMessage().contains("damaged"), cut.render());
        byte[] v2 = ok.clone();
        v2[11] = 2;
        Files.write(dir.resolve("v2.pages"), v2);
        assertEquals(dir.resolve("v2.pages") + ": offset 8: page file version 2; this kvmsim reads version 1",
                assertThrows(BadDump.class, () -> PageFile.read(dir.resolve("v2.pages"))).render());
    }

    @Test
    void aRecorderCaseKeepsPresenceZeroPageMappingsThpAndEveryBlock() throws Exception {
        Path c = RecorderCase.write(dir.resolve("case"));
        PageImage img = DumpImport.read(List.of(new DumpImport.Input(c, null, Double.NaN)), new ArrayList<>());
        assertEquals(List.of("pc.ram", "pc.bios", "/rom@etc/acpi/tables"), img.blocks().stream().map(PageImage.Block::name).toList());
        assertEquals(2, img.guests().size());
        assertEquals(4, img.dumps().size());
        PageImage.Dump g0 = img.latest(0);
        assertEquals("late", g0.tag());
        assertEquals(PageImage.ABSENT, g0.codes()[0][RecorderCase.ABSENT_PAGE]);
        assertEquals(PageImage.ZERO_PAGE_MAPPED, g0.codes()[0][RecorderCase.ZERO_MAPPED_PAGE]);
        assertEquals(PageImage.THP, g0.flags()[0][0]);
        assertEquals(img.latest(1).codes()[1][0], g0.codes()[1][0]); // the BIOS is the same in both guests
        PageImage.Changes ch = img.changes(0, 0);
        assertEquals(20.0, ch.seconds());
        assertEquals(1, ch.count()[RecorderCase.CHANGING_PAGE]);
        assertEquals(0, ch.count()[RecorderCase.CHANGING_PAGE + 1]);
    }

    @Test
    void aBadPagemapSaysWhichPage() throws Exception {
        Path c = RecorderCase.write(dir.resolve("case"));
        Path pm = c.resolve("g1-late/pc.ram.pagemap");
        byte[] m = Files.readAllBytes(pm);
        m[7] = 9;
        Files.write(pm, m);
        BadDump b = assertThrows(BadDump.class, () -> DumpImport.read(List.of(new DumpImport.Input(c, null, Double.NaN)),
                new ArrayList<>()));
        assertEquals(pm + ": offset 7: page state 0x9 (0 not present, 1 present, 2 zero page, | 0x10 THP, | 0x20 KSM)", b.render());
    }

    static int[] fill(int n, int from) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = from + i;
        return t;
    }

    /** `kvmsim image import`: a summary per dump and the file on success; FILE: offset N: why, exit 1, on a bad dump. */
    @Test
    void theImportCommandWritesThePageFileOrSaysWhereTheDumpIsBad() throws Exception {
        Files.write(dir.resolve("a.raw"), Dumps.pages(1, 2, 0));
        java.io.StringWriter out = new java.io.StringWriter(), err = new java.io.StringWriter();
        int rc = org.kvmsim.cli.Main.run(new String[] {"image", "import", "web=" + dir.resolve("a.raw") + "@30",
                "--out", dir.resolve("a.pages").toString()}, new java.io.PrintWriter(out), new java.io.PrintWriter(err));
        assertEquals(0, rc, err.toString());
        assertTrue(out.toString().contains("web                      a.raw            30.0          3          1          0        0"),
                out.toString());
        assertTrue(out.toString().contains("2 distinct non-zero contents"), out.toString());
        assertEquals(30.0, PageFile.read(dir.resolve("a.pages")).dumps().get(0).seconds());
        Files.write(dir.resolve("odd.raw"), new byte[100]);
        err = new java.io.StringWriter();
        rc = org.kvmsim.cli.Main.run(new String[] {"image", "import", dir.resolve("odd.raw").toString(), "--out",
                dir.resolve("b.pages").toString()}, new java.io.PrintWriter(new java.io.StringWriter()), new java.io.PrintWriter(err));
        assertEquals(1, rc);
        assertTrue(err.toString().startsWith(dir.resolve("odd.raw") + ": offset 0: a raw dump must be a whole number"), err.toString());
        assertTrue(!Files.exists(dir.resolve("b.pages")), "nothing is written for a bad dump");
    }
}
