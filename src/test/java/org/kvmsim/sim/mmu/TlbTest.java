package org.kvmsim.sim.mmu;

import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;

class TlbTest {

    @Test
    void secondAccessHitsTheL1Dtlb() {
        for (Paging p : Paging.values()) {
            Rig r = new Rig(p);
            r.map(Rig.GVA, 4096);
            r.mmu.access(Rig.GVA, false);
            MmuCounters before = r.mmu.counters();
            assertEquals(1, before.l1DtlbMisses());
            r.mmu.access(Rig.GVA + 8, true);
            MmuCounters after = r.mmu.counters();
            assertEquals(2, after.accesses());
            assertEquals(before.l1DtlbMisses(), after.l1DtlbMisses(), p.toString());
            assertEquals(before.walks(), after.walks(), p.toString());
            assertEquals(before.cycles() + CpuModel.skylake().tlb_hit_cycles(), after.cycles(), p.toString());
        }
    }

    @Test
    void stlbCatchesWhatTheL1Evicts() {
        Rig r = new Rig(Paging.EPT);
        // 65 pages mapping to one 4-way L1 set (16 sets): the first is evicted from the L1 but not the STLB
        for (int i = 0; i <= 4; i++) {
            r.map(Rig.GVA + i * 16L * 4096, 4096);
            r.mmu.access(Rig.GVA + i * 16L * 4096, false);
        }
        MmuCounters before = r.mmu.counters();
        r.mmu.access(Rig.GVA, false);
        MmuCounters after = r.mmu.counters();
        assertEquals(before.l1DtlbMisses() + 1, after.l1DtlbMisses());
        assertEquals(before.stlbMisses(), after.stlbMisses());
        assertEquals(before.cycles() + 1 + 9, after.cycles());
    }

    private static long walksAfterSwitch(boolean vpid) {
        Cpu cpu = new Cpu(CpuModel.skylake().with("vpid", vpid ? 1 : 0));
        Rig a = new Rig(Paging.EPT, cpu, 4, 4, 12);
        Rig b = new Rig(Paging.EPT, cpu, 4, 4, 12);
        a.map(Rig.GVA, 4096);
        b.map(Rig.GVA, 4096);
        a.mmu.access(Rig.GVA, false);
        b.mmu.access(Rig.GVA, false);
        long walks = a.mmu.counters().walks();
        a.mmu.access(Rig.GVA, false);
        assertEquals(2, cpu.vmSwitches());
        return a.mmu.counters().walks() - walks;
    }

    @Test
    void vmSwitchFlushesWithoutVpidOnly() {
        assertEquals(1, walksAfterSwitch(false));
        assertEquals(0, walksAfterSwitch(true));
    }

    @Test
    void aHostChangeUnderAVmNotRunningLeavesTheRunningVmsEntriesWithoutVpid() {
        for (Paging p : new Paging[] {Paging.EPT, Paging.SHADOW}) {
            Cpu cpu = new Cpu(CpuModel.skylake().with("vpid", 0));
            Rig a = new Rig(p, cpu, 4, 4, 12);
            Rig b = new Rig(Paging.EPT, cpu, 4, 4, 12);
            a.map(Rig.GVA, 4096);
            b.map(Rig.GVA, 4096);
            a.mmu.access(Rig.GVA, false);
            b.mmu.access(Rig.GVA, false);
            // KSM merges a's page while b runs: a's entries went at its exit, b's untagged ones stay
            a.mmu.invalidateHostPage(a.mmu.guestPhysical(a.space, Rig.GVA).orElseThrow());
            long misses = b.mmu.counters().l1DtlbMisses();
            b.mmu.access(Rig.GVA, false);
            assertEquals(misses, b.mmu.counters().l1DtlbMisses(), p.toString());
        }
    }

    @Test
    void vmSwitchFlushIsCounted() {
        Cpu cpu = new Cpu(CpuModel.skylake().with("vpid", 0));
        Rig a = new Rig(Paging.NATIVE, cpu, 4, 4, 12);
        Rig b = new Rig(Paging.NATIVE, cpu, 4, 4, 12);
        a.map(Rig.GVA, 4096);
        b.map(Rig.GVA, 4096);
        a.mmu.access(Rig.GVA, false);
        b.mmu.access(Rig.GVA, false);
        a.mmu.access(Rig.GVA, false);
        assertEquals(1, a.mmu.counters().vmSwitchFlushes());
        assertEquals(1, b.mmu.counters().vmSwitchFlushes());
    }

    @Test
    void largePagesUseTheirOwnTlbs() {
        Rig r = new Rig(Paging.EPT, CpuModel.skylake(), 4, 4, 21);
        r.map(Rig.GVA, 2L << 20);
        r.mmu.access(Rig.GVA, false);
        long walks = r.mmu.counters().walks();
        // every 4 KiB page of the 2 MiB page hits the same 2M entry
        for (long off = 0; off < (2L << 20); off += 4096) {
            r.mmu.access(Rig.GVA + off, false);
        }
        assertEquals(walks, r.mmu.counters().walks());
    }

    @Test
    void smallerHostPagesSplinterTheTlbEntry() {
        Rig r = new Rig(Paging.EPT, CpuModel.skylake(), 4, 4, 12);
        r.map(Rig.GVA, 2L << 20);
        r.mmu.access(Rig.GVA, false);
        r.mmu.access(Rig.GVA + 4096, false);
        // walks that reached a translation: one that ends in an EPT violation is made again
        MmuCounters c = r.mmu.counters();
        assertEquals(2, c.walks() - c.eptViolations(), "2M guest over 4K EPT caches 4K translations");
    }

    @Test
    void theNestedTlbHoldsWholeHugeLeaves() {
        Rig r = new Rig(Paging.EPT, CpuModel.skylake(), 4, 4, 21);
        // two guest pages on adjacent GPAs: one 2 MiB nested leaf backs both
        r.map(Rig.GVA, 4096);
        r.map(Rig.GVA + 4096, 4096);
        r.mmu.access(Rig.GVA, false);
        long before = r.mmu.counters().walkRefs();
        r.mmu.access(Rig.GVA + 4096, false);
        // the PDE cache gives the leaf table (host address known): one guest reference; the
        // data page's GPA hits the nested TLB entry of the 2 MiB leaf: no nested reference
        assertEquals(1, r.mmu.counters().walkRefs() - before);
    }

    @Test
    void lruEvictsTheLeastRecentlyUsedWay() {
        AssocCache c = new AssocCache(4, 2);
        long s = 0;
        c.put(s, 10, 0);
        c.put(s, 20, 0);
        assertTrue(c.probe(s, 10));
        c.put(s, 30, 0);
        assertTrue(c.probe(s, 10));
        assertFalse(c.probe(s, 20));
        assertTrue(c.probe(s, 30));
        c.invalidate(s, 10);
        assertFalse(c.probe(s, 10));
        assertEquals(1, c.live());
    }

    @Test
    void cpuKnobsCanBeOverridden() {
        CpuModel m = CpuModel.preset("skylake").with("stlb_entries", 2048).with("vpid", 0);
        assertEquals(2048, m.stlb_entries());
        assertFalse(m.vpid());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.with("stlb_entires", 1));
        assertTrue(e.getMessage().contains("unknown cpu knob 'stlb_entires'"));
        assertEquals("zen2", CpuModel.preset("zen").name());
        new Tlbs(CpuModel.zen2());
    }

    @Test
    void zenPresetTranslates() {
        Rig r = new Rig(Paging.NPT, CpuModel.zen2(), 4, 4, 21);
        r.map(Rig.GVA, 4096);
        r.map(Rig.GVA + (2L << 20), 2L << 20);
        r.mmu.access(Rig.GVA, false);
        r.mmu.access(Rig.GVA + (2L << 20), false);
        r.mmu.access(Rig.GVA, false);
        r.mmu.access(Rig.GVA + (2L << 20) + 4096, false);
        MmuCounters c = r.mmu.counters();
        assertEquals(2, c.walks() - c.eptViolations());
    }
}
