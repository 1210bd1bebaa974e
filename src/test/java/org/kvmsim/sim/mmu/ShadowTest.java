package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;
import org.kvmsim.sim.view.TableStats;

class ShadowTest {

    private static final long PT_SPAN = 2L << 20;

    /**
     * Touches one page in each of {@code tables} leaf tables, then per round maps a new page in
     * each and reloads CR3. The guest uses no PCIDs (nopcid), so every load flushes and resyncs.
     */
    private static long exitsForRounds(Paging paging, int tables, int rounds) {
        Rig r = new Rig(paging);
        r.mmu.setGuestPcid(false);
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
        r.mmu.setGuestPcid(false);
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

    @Test
    void aHostFrameChangeDropsTheSptesThatTranslateItAndFlushes() {
        Rig r = new Rig(Paging.SHADOW);
        long other = Rig.GVA;
        long merged = Rig.GVA + 4096;
        r.map(other, 4096);
        r.map(merged, 4096);
        long gpa = r.mmu.guestPhysical(r.space, merged).orElseThrow();
        r.mmu.access(other, false);
        r.mmu.access(merged, false);
        r.mmu.resetCounters();
        // KSM merges the page behind `merged` (or breaks its copy-on-write): KVM's MMU notifier
        r.mmu.invalidateHostPage(gpa);
        r.mmu.checkShadowRmaps();
        assertEquals(-1L, r.mmu.shadowLookup(r.space, merged));
        assertEquals(r.host.hpa(r.mmu.guestPhysical(r.space, other).orElseThrow()), r.mmu.shadowLookup(r.space, other));
        // the TLBs were flushed: the untouched page walks again (no fault), the changed one faults
        r.mmu.access(other, false);
        MmuCounters c = r.mmu.counters();
        assertEquals(1, c.stlbMisses());
        assertEquals(0, c.shadowFaults());
        r.mmu.access(merged, false);
        c = r.mmu.counters();
        assertEquals(1, c.shadowFaults());
        assertEquals(1, c.vmExits());
        assertEquals(0, c.guestFaults());
        assertEquals(r.host.hpa(gpa), r.mmu.shadowLookup(r.space, merged));
    }

    @Test
    void aHostFrameChangeNoSpteTranslatesChangesNothing() {
        Rig r = new Rig(Paging.SHADOW);
        r.map(Rig.GVA, 4096);
        r.map(Rig.GVA + 4096, 4096);
        r.mmu.access(Rig.GVA, false);
        r.mmu.resetCounters();
        // mapped by the guest but never accessed: no spte, so no zap and no flush
        r.mmu.invalidateHostPage(r.mmu.guestPhysical(r.space, Rig.GVA + 4096).orElseThrow());
        r.mmu.invalidateHostPage(0x7000_0000L);
        r.mmu.access(Rig.GVA, false);
        assertEquals(0, r.mmu.counters().l1DtlbMisses());
    }

    @Test
    void everySpteOfAnAliasedPageIsDropped() {
        Rig r = new Rig(Paging.SHADOW);
        long gpa = r.allocData(4096);
        long[] gvas = {Rig.GVA, Rig.GVA + 4096, Rig.GVA + PT_SPAN + 8192};
        for (long gva : gvas) {
            r.mmu.map(r.space, gva, gpa, 4096, true);
            r.mmu.access(gva, false);
        }
        r.mmu.checkShadowRmaps();
        r.mmu.invalidateHostPage(gpa);
        r.mmu.checkShadowRmaps();
        for (long gva : gvas) {
            assertEquals(-1L, r.mmu.shadowLookup(r.space, gva));
        }
    }

    @Test
    void aHostChangeInsideALargeSpteDropsIt() {
        // guest 2 MiB pages over 2 MiB host pages: one large spte each
        Rig r = new Rig(Paging.SHADOW, CpuModel.skylake(), 4, 4, 21);
        r.map(Rig.GVA, 2L << 20);
        r.map(Rig.GVA + (2L << 20), 2L << 20);
        r.mmu.access(Rig.GVA + 12345, false);
        r.mmu.access(Rig.GVA + (2L << 20), false);
        long gpa = r.mmu.guestPhysical(r.space, Rig.GVA).orElseThrow();
        r.mmu.invalidateHostRange(gpa, 2L << 20);
        assertEquals(-1L, r.mmu.shadowLookup(r.space, Rig.GVA + 12345));
        assertTrue(r.mmu.shadowLookup(r.space, Rig.GVA + (2L << 20)) >= 0);
        r.mmu.resetCounters();
        r.mmu.access(Rig.GVA + 12345, false);
        assertEquals(1, r.mmu.counters().shadowFaults());
        // one page inside the large frame is enough (a KSM merge splits the THP first)
        r.mmu.invalidateHostPage(r.mmu.guestPhysical(r.space, Rig.GVA + (2L << 20) + 7 * 4096).orElseThrow());
        assertEquals(-1L, r.mmu.shadowLookup(r.space, Rig.GVA + (2L << 20)));
        r.mmu.checkShadowRmaps();
    }

    @Test
    void anUnsyncSpteIsFoundUnderTheGfnItStillTranslates() {
        Rig r = new Rig(Paging.SHADOW);
        r.map(Rig.GVA, 4096);
        r.map(Rig.GVA + 4096, 4096);
        r.mmu.access(Rig.GVA, false);
        long oldGpa = r.mmu.guestPhysical(r.space, Rig.GVA).orElseThrow();
        // a write to another entry of the same leaf table unsyncs it; then the guest rewrites the
        // first entry without INVLPG (not the current space's business until CR3 load)
        r.mmu.map(r.space, Rig.GVA + 8192, r.allocData(4096), 4096, true);
        RadixTable g = r.mmu.guestTable(r.space);
        g.map(Rig.GVA, r.allocData(4096), 12, true, null);
        // the stale spte still translates the old page: a change of that page's frame drops it
        r.mmu.invalidateHostPage(oldGpa);
        assertEquals(-1L, r.mmu.shadowLookup(r.space, Rig.GVA));
        r.mmu.checkShadowRmaps();
    }

    @Test
    void aCollapseUnderAGuestHugePageTurnsItsSmallSptesIntoOneLargeSpte() {
        // a host whose pages grow when "khugepaged" collapses them
        int[] shift = {12};
        long[] nextTable = {1L << 38};
        HostBacking host = new HostBacking() {
            public long hpa(long gpa) {
                return (1L << 34) + gpa;
            }

            public long faultIn(long gpa) {
                hpa(gpa);
                return 0;
            }

            public int backingPageShift(long gpa) {
                return shift[0];
            }

            public long allocTablePage() {
                nextTable[0] += 4096;
                return nextTable[0];
            }
        };
        Mmu mmu = new Mmu(Paging.SHADOW, new Cpu(CpuModel.skylake()), 4, 4, host, 0x7f80_0000_0000L);
        long[] tables = {0x1000_0000L};
        int sp = mmu.newAddressSpace(() -> tables[0] += 4096);
        long gpa = 0x4000_0000L;
        mmu.map(sp, Rig.GVA, gpa, 2L << 20, true);
        mmu.access(Rig.GVA + 0x5000, false);
        mmu.access(Rig.GVA + 0x6000, false);
        // 4 KiB host pages: the guest's 2 MiB page is shadowed by a table of 4 KiB sptes
        assertEquals(1, leafTables(mmu), "one shadow leaf table");
        shift[0] = 21;
        mmu.invalidateHostRange(gpa, 2L << 20);
        mmu.checkShadowRmaps();
        assertEquals(-1L, mmu.shadowLookup(sp, Rig.GVA + 0x5000));
        mmu.resetCounters();
        mmu.access(Rig.GVA + 0x5000, false);
        // one fault maps the whole 2 MiB with a large spte, dropping the emptied table (mmu_set_spte())
        assertEquals(1, mmu.counters().shadowFaults());
        assertEquals(0, leafTables(mmu), "the leaf table is gone");
        mmu.checkShadowRmaps();
        mmu.access(Rig.GVA + 0x1F_F000, false);
        assertEquals(1, mmu.counters().shadowFaults(), "the rest of the 2 MiB needs no fault");
        assertEquals((1L << 34) + gpa + 0x1F_F000, mmu.shadowLookup(sp, Rig.GVA + 0x1F_F000));
    }

    private static long leafTables(Mmu mmu) {
        List<TableStats> st = mmu.shadowTableStats();
        TableStats leaf = st.get(st.size() - 1);
        assertEquals(1, leaf.level());
        return leaf.tables();
    }
}
