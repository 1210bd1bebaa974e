package org.kvmsim.sim.hugetlb;

import org.kvmsim.model.ThpMode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mem.HostMemory.Counter;

class ThpTest {
    private static final long MIB = 1L << 20;

    @Test
    void madvisedGuestRamGetsThpOnFirstTouchButNotTheTailRegion() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpSettings s = new ThpSettings();
        ThpMapping m = new ThpMapping(mem, s, (5 * MIB) / 4096, true, 0);
        int f = m.fault(3);
        assertTrue(m.isHuge(3));
        assertEquals(f - 3, m.frameOf(0));
        assertEquals(512, mem.pages(Counter.ANON_HUGE_PAGES));
        m.fault(1100);
        assertFalse(m.isHuge(1100), "the last 1 MiB is not a whole 2 MiB range");
        assertEquals(513, mem.pages(Counter.ANON_PAGES));
        assertEquals(1, m.thpFaultAlloc());
        m.release();
        assertEquals(0, mem.pages(Counter.ANON_PAGES));
        assertEquals(0, mem.pages(Counter.ANON_HUGE_PAGES));
        assertEquals(16384, mem.freePages());
    }

    @Test
    void madviseModeIgnoresUnadvisedMappingsAndNeverIgnoresAll() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpSettings s = new ThpSettings();
        ThpMapping plain = new ThpMapping(mem, s, 1024, false, 0);
        plain.fault(0);
        assertFalse(plain.isHuge(0));
        s.mode = ThpMode.ALWAYS;
        plain.fault(600);
        assertTrue(plain.isHuge(600));
        s.mode = ThpMode.NEVER;
        ThpMapping qemu = new ThpMapping(mem, s, 1024, true, 0);
        qemu.fault(0);
        assertFalse(qemu.isHuge(0));
    }

    @Test
    void fragmentedHostFallsBackTo4KiB() {
        HostMemory mem = new HostMemory(64 * MIB);
        mem.fragment(0, 512);
        ThpMapping m = new ThpMapping(mem, new ThpSettings(), 1024, true, 0);
        assertTrue(m.fault(0) >= 0);
        assertFalse(m.isHuge(0));
        assertEquals(1, m.thpFaultFallback());
        assertEquals(0, mem.pages(Counter.ANON_HUGE_PAGES));
    }

    @Test
    void splitForKsmDropsAnonHugePagesAndReplaceFreesTheOwnFrame() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpMapping m = new ThpMapping(mem, new ThpSettings(), 1024, true, 0);
        int base = m.fault(0);
        long free = mem.freePages();
        int ksm = mem.alloc(0, 0);
        m.replace(7, ksm);
        assertFalse(m.isHuge(7));
        assertEquals(1, m.thpSplit());
        assertEquals(0, mem.pages(Counter.ANON_HUGE_PAGES));
        assertEquals(511, mem.pages(Counter.ANON_PAGES));
        assertEquals(ksm, m.frameOf(7));
        assertEquals(base + 8, m.frameOf(8));
        assertEquals(free, mem.freePages(), "KSM page taken, page 7's own frame given back");
        m.release();
        assertEquals(16384 - 1, mem.freePages(), "the KSM frame is not the mapping's to free");
    }

    @Test
    void khugepagedCollapsesEightRangesPerWakeAndSleepsInsideThePassWhenAllocationFails() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpSettings s = new ThpSettings();
        s.mode = ThpMode.NEVER;
        ThpMapping m = new ThpMapping(mem, s, 20 * 512, true, 0);
        for (int r = 0; r < 20; r++) {
            if (r != 3) {
                m.fault((long) r * 512 + 5);
            }
        }
        assertEquals(19, mem.pages(Counter.ANON_PAGES));
        s.mode = ThpMode.MADVISE;
        Khugepaged k = new Khugepaged(s);
        k.register(m);
        assertEquals(7, k.wake(), "8 ranges scanned, the empty one skipped");
        assertEquals(8, k.wake());
        assertEquals(4, k.wake());
        assertEquals(1, k.fullScans());
        assertEquals(19, k.pagesCollapsed());
        assertEquals(19 * 512, mem.pages(Counter.ANON_PAGES));
        assertEquals(19 * 512, mem.pages(Counter.ANON_HUGE_PAGES));
        assertEquals(m.frameOf(5) + 1, m.frameOf(6));

        HostMemory full = new HostMemory(4 * MIB);
        ThpMapping a = new ThpMapping(full, s, 512, false, 0);
        a.fault(0);
        full.alloc(9, 0);
        s.mode = ThpMode.ALWAYS;
        Khugepaged k2 = new Khugepaged(s);
        k2.register(a);
        assertEquals(Khugepaged.PassEnd.ALLOC_SLEEP, k2.scan(), "the first failure: sleep inside the pass");
        assertEquals(Khugepaged.PassEnd.DONE, k2.scan());
        assertEquals(0, k2.takeCollapsed());
    }

    @Test
    void maxPtesNoneZeroNeedsFullRanges() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpSettings s = new ThpSettings();
        s.maxPtesNone = 0;
        s.mode = ThpMode.NEVER;
        ThpMapping m = new ThpMapping(mem, s, 1024, true, 0);
        for (int i = 0; i < 512; i++) {
            m.fault(i);
        }
        m.fault(600);
        s.mode = ThpMode.MADVISE;
        Khugepaged k = new Khugepaged(s);
        k.register(m);
        assertEquals(1, k.wake());
        assertTrue(m.isHuge(0));
        assertFalse(m.isHuge(600));
    }

    /** A range with up to max_ptes_shared shared KSM pages is collapsed, and the copy drops them. */
    @Test
    void rangesWithUpToMaxPtesSharedSharedPagesCollapseAndDropThem() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpSettings s = new ThpSettings();
        s.mode = ThpMode.NEVER;
        ThpMapping m = new ThpMapping(mem, s, 2 * 512, true, 0);
        int ksm = mem.alloc(0, 0);
        int zero = mem.alloc(0, 0);
        java.util.List<Long> dropped = new java.util.ArrayList<>();
        m.setForeignPages(new ThpMapping.ForeignPages() {
            public boolean isZero(long page) {
                return m.frameOf(page) == zero;
            }

            public boolean isShared(long page) {
                return true;
            }

            public void dropped(long page) {
                dropped.add(page);
            }
        });
        // range 0: 256 shared KSM pages and 10 zero pages; range 1: 257 shared
        for (int i = 0; i < 256; i++) m.replace(i, ksm);
        for (int i = 256; i < 266; i++) m.replace(i, zero);
        for (int i = 0; i < 257; i++) m.replace(512 + i, ksm);
        long anon = mem.pages(Counter.ANON_PAGES);
        s.mode = ThpMode.MADVISE;
        Khugepaged k = new Khugepaged(s);
        k.register(m);
        assertEquals(1, k.wake());
        assertTrue(m.isHuge(0));
        assertFalse(m.isHuge(512), "257 shared pages exceed max_ptes_shared = 256");
        assertEquals(266, dropped.size(), "every KSM and zero page of the range un-merged");
        assertEquals(anon + 512, mem.pages(Counter.ANON_PAGES), "the new THP; the KSM frame is not the mapping's");
        assertEquals(512 + 257, m.presentPages());
    }

    /**
     * Zero PTEs of read faults count toward max_ptes_none (is_zero_pfn()), not as shared pages,
     * and the copy has nothing to un-merge for them; a range the huge zero page maps is PMD-mapped
     * and left alone (SCAN_PMD_MAPPED).
     */
    @Test
    void zeroPagesOfReadFaultsCountAsNoneInACollapse() {
        HostMemory mem = new HostMemory(64 * MIB);
        ThpSettings s = new ThpSettings();
        s.mode = ThpMode.NEVER;
        s.maxPtesNone = 207;
        s.maxPtesShared = 5;
        ThpMapping m = new ThpMapping(mem, s, 3 * 512, true, 0);
        int ksm = mem.alloc(0, 0);
        java.util.List<Long> dropped = new java.util.ArrayList<>();
        m.setForeignPages(new ThpMapping.ForeignPages() {
            public boolean isZero(long page) {
                return false;
            }

            public boolean isShared(long page) {
                return true;
            }

            public void dropped(long page) {
                dropped.add(page);
            }
        });
        // range 0: 300 own pages, 5 shared KSM pages, 100 zero PTEs: 207 none, 5 shared
        for (int i = 0; i < 300; i++) m.fault(i);
        for (int i = 300; i < 305; i++) m.replace(i, ksm);
        for (int i = 305; i < 405; i++) assertEquals(ThpMapping.MAPS_ZERO, m.readFault(i));
        // range 1: 300 own pages, 100 zero PTEs: 212 none
        for (int i = 512; i < 812; i++) m.fault(i);
        for (int i = 812; i < 912; i++) m.readFault(i);
        s.mode = ThpMode.MADVISE;
        // range 2: the huge zero page
        assertEquals(ThpMapping.MAPS_HUGE_ZERO, m.readFault(1024));
        long anon = mem.pages(Counter.ANON_PAGES);
        Khugepaged k = new Khugepaged(s);
        k.register(m);
        assertEquals(1, k.wake());
        assertTrue(m.isHuge(0));
        assertFalse(m.isZeroMapped(305), "the THP holds the zero PTE's page now");
        assertEquals(java.util.List.of(300L, 301L, 302L, 303L, 304L), dropped, "only the KSM pages un-merged");
        assertEquals(anon + 512 - 300, mem.pages(Counter.ANON_PAGES));
        assertFalse(m.isHuge(512), "212 none or zero PTEs exceed max_ptes_none = 207");
        assertTrue(m.isZeroMapped(812));
        assertTrue(m.isHugeZero(1024), "the huge zero PMD is not collapsed");
        assertEquals(512 + 300, m.presentPages());
    }
}
