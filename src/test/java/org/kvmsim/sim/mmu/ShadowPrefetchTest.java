package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;

/**
 * KVM's spte prefetch (FNAME(pte_prefetch), __direct_pte_prefetch()): a 4 KiB shadow fault fills
 * the rest of its aligned block of 8 when the guest maps those pages and the host has them.
 */
class ShadowPrefetchTest {

    private static Rig rig(int hostShift) {
        return new Rig(Paging.SHADOW, CpuModel.skylake(), 4, 4, hostShift);
    }

    /** Maps {@code pages} 4 KiB pages from {@link Rig#GVA} to consecutive frames from {@link Rig#DATA_GPA}. */
    private static void mapPages(Rig r, int pages) {
        for (int p = 0; p < pages; p++) {
            r.map(Rig.GVA + p * 4096L, 4096);
        }
    }

    private static long touchPages(Rig r, long gva, int pages) {
        long before = r.mmu.counters().shadowFaults();
        for (int p = 0; p < pages; p++) {
            r.mmu.access(gva + p * 4096L, false);
        }
        return r.mmu.counters().shadowFaults() - before;
    }

    @Test
    void oneFaultPerBlockOfEightWhenHostPagesArePresent() {
        Rig r = rig(12);
        mapPages(r, 64);
        r.host.prefault(Rig.DATA_GPA, 64 * 4096L);
        assertEquals(8, touchPages(r, Rig.GVA, 64));
        assertEquals(56, r.mmu.prefetchedSptes());
        r.mmu.checkShadowRmaps();
        // a prefetched spte translates the right page
        assertEquals((1L << 34) + Rig.DATA_GPA + 5 * 4096L, r.mmu.shadowLookup(r.space, Rig.GVA + 5 * 4096L));
    }

    @Test
    void nothingIsPrefetchedWhileHostPagesAreAbsent() {
        Rig r = rig(12);
        mapPages(r, 64);
        // kvm_prefetch_pages() never faults a host page in: each first touch faults alone
        assertEquals(64, touchPages(r, Rig.GVA, 64));
        assertEquals(0, r.mmu.prefetchedSptes());
    }

    @Test
    void aNonPresentGuestEntryEndsThePrefetch() {
        Rig r = rig(12);
        for (int p : new int[] {0, 1, 3, 4, 5, 6, 7}) {
            r.mmu.map(r.space, Rig.GVA + p * 4096L, Rig.DATA_GPA + p * 4096L, 4096, true);
        }
        r.host.prefault(Rig.DATA_GPA, 8 * 4096L);
        r.mmu.access(Rig.GVA + 5 * 4096L, false);
        // slot 0 and 1 are prefetched, slot 2 is not present and ends it (FNAME(prefetch_invalid_gpte))
        assertEquals(2, r.mmu.prefetchedSptes());
        assertTrue(r.mmu.shadowLookup(r.space, Rig.GVA + 4096L) >= 0);
        assertEquals(-1L, r.mmu.shadowLookup(r.space, Rig.GVA + 3 * 4096L));
        r.mmu.checkShadowRmaps();
    }

    @Test
    void prefetchedSptesAreZappedThroughTheRmap() {
        Rig r = rig(12);
        mapPages(r, 8);
        r.host.prefault(Rig.DATA_GPA, 8 * 4096L);
        r.mmu.access(Rig.GVA, false);
        long gva = Rig.GVA + 6 * 4096L;
        assertTrue(r.mmu.shadowLookup(r.space, gva) >= 0);
        r.mmu.invalidateHostPage(Rig.DATA_GPA + 6 * 4096L);
        assertEquals(-1L, r.mmu.shadowLookup(r.space, gva));
        r.mmu.checkShadowRmaps();
    }

    @Test
    void directPagesUnderAGuestHugePagePrefetchToo() {
        Rig r = rig(12);
        r.map(Rig.GVA, 2L << 20);
        r.host.prefault(Rig.DATA_GPA, 2L << 20);
        assertEquals(512 / 8, touchPages(r, Rig.GVA, 512));
        r.mmu.checkShadowRmaps();
        Rig cold = rig(12);
        cold.map(Rig.GVA, 2L << 20);
        assertEquals(512, touchPages(cold, Rig.GVA, 512));
    }
}
