package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;

/**
 * KVM's limit on a VM's shadow pages (n_max_mmu_pages) and make_mmu_pages_available()'s
 * recycling of the oldest: a sparse layout needing more shadow pages than the limit keeps the
 * shadow tables at the limit and pays for it in shadow faults.
 */
class ShadowPageLimitTest {

    private static final long SPAN_2M = 2L << 20;
    private static final int WINDOWS = 200;

    /** One 4 KiB page in each of {@link #WINDOWS} 2 MiB windows: a leaf shadow page each. */
    private static Rig sparse(long limit) {
        Rig r = new Rig(Paging.SHADOW);
        if (limit > 0) {
            r.mmu.setShadowPageLimit(limit);
        }
        for (int w = 0; w < WINDOWS; w++) {
            r.map(Rig.GVA + w * SPAN_2M, 4096);
        }
        return r;
    }

    private static long touchAll(Rig r) {
        long before = r.mmu.counters().shadowFaults();
        for (int w = 0; w < WINDOWS; w++) {
            r.mmu.access(Rig.GVA + w * SPAN_2M, false);
        }
        return r.mmu.counters().shadowFaults() - before;
    }

    private static long shadowPages(Rig r) {
        return r.mmu.secondaryTableBytes() / 4096;
    }

    @Test
    void kvmsDefaultLimit() {
        assertEquals(5242, Mmu.shadowPageLimit(1L << 30), "1 GiB: 262,144 pages / 50");
        assertEquals(64, Mmu.shadowPageLimit(1L << 20), "at least KVM_MIN_ALLOC_MMU_PAGES");
    }

    @Test
    void withoutALimitASecondPassTakesNoFault() {
        Rig r = sparse(0);
        assertEquals(WINDOWS, touchAll(r));
        assertEquals(0, touchAll(r));
        // root, PDPT, PD and a leaf page per window
        assertEquals(3 + WINDOWS, shadowPages(r));
    }

    @Test
    void theOldestLeafPagesAreRecycledAtTheLimit() {
        Rig r = sparse(64);
        assertEquals(WINDOWS, touchAll(r));
        assertTrue(shadowPages(r) <= 64, "shadow pages " + shadowPages(r));
        MmuCounters c = r.mmu.counters();
        assertTrue(c.shadowZaps() >= WINDOWS - 64, "zaps " + c.shadowZaps());
        r.mmu.checkShadowRmaps();
        // FIFO order: every window's leaf page was recycled before the pass came back to it
        assertEquals(WINDOWS, touchAll(r));
        assertTrue(shadowPages(r) <= 64);
        r.mmu.checkShadowRmaps();
    }

    @Test
    void recyclingFlushesTheVmsTlbs() {
        Rig r = sparse(64);
        touchAll(r);
        assertTrue(r.mmu.vcpuStats(0).remoteFlushes() > 0);
    }
}
