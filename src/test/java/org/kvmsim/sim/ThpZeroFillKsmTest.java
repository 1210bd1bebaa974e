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
        // two THPs (pages 0-511, 512-1023) of 1022 zero pages, all scanned at first. Page 2
        // matches page 1 in the unstable tree, in the same THP: the split fails and ksmd splits
        // THP 0 without merging (mm/ksm.c cmp_and_merge_page()); Linux 6.12+ maps its zero-filled
        // subpages to the zero page (neither present nor scanned again; page 1, held in the
        // unstable tree, stays present here: docs/model.md, section 11). Page 513 then matches
        // page 1, in another THP: both merge, splitting THP 1 likewise. So 2 zero pages stay, in
        // one KSM page with 1 sharer; the two written pages stay unshared
        assertEquals(1, ksm.longColumn("pages_shared").get(0));
        assertEquals(1, ksm.longColumn("pages_sharing").get(0));
        assertEquals(2, ksm.longColumn("pages_unshared").get(0));
        Table mem = t.get(1);
        long anonHuge = -1;
        for (int r = 0; r < mem.rowCount(); r++) {
            if (mem.stringColumn("field").get(r).equals("AnonHugePages")) anonHuge = ((Number) mem.column("value").get(r)).longValue();
        }
        assertEquals(0, anonHuge, "merging split both THPs");
    }
}
