package org.kvmsim.sim.ksm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/**
 * `show ksm by vm` through the whole engine: each VM's pages merged (its rmap_items in the stable
 * tree, /proc/PID/ksm_merging_pages, plus its KSM zero pages) and its KSM zero pages, before and
 * after copy-on-write breaks. As in Linux, a write to a KSM page does not change
 * ksm_merging_pages (nor the sysfs pages_sharing) until ksmd visits the page again; a write to
 * the KSM zero page drops ksm_zero_pages at once (ksm_might_unmap_zero_page()).
 */
class KsmByVmTest {

    static final String SCRIPT = """
            ksm policy p { pages_to_scan = 1000; sleep = 20 ms; use_zero_pages = on; smart_scan = off }
            host hv1 { memory = 1 GiB; ksm = p; thp = never }
            vm a on hv1 { memory = 4 MiB; paging = ept }
            vm b like a
            contents a {
              pages 0 .. 99 = same 1
              pages 100 .. 149 = zero
              pages 150 .. 299 = unique
            }
            contents b {
              pages 0 .. 99 = same 1
              pages 100 .. 149 = zero
              pages 150 .. 299 = unique
            }
            run until hv1.ksm.full_scans = 2
            show ksm by vm
            show ksm on hv1
            write a pages 0 .. 9 = same 2
            write a pages 100 .. 109 = same 3
            show ksm by vm
            show ksm on hv1
            run until hv1.ksm.full_scans = 3
            show ksm by vm
            show ksm on hv1
            run until hv1.ksm.full_scans = 4
            show ksm by vm
            show ksm on hv1
            """;

    /** {present, merged, zero} of VM row r. */
    static long[] vm(Table t, int r) {
        return new long[] {t.longColumn("present_pages").getLong(r), t.longColumn("pages_merged").getLong(r),
                t.longColumn("ksm_zero_pages").getLong(r)};
    }

    static void check(Table byVm, Table ksm, long[] a, long[] b, boolean exact) {
        assertEquals(List.of(a[0], a[1], a[2]), List.of(vm(byVm, 0)[0], vm(byVm, 0)[1], vm(byVm, 0)[2]), "vm a");
        assertEquals(List.of(b[0], b[1], b[2]), List.of(vm(byVm, 1)[0], vm(byVm, 1)[1], vm(byVm, 1)[2]), "vm b");
        // the host's saving shared out in proportion to the pages each VM has merged
        long saved = ksm.longColumn("saved_bytes").getLong(0);
        long sum = byVm.longColumn("saved_bytes").getLong(0) + byVm.longColumn("saved_bytes").getLong(1);
        assertTrue(Math.abs(saved - sum) <= 1, "per-VM saved_bytes add up to the host's: " + sum + " vs " + saved);
        assertEquals(Math.round((double) saved * a[1] / (a[1] + b[1])), byVm.longColumn("saved_bytes").getLong(0));
        // the per-VM numbers add up to the host's: zero pages always, stable-tree items as sysfs counts them
        assertEquals(a[2] + b[2], ksm.longColumn("ksm_zero_pages").getLong(0));
        if (exact) {
            assertEquals(a[1] - a[2] + b[1] - b[2],
                    ksm.longColumn("pages_shared").getLong(0) + ksm.longColumn("pages_sharing").getLong(0));
        }
    }

    @Test
    void pagesMergedFollowCopyOnWriteAsLinuxCountsThem() {
        List<Table> t = KsmScriptFixtureTest.run("ksm_by_vm", SCRIPT);
        List<Table> byVm = t.stream().filter(x -> x.name().equals("ksm_by_vm")).toList();
        List<Table> ksm = t.stream().filter(x -> x.name().equals("ksm")).toList();
        assertEquals(4, byVm.size());
        // scan 2: 200 "same 1" pages on one KSM page (100 per VM), 50 zero pages each on the zero page
        check(byVm.get(0), ksm.get(0), new long[] {300, 150, 50}, new long[] {300, 150, 50}, true);
        // a wrote 10 KSM pages and 10 KSM zero pages: zero pages drop at once, merging pages lag
        check(byVm.get(1), ksm.get(1), new long[] {300, 140, 40}, new long[] {300, 150, 50}, true);
        assertEquals(199, ksm.get(1).longColumn("pages_sharing").getLong(0));
        // scan 3: ksmd revisited a's written pages: they left the stable tree (new content: volatile)
        check(byVm.get(2), ksm.get(2), new long[] {300, 130, 40}, new long[] {300, 150, 50}, true);
        assertEquals(189, ksm.get(2).longColumn("pages_sharing").getLong(0));
        // scan 4: the 10 "same 2" and the 10 "same 3" pages merged among themselves
        check(byVm.get(3), ksm.get(3), new long[] {300, 150, 40}, new long[] {300, 150, 50}, true);
        assertEquals(3, ksm.get(3).longColumn("pages_shared").getLong(0));
    }
}
