package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShadowTest {

    private static final long PT_SPAN = 2L << 20;

    /** Touches one page in each of {@code tables} leaf tables, then per round maps a new page in each and reloads CR3. */
    private static long exitsForRounds(Paging paging, int tables, int rounds) {
        Rig r = new Rig(paging);
        for (int t = 0; t < tables; t++) {
            r.map(Rig.GVA + t * PT_SPAN, 4096);
            r.mmu.access(Rig.GVA + t * PT_SPAN, false);
        }
        long before = r.mmu.counters().vmExits();
        for (int round = 1; round <= rounds; round++) {
            for (int t = 0; t < tables; t++) {
                r.map(Rig.GVA + t * PT_SPAN + round * 4096L, 4096);
                r.map(Rig.GVA + t * PT_SPAN + (round + 100) * 4096L, 4096);
            }
            r.mmu.loadCr3(r.space);
        }
        return r.mmu.counters().vmExits() - before;
    }

    @Test
    void shadowExitsGrowWithGuestPageTableWritesEptsDoNot() {
        long shadow1 = exitsForRounds(Paging.SHADOW, 8, 1);
        long shadow4 = exitsForRounds(Paging.SHADOW, 8, 4);
        // each round: one unsync exit per shadowed leaf table (the second write does not exit) + the CR3 load
        assertEquals(8 + 1, shadow1);
        assertEquals(4 * (8 + 1), shadow4);
        assertEquals(0, exitsForRounds(Paging.EPT, 8, 4));
        assertEquals(0, exitsForRounds(Paging.NATIVE, 8, 4));
    }

    @Test
    void unsyncPagesAreResyncedOnCr3Load() {
        Rig r = new Rig(Paging.SHADOW);
        r.map(Rig.GVA, 4096);
        r.mmu.access(Rig.GVA, false);
        r.mmu.resetCounters();
        r.map(Rig.GVA + 4096, 4096);
        r.map(Rig.GVA + 8192, 4096);
        MmuCounters c = r.mmu.counters();
        assertEquals(1, c.unsyncs());
        assertEquals(1, c.ptWriteExits());
        r.mmu.loadCr3(r.space);
        c = r.mmu.counters();
        assertEquals(1, c.resyncedPages());
        assertEquals(1, c.cr3Exits());
        r.map(Rig.GVA + 12288, 4096);
        assertEquals(2, r.mmu.counters().unsyncs(), "write-protected again after the resync");
    }

    @Test
    void remapOfAnUnsyncEntryIsDroppedByInvlpgAndFaultedBackIn() {
        Rig r = new Rig(Paging.SHADOW);
        r.map(Rig.GVA, 4096);
        r.map(Rig.GVA + 4096, 4096);
        r.mmu.access(Rig.GVA, false);
        r.mmu.access(Rig.GVA + 4096, false);
        r.mmu.unmap(r.space, Rig.GVA + 4096);
        long gpa = r.allocData(4096);
        r.mmu.map(r.space, Rig.GVA, gpa, 4096, true);
        MmuCounters c = r.mmu.counters();
        assertEquals(2, c.invlpgExits());
        // the resync finds the guest entry naming another page: the spte goes (FNAME(sync_spte))
        assertEquals(-1L, r.mmu.shadowLookup(r.space, Rig.GVA));
        assertEquals(-1L, r.mmu.shadowLookup(r.space, Rig.GVA + 4096));
        r.mmu.access(Rig.GVA, false);
        assertEquals(c.shadowFaults() + 1, r.mmu.counters().shadowFaults());
        assertEquals(r.host.hpa(gpa), r.mmu.shadowLookup(r.space, Rig.GVA));
    }

    @Test
    void repeatedWritesToAnUpperTableZapItsShadowPage() {
        Rig r = new Rig(Paging.SHADOW);
        r.map(Rig.GVA, 4096);
        r.mmu.access(Rig.GVA, false);
        r.mmu.resetCounters();
        long exits = 0;
        // three new page tables linked into the same shadowed PD, with no fault walking through it
        for (int i = 1; i <= 3; i++) {
            r.map(Rig.GVA + i * PT_SPAN, 4096);
        }
        MmuCounters c = r.mmu.counters();
        assertEquals(3, c.ptWriteEmulations());
        assertEquals(1, c.shadowZaps());
        assertEquals(exits + 3, c.vmExits());
        // the PD is no longer write-protected: a fourth PDE write does not exit
        r.map(Rig.GVA + 4 * PT_SPAN, 4096);
        assertEquals(exits + 3, r.mmu.counters().vmExits());
        // and the zapped subtree is rebuilt on the next fault
        r.mmu.access(Rig.GVA + 4 * PT_SPAN, false);
        assertTrue(r.mmu.shadowLookup(r.space, Rig.GVA + 4 * PT_SPAN) >= 0);
    }

    @Test
    void faultsInBetweenResetTheFloodCounter() {
        Rig r = new Rig(Paging.SHADOW);
        r.map(Rig.GVA, 4096);
        r.mmu.access(Rig.GVA, false);
        r.mmu.resetCounters();
        for (int i = 1; i <= 6; i++) {
            r.map(Rig.GVA + i * PT_SPAN, 4096);
            r.mmu.access(Rig.GVA + i * PT_SPAN, false);
        }
        assertEquals(0, r.mmu.counters().shadowZaps());
        assertEquals(6, r.mmu.counters().ptWriteEmulations());
    }

    @Test
    void guestFaultsUnderShadowExitTwice() {
        Rig r = new Rig(Paging.SHADOW);
        r.mmu.access(Rig.GVA, true);
        MmuCounters c = r.mmu.counters();
        assertEquals(1, c.guestFaults());
        assertEquals(2, c.shadowFaults(), "the #PF intercept that is injected, then the shadow fill");
        Rig e = new Rig(Paging.EPT);
        e.mmu.access(Rig.GVA, true);
        assertEquals(1, e.mmu.counters().guestFaults());
        assertEquals(0, e.mmu.counters().shadowFaults());
        assertTrue(e.mmu.counters().eptViolations() > 0);
    }
}
