package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.pages.DumpImport;
import org.kvmsim.pages.PageFile;
import org.kvmsim.pages.RecorderCase;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * VMs booted from a page file (RecorderCase: 2 guests, every RAM block, THP, absent and
 * zero-page pages): they hold what the real guests held, VM i takes guest i mod 2, and ksmd's
 * counters follow from that, page for page.
 */
class ImageFromPagesTest {

    @TempDir
    Path dir;

    private Path pages() throws Exception {
        Path c = RecorderCase.write(dir.resolve("case"));
        Path out = dir.resolve("real.pages");
        PageFile.write(DumpImport.read(List.of(new DumpImport.Input(c, null, Double.NaN)), new ArrayList<>()), out);
        return out;
    }

    private Session.Result run(String text, List<Table> tables, StringBuilder printed) throws Exception {
        Path script = dir.resolve("lab.kvm");
        Files.writeString(script, text);
        Output out = new Output() {
            public void print(String t) {
                printed.append(t).append('\n');
            }

            public void table(Table t) {
                tables.add(t);
            }

            public void chart(String n, byte[] png, String svg) {}
        };
        return new Session(1).execute(new SourceFile(script.toString(), text), out);
    }

    static final String HEAD = """
            ksm policy p { pages_to_scan = 100; sleep = 20 ms; smart_scan = off }
            host hv1 { memory = 1 GiB; ksm = p; thp = never }
            image real { from = "real.pages" }
            vm a on hv1 { memory = 4 MiB; image = real }
            vm b like a
            vm c like a
            """;

    @Test
    void threeVmsOfATwoGuestImageMergeAsTheirPagesSay() throws Exception {
        pages();
        List<Table> t = new ArrayList<>();
        Session.Result r = run(HEAD + "run until hv1.ksm.full_scans = 3\nshow ksm on hv1\nshow vms\n", t, new StringBuilder());
        assertTrue(r.ok(), r.diagnostics().toString());
        Table ksm = t.get(0);
        // per VM present: RAM pages 0-899 and 3 + 2 pages of the BIOS and ACPI blocks; page 901
        // maps the zero page and is not scanned. Shared by all three: 300 + 188 RAM pages, 2 of
        // the BIOS, 2 of ACPI (492 KSM pages, 2 sharers each); a and c (both guest 0) share
        // their 100 own pages; b's 100 stay unshared; zero pages: 3 x (212 + 100 + 1) = 939
        // mappings of one content, in 4 dups of at most 256 (max_page_sharing) under a chain.
        assertEquals(492 + 100 + 4, ksm.longColumn("pages_shared").get(0));
        assertEquals(984 + 100 + 935, ksm.longColumn("pages_sharing").get(0));
        assertEquals(100, ksm.longColumn("pages_unshared").get(0));
        assertEquals(0, ksm.longColumn("pages_volatile").get(0));
        assertEquals(1, ksm.longColumn("stable_node_chains").get(0));
    }

    @Test
    void aChosenDumpAndObservedChangesKeepPagesVolatile() throws Exception {
        pages();
        List<Table> t = new ArrayList<>();
        // page 700 of each guest changed once in 20 s: with dumps 20 s apart it changes every 20 s
        Session.Result r = run(HEAD.replace("from = \"real.pages\"", "from = \"real.pages\"; dump = \"early\"")
                + "run 25 s\nshow ksm on hv1\n", t, new StringBuilder());
        assertTrue(r.ok(), r.diagnostics().toString());
        Table ksm = t.get(0);
        // early dumps: page 700 is still each guest's own 5700/6700 content (a and c share it),
        // until it changes at 20 s in every VM: after that it is unique in each, a and c lose
        // one shared page and b's unshared count is unchanged
        assertEquals(492 + 99 + 4, ksm.longColumn("pages_shared").get(0));
    }

    @Test
    void aMissingOrBadPageFileIsAnErrorAtTheAttribute() throws Exception {
        StringBuilder printed = new StringBuilder();
        Session.Result r = run(HEAD, new ArrayList<>(), printed);
        assertFalse(r.ok());
        String d = r.diagnostics().toString();
        assertTrue(d.contains("lab.kvm:3:21") && d.contains("no page file 'real.pages'"), d);
        Files.writeString(dir.resolve("real.pages"), "not a page file");
        d = run(HEAD, new ArrayList<>(), printed).diagnostics().toString();
        assertTrue(d.contains("lab.kvm:3:21") && d.contains("bad page file: ") && d.contains("offset 0: not a kvmsim page file"), d);
        pages();
        d = run(HEAD.replace("\"real.pages\"", "\"real.pages\"; dump = \"noon\"; shared = 10%"), new ArrayList<>(), printed)
                .diagnostics().toString();
        assertTrue(d.contains("an image from a page file takes no 'shared'"), d);
        d = run(HEAD.replace("\"real.pages\"", "\"real.pages\"; dump = \"noon\""), new ArrayList<>(), printed).diagnostics().toString();
        assertTrue(d.contains("has no dump 'noon'") && d.contains("early, late"), d);
        d = run(HEAD.replace("memory = 4 MiB", "memory = 2 MiB"), new ArrayList<>(), printed).diagnostics().toString();
        assertTrue(d.contains("was dumped from guests of 4 MiB of RAM, more than the VM's memory (2 MiB)"), d);
    }
}
