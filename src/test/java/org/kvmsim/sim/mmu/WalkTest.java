package org.kvmsim.sim.mmu;

import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.WalkRef;
import org.kvmsim.sim.view.Translation;
import org.kvmsim.sim.view.MmuCounters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.kvmsim.model.CpuModel;

class WalkTest {

    private static final long K4 = 4096;
    private static final long M2 = 2L << 20;
    private static final long G1 = 1L << 30;

    @ParameterizedTest(name = "{0} guest {1} host-shift {2} levels {3}: {4} refs")
    @CsvSource({
        "EPT,    4096,       12, 4, 24",
        "EPT,    2097152,    12, 4, 19",
        "EPT,    4096,       21, 4, 19",
        "EPT,    2097152,    21, 4, 15",
        "EPT,    1073741824, 30, 4, 8",
        "EPT,    4096,       12, 5, 35",
        "NPT,    4096,       12, 4, 24",
        "EPT,    1073741824, 12, 4, 14",
        "EPT,    4096,       30, 4, 14",
        "NATIVE, 4096,       12, 4, 4",
        "NATIVE, 2097152,    12, 4, 3",
        "NATIVE, 1073741824, 12, 4, 2",
        "NATIVE, 4096,       12, 5, 5",
        "SHADOW, 4096,       12, 4, 4",
        "SHADOW, 2097152,    12, 4, 4",
        "SHADOW, 2097152,    21, 4, 3",
    })
    void walkLengthIsNTimesMPlusNPlusM(Paging paging, long guestPage, int hostShift, int levels, int expected) {
        Rig r = new Rig(paging, CpuModel.skylake(), levels, levels, hostShift);
        long gva = levels == 5 ? 0x00ff_0000_0000_0000L : Rig.GVA;
        r.map(gva, guestPage);
        List<WalkRef> refs = r.mmu.walk(r.space, gva + 0x123);
        assertEquals(expected, refs.size(), refs.toString());
        for (int i = 0; i < refs.size(); i++) {
            assertEquals(i + 1, refs.get(i).step());
            WalkRef w = refs.get(i);
            assertEquals(w.tableAddress() + 8L * w.index(), w.entryAddress());
        }
        // each dimension's rows chain: an entry points at the table its next row reads, and a
        // nested walk translates the table its guest row reads, or the data's GPA
        WalkRef lastGuest = null;
        for (int i = 0; i < refs.size(); i++) {
            WalkRef w = refs.get(i);
            assertTrue(w.next() >= 0, "present: " + w);
            WalkRef.Dimension d = w.dimension();
            if (d != WalkRef.Dimension.NESTED) {
                assertEquals(gva + 0x123, w.translating());
                if (lastGuest != null) {
                    assertEquals(lastGuest.next(), w.tableAddress(), "guest chain at " + w);
                }
                lastGuest = w;
            } else if (i + 1 < refs.size() && refs.get(i + 1).dimension() == WalkRef.Dimension.NESTED
                    && refs.get(i + 1).level() < w.level()) {
                assertEquals(w.next(), refs.get(i + 1).tableAddress(), "nested chain at " + w);
            } else if (i + 1 < refs.size()) {
                assertTrue(w.leaf());
                assertEquals(refs.get(i + 1).tableAddress(), w.translating(),
                        "the nested walk before a guest row translates that row's table: " + w);
            }
        }
        WalkRef last = refs.get(refs.size() - 1);
        assertTrue(last.leaf());
        Translation t = r.mmu.translate(r.space, gva + 0x123).orElseThrow();
        // a native walk's addresses are the VM's own physical ones (its GPA); the others end at the HPA
        assertEquals(paging == Paging.NATIVE ? t.gpa() : t.hpa(), last.next() + ((gva + 0x123) & (last.pageSize() - 1)),
                "the walk ends at the translation");
    }

    @Test
    void twoDimensionalWalkInterleavesNestedAndGuestReferences() {
        Rig r = new Rig(Paging.EPT);
        r.map(Rig.GVA, K4);
        List<WalkRef> refs = r.mmu.walk(r.space, Rig.GVA);
        StringBuilder shape = new StringBuilder();
        for (WalkRef w : refs) {
            shape.append(w.dimension() == WalkRef.Dimension.GUEST ? "G" : "n").append(w.level());
        }
        assertEquals("n4n3n2n1G4" + "n4n3n2n1G3" + "n4n3n2n1G2" + "n4n3n2n1G1" + "n4n3n2n1", shape.toString());
        // the guest's first reference reads the PML4 entry at CR3 (a GPA)
        WalkRef g4 = refs.get(4);
        assertEquals(Rig.TABLES_GPA, g4.tableAddress());
        assertEquals(RadixTable.index(Rig.GVA, 4), g4.index());
    }

    @Test
    void hotPathCountsTheArchitecturalReferencesWhenNothingIsCached() {
        for (Paging p : new Paging[] {Paging.EPT, Paging.NATIVE, Paging.SHADOW}) {
            for (int hostShift : new int[] {12, 21}) {
                Rig r = new Rig(p, Rig.noCaches(CpuModel.skylake()), 4, 4, hostShift);
                r.map(Rig.GVA, K4);
                r.mmu.access(Rig.GVA, false);
                r.mmu.resetCounters();
                r.mmu.access(Rig.GVA, false);
                MmuCounters c = r.mmu.counters();
                assertEquals(1, c.walks());
                assertEquals(r.mmu.walk(r.space, Rig.GVA).size(), c.walkRefs(), p + " over " + hostShift);
            }
        }
    }

    @Test
    void walkCachesShortenASecondWalk() {
        for (Paging p : new Paging[] {Paging.EPT, Paging.NATIVE, Paging.SHADOW}) {
            Rig r = new Rig(p);
            r.map(Rig.GVA, K4);
            r.map(Rig.GVA + K4, K4);
            r.mmu.access(Rig.GVA, false);
            r.mmu.access(Rig.GVA + K4, false);
            r.mmu.resetCounters();
            r.mmu.invlpg(Rig.GVA);
            r.mmu.invlpg(Rig.GVA + K4);
            // INVLPG drops the PSCs too; the cold walk of the first page refills them
            r.mmu.access(Rig.GVA, false);
            long first = r.mmu.counters().walkRefs();
            r.mmu.access(Rig.GVA + K4, false);
            long second = r.mmu.counters().walkRefs() - first;
            assertTrue(second < first, p + ": second walk " + second + " refs, first " + first);
            // EPT: the PDE cache gives the guest PT, the nested TLB still holds the final GPA
            assertEquals(1, second, p.toString());
        }
    }
}
