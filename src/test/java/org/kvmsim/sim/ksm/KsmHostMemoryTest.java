package org.kvmsim.sim.ksm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import tech.tablesaw.api.Table;

/**
 * Host memory follows KSM, as on Linux: a merge frees the sharers' private frames and maps the
 * KSM page's one frame (counted once in AnonPages) or the kernel's zero page (no frame, not
 * anonymous); MemFree rises by pages_sharing + ksm_zero_pages; a THP is split before its pages
 * merge (AnonHugePages drops); merged pages translate to the same host frame; a guest write, run
 * = 2 and `stop` give the frames back.
 */
class KsmHostMemoryTest {

    static final long KB = 4; // kB per page

    static long meminfo(Table t, String field) {
        for (int r = 0; r < t.rowCount(); r++) {
            if (t.stringColumn("field").getString(r).equals(field)) return t.longColumn("value").getLong(r);
        }
        throw new AssertionError("no " + field);
    }

    static long ksm(Table t, String counter) {
        return t.longColumn(counter).getLong(0);
    }

    static List<Table> named(List<Table> all, String name) {
        return all.stream().filter(t -> t.name().equals(name)).toList();
    }

    @Test
    void mergesFreeFramesAndMergedPagesShareOneHostFrame() {
        List<Table> t = KsmScriptFixtureTest.run("ksm_host_memory", """
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
                pagetable t in a { map 0x4000_0000 size 4 KiB page 4 KiB }
                pagetable t in b { map 0x4000_0000 size 4 KiB page 4 KiB }
                run 1 ms
                write a pages 300 .. 300 = same 1
                write b pages 300 .. 300 = same 1
                show meminfo on hv1
                show ksm on hv1
                run until hv1.ksm.full_scans = 3
                show meminfo on hv1
                show ksm on hv1
                show vms
                show translate a.t 0x4000_0000
                show translate b.t 0x4000_0000
                show meminfo on hv1
                write a pages 300 .. 300 = same 2
                show translate a.t 0x4000_0000
                show translate b.t 0x4000_0000
                show meminfo on hv1
                set hv1.ksm.run = 2
                show meminfo on hv1
                show ksm on hv1
                """);
        List<Table> mem = named(t, "meminfo");
        List<Table> k = named(t, "ksm");
        List<Table> tr = named(t, "translate");
        // before: nothing merged (ksmd's first full scan only records checksums)
        assertEquals(0, ksm(k.get(0), "pages_sharing") + ksm(k.get(0), "ksm_zero_pages"));
        // merged: 202 "same 1" pages on one KSM page, 100 zero pages on the zero page
        assertEquals(1, ksm(k.get(1), "pages_shared"));
        assertEquals(201, ksm(k.get(1), "pages_sharing"));
        assertEquals(100, ksm(k.get(1), "ksm_zero_pages"));
        long saved = ksm(k.get(1), "pages_sharing") + ksm(k.get(1), "ksm_zero_pages");
        assertEquals(saved * KB, meminfo(mem.get(1), "MemFree") - meminfo(mem.get(0), "MemFree"));
        // AnonPages: 202 private pages became one KSM page (counted once); zero pages are not anon
        assertEquals(-(201 + 100) * KB, meminfo(mem.get(1), "AnonPages") - meminfo(mem.get(0), "AnonPages"));
        // RSS (MM_ANONPAGES) keeps KSM pages, drops the zero-page mappings
        Table vms = named(t, "vms").get(0);
        assertEquals((301 + guestTablePages(vms) - 50) * 4096L, rss(vms, 0));
        // both guests' page 300 is the one KSM page
        assertEquals("0x12c000", tr.get(0).stringColumn("gpa").getString(0));
        assertEquals(tr.get(0).stringColumn("hpa").getString(0), tr.get(1).stringColumn("hpa").getString(0));
        // a's write breaks copy-on-write: a fresh frame for a, b still on the KSM page
        assertNotEquals(tr.get(2).stringColumn("hpa").getString(0), tr.get(3).stringColumn("hpa").getString(0));
        assertEquals(tr.get(1).stringColumn("hpa").getString(0), tr.get(3).stringColumn("hpa").getString(0));
        assertEquals(-KB, free(mem.get(3)) - free(mem.get(2)));
        assertEquals(KB, meminfo(mem.get(3), "AnonPages") - meminfo(mem.get(2), "AnonPages"));
        // run = 2: every page private again, the KSM page freed: memory as before the merge
        assertEquals(0, ksm(k.get(2), "pages_shared") + ksm(k.get(2), "pages_sharing") + ksm(k.get(2), "ksm_zero_pages"));
        assertEquals(free(mem.get(0)), free(mem.get(4)));
        assertEquals(meminfo(mem.get(0), "AnonPages"), meminfo(mem.get(4), "AnonPages"));
    }

    /** MemFree plus the EPT pages that translations allocated since (not KSM's doing). */
    static long free(Table mem) {
        return meminfo(mem, "MemFree") + meminfo(mem, "SecPageTables");
    }

    static long rss(Table vms, int row) {
        return vms.longColumn(vms.columnNames().stream().filter(c -> c.startsWith("rss")).findFirst().orElseThrow()).getLong(row);
    }

    /** Guest page-table pages of VM a (unique contents, allocated from the top of its RAM). */
    static long guestTablePages(Table vms) {
        return 4; // PML4, PDPT, PD, PT of the one 4 KiB mapping of `pagetable t`
    }

    /**
     * Shadow paging without address spaces allocates no table page, so MemFree counts guest RAM and
     * KSM pages only (an EPT root is allocated at VM start and, today, not returned at stop).
     */
    @Test
    void thpIsSplitBeforeItsPagesMergeAndStopReturnsEveryFrame() {
        for (String decl : List.of("host hv1 { memory = 1 GiB; ksm = p; thp = always }\nvm a on hv1 { memory = 8 MiB; paging = shadow }",
                "host hv1 { memory = 1 GiB; ksm = p; thp = madvise }\nvm a on hv1 { memory = 8 MiB; paging = shadow; backing = thp }")) {
            List<Table> t = KsmScriptFixtureTest.run("ksm_thp", """
                    ksm policy p { pages_to_scan = 5000; sleep = 20 ms; smart_scan = off }
                    %s
                    vm b like a
                    contents a { pages 0 .. 511 = same 1 }
                    contents b { pages 0 .. 511 = same 1 }
                    show meminfo on hv1
                    run 1 ms
                    show meminfo on hv1
                    run until hv1.ksm.full_scans = 3
                    show meminfo on hv1
                    show ksm on hv1
                    stop a
                    show meminfo on hv1
                    stop b
                    show meminfo on hv1
                    """.formatted(decl));
            List<Table> mem = named(t, "meminfo");
            Table k = named(t, "ksm").get(0);
            long total = meminfo(mem.get(0), "MemTotal");
            assertEquals(total, meminfo(mem.get(0), "MemFree"));
            // started: each VM's data region is one THP
            long thpBefore = meminfo(mem.get(1), "AnonHugePages");
            assertEquals(2 * 2048, thpBefore, decl);
            assertEquals(2 * 2048, meminfo(mem.get(1), "AnonPages"));
            // merged by scan 3 (at scan 2 a's page 1 matched page 0 in a's own THP: that split
            // fails, ksmd splits the THP unmerged, mm/ksm.c cmp_and_merge_page(); page 1 merges
            // at its next visit): 1024 pages on 4 KSM pages (max_page_sharing 256: a chain of 4 dups, a frame
            // each); the two THPs holding them were split
            assertEquals(4, ksm(k, "pages_shared"));
            assertEquals(1020, ksm(k, "pages_sharing"));
            assertEquals(4, ksm(k, "stable_node_dups"));
            assertEquals(1020 * KB, meminfo(mem.get(2), "MemFree") - meminfo(mem.get(1), "MemFree"), decl);
            assertEquals(-1020 * KB, meminfo(mem.get(2), "AnonPages") - meminfo(mem.get(1), "AnonPages"));
            assertEquals(thpBefore - 2 * 2048, meminfo(mem.get(2), "AnonHugePages"));
            // a stops: its frames go; KSM pages b still maps stay (AnonPages counts just them)
            long kpages = meminfo(mem.get(3), "AnonPages") / KB;
            assertEquals(true, kpages >= 1 && kpages <= 4, "KSM pages left: " + kpages);
            // and b's own page tables: PGD, PUD, the PMD page of its 1 GiB, the PTE page of its region
            assertEquals(4 * KB, meminfo(mem.get(3), "PageTables"));
            assertEquals(total - kpages * KB - 4 * KB, meminfo(mem.get(3), "MemFree"));
            assertEquals(0, meminfo(mem.get(4), "PageTables"));
            // b stops: the KSM page's frame goes with its last mapping
            assertEquals(total, meminfo(mem.get(4), "MemFree"));
            assertEquals(0, meminfo(mem.get(4), "AnonPages"));
            assertEquals(0, meminfo(mem.get(4), "AnonHugePages"));
        }
    }
}
