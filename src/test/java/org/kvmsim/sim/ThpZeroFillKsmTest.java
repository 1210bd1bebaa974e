package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.ScriptRun;
import tech.tablesaw.api.Table;

/**
 * A THP fault zeroes all 512 pages (clear_huge_page()): the pages the guest never wrote are
 * present zero pages, which ksmd scans and merges (mm/ksm.c sees any present anonymous page), and
 * merging one splits the THP. This is what fills the scan of real guests under THP madvise.
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
        // two THPs (pages 0-511, 512-1023): 1022 zero pages, one KSM page and 1021 sharers in 4
        // dups of at most 256 (max_page_sharing); the two written pages stay unshared
        assertEquals(4, ksm.longColumn("pages_shared").get(0));
        assertEquals(1022 - 4, ksm.longColumn("pages_sharing").get(0));
        assertEquals(2, ksm.longColumn("pages_unshared").get(0));
        Table mem = t.get(1);
        long anonHuge = -1;
        for (int r = 0; r < mem.rowCount(); r++) {
            if (mem.stringColumn("field").get(r).equals("AnonHugePages")) anonHuge = ((Number) mem.column("value").get(r)).longValue();
        }
        assertEquals(0, anonHuge, "merging split both THPs");
    }
}
