package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.ScriptRun;
import tech.tablesaw.api.Table;

/**
 * A THP fault zeroes all 512 pages (clear_huge_page()): the pages the guest never wrote are
 * present zero pages, which ksmd scans (mm/ksm.c sees any present anonymous page); merging one
 * splits the THP, and the split maps the other zero-filled subpages to the zero page (Linux
 * 6.12+). This is what real guests under THP madvise do (fixtures/realguest/thp2).
 */
class ThpZeroFillKsmTest {

    @Test
    void pagesAThpFaultZeroedAreScannedAndMerged() {
        List<Table> t = ScriptRun.tables("thpzero", """
                ksm policy k { pages_to_scan = 1000; sleep = 20 ms; smart_scan = off }
                host hv { memory = 1 GiB; thp = madvise; ksm = k }
                vm v on hv { memory = 4 MiB; backing = thp }
                contents v {
                  pages 0 .. 0 = unique
                  pages 512 .. 512 = unique
                }
                run until hv.ksm.full_scans = 3
                show ksm on hv
                show meminfo on hv
                """);
        Table ksm = t.get(0);
        // two THPs (pages 0-511, 512-1023) of 1022 zero pages, all scanned at first. The first
        // merge (page 2 with page 1, from the unstable tree) splits THP 0, and Linux 6.12+ maps
        // its other zero-filled subpages to the zero page (neither present nor scanned again);
        // the first merge into THP 1's (page 513) splits it likewise: 3 zero pages stay, in
        // one KSM page with 2 sharers; the two written pages stay unshared
        assertEquals(1, ksm.longColumn("pages_shared").get(0));
        assertEquals(2, ksm.longColumn("pages_sharing").get(0));
        assertEquals(2, ksm.longColumn("pages_unshared").get(0));
        Table mem = t.get(1);
        long anonHuge = -1;
        for (int r = 0; r < mem.rowCount(); r++) {
            if (mem.stringColumn("field").get(r).equals("AnonHugePages")) anonHuge = ((Number) mem.column("value").get(r)).longValue();
        }
        assertEquals(0, anonHuge, "merging split both THPs");
    }
}
