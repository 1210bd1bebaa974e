package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongToIntFunction;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;
import org.kvmsim.sim.view.TableStats;
import org.kvmsim.sim.view.Translation;
import org.kvmsim.sim.view.WalkRef;

class TranslateTest {

    @Test
    void translateAgreesWithTheWalkAndTheHost() {
        for (Paging p : Paging.values()) {
            for (int hostShift : new int[] {12, 21, 30}) {
                for (long guestPage : new long[] {4096, 2L << 20, 1L << 30}) {
                    Rig r = new Rig(p, CpuModel.skylake(), 4, 4, hostShift);
                    r.map(Rig.GVA, guestPage);
                    long gva = Rig.GVA + 0x234;
                    String what0 = p + " guest " + guestPage + " host " + hostShift;
                    Translation t = r.mmu.translate(r.space, gva).orElseThrow(() -> new AssertionError(what0));
                    long gpa = r.mmu.guestPhysical(r.space, gva).orElseThrow();
                    String what = p + " guest " + guestPage + " host " + hostShift;
                    assertEquals(gpa, t.gpa(), what);
                    assertEquals(gpa & 0xFFF, 0x234, what);
                    assertEquals(0x7f80_0000_0000L + gpa, t.hva(), what);
                    assertEquals(r.host.hpa(gpa), t.hpa(), what);
                    assertEquals(guestPage, t.guestPageSize(), what);
                    if (p.nested()) {
                        assertEquals(Math.min(1L << hostShift, Math.max(guestPage, 1L << hostShift)), t.hostPageSize(), what);
                        List<WalkRef> w = r.mmu.walk(r.space, gva);
                        WalkRef last = w.get(w.size() - 1);
                        assertEquals(WalkRef.Dimension.NESTED, last.dimension());
                    } else {
                        assertEquals(1L << hostShift, t.hostPageSize(), what);
                    }
                    r.mmu.access(gva, false);
                    if (p == Paging.SHADOW) {
                        assertEquals(t.hpa(), r.mmu.shadowLookup(r.space, gva), what);
                    }
                }
            }
        }
    }

    /** An EPT VM with one address space over a host whose frames and page sizes the test decides. */
    private static Mmu eptOver(LongUnaryOperator hpa, LongToIntFunction pageShift) {
        HostBacking host = new HostBacking() {
            long next = 1L << 38;

            public long hpa(long gpa) {
                return hpa.applyAsLong(gpa);
            }

            public long faultIn(long gpa) {
                hpa(gpa);
                return 0;
            }

            public int backingPageShift(long gpa) {
                return pageShift.applyAsInt(gpa);
            }

            public long allocTablePage() {
                next += 4096;
                return next;
            }
        };
        Mmu mmu = new Mmu(Paging.EPT, new Cpu(CpuModel.skylake()), 4, 4, host, 0);
        long[] tables = {0x1000_0000L};
        mmu.newAddressSpace(() -> tables[0] += 4096);
        return mmu;
    }

    @Test
    void aChangedHostFrameIsPickedUpAfterAnEptViolation() {
        long[] moved = {0};
        Mmu mmu = eptOver(gpa -> (1L << 34) + gpa + moved[0], gpa -> 12);
        int sp = 0;
        mmu.map(sp, Rig.GVA, 0x4000_0000L, 4096, true);
        mmu.access(Rig.GVA, true);
        long before = mmu.counters().eptViolations();
        mmu.access(Rig.GVA, true);
        assertEquals(before, mmu.counters().eptViolations());
        moved[0] = 1L << 30;
        mmu.invalidateHostPage(0x4000_0000L);
        mmu.access(Rig.GVA, true);
        assertEquals(before + 1, mmu.counters().eptViolations());
        assertEquals((1L << 34) + 0x4000_0000L + (1L << 30), mmu.translate(sp, Rig.GVA).orElseThrow().hpa());
    }

    @Test
    void aCollapsedRangeComesBackAsOneHugeNestedLeaf() {
        // 2 MiB of guest RAM backed by 4 KiB host pages, then collapsed by khugepaged into a THP
        boolean[] huge = {false};
        Mmu mmu = eptOver(gpa -> (huge[0] ? 1L << 35 : 1L << 34) + gpa, gpa -> huge[0] ? 21 : 12);
        int sp = 0;
        for (int i = 0; i < 512; i++) {
            mmu.map(sp, Rig.GVA + i * 4096L, 0x4000_0000L + i * 4096L, 4096, true);
            mmu.access(Rig.GVA + i * 4096L, false);
        }
        assertEquals(4096, mmu.translate(sp, Rig.GVA).orElseThrow().hostPageSize());
        long violations = mmu.counters().eptViolations();
        long nestedBytes = mmu.secondaryTableBytes();

        huge[0] = true;
        mmu.invalidateHostRange(0x4000_0000L, 2L << 20);
        for (int i = 0; i < 512; i++) {
            mmu.access(Rig.GVA + i * 4096L, false);
        }
        // one EPT violation maps the whole range again, with a 2 MiB leaf; its page table is freed
        assertEquals(violations + 1, mmu.counters().eptViolations());
        Translation t = mmu.translate(sp, Rig.GVA + 0x1234).orElseThrow();
        assertEquals(2L << 20, t.hostPageSize());
        assertEquals((1L << 35) + 0x4000_1234L, t.hpa());
        assertEquals(nestedBytes - 4096, mmu.secondaryTableBytes());
        // the walk's last nested part, for the data page, now ends at the 2 MiB leaf (level 2);
        // the guest's table pages keep their 4 KiB nested leaves: 4 + 4 * 4 + 3 references
        List<WalkRef> w = mmu.walk(sp, Rig.GVA);
        assertEquals(23, w.size());
        assertEquals(2, w.get(w.size() - 1).level());
        // the native price across the collapse is the separate native model's
        assertEquals(collapsed(false).counters().nativeWalkRefs(), collapsed(true).counters().nativeWalkRefs());
    }

    /** The collapse above, natively priced by mirroring or by the separate model from the start. */
    private static Mmu collapsed(boolean mirror) {
        boolean[] huge = {false};
        Mmu mmu = eptOver(gpa -> (huge[0] ? 1L << 35 : 1L << 34) + gpa, gpa -> huge[0] ? 21 : 12);
        if (!mirror) {
            mmu.disableMirror();
        }
        for (int i = 0; i < 512; i++) {
            mmu.map(0, Rig.GVA + i * 4096L, 0x4000_0000L + i * 4096L, 4096, true);
            mmu.access(Rig.GVA + i * 4096L, false);
        }
        huge[0] = true;
        mmu.invalidateHostRange(0x4000_0000L, 2L << 20);
        for (int i = 0; i < 512; i++) {
            mmu.access(Rig.GVA + i * 4096L, i % 3 == 0);
        }
        return mmu;
    }

    @Test
    void aHugePageCanReplaceAnEmptiedPageTable() {
        Rig r = new Rig(Paging.EPT);
        for (int i = 0; i < 512; i++) {
            r.map(Rig.GVA + i * 4096L, 4096);
        }
        for (int i = 0; i < 512; i++) {
            r.mmu.unmap(r.space, Rig.GVA + i * 4096L);
        }
        r.map(Rig.GVA, 2L << 20);
        assertEquals(2L << 20, r.mmu.translate(r.space, Rig.GVA + 5).orElseThrow().guestPageSize());
        assertEquals(0, r.mmu.guestTableStats(r.space).get(3).tables());
    }

    @Test
    void unmappedAddressHasNoTranslation() {
        Rig r = new Rig(Paging.EPT);
        assertTrue(r.mmu.translate(r.space, Rig.GVA).isEmpty());
    }

    @Test
    void guestFaultsAreHandledAndPricedNativelyToo() {
        Rig r = new Rig(Paging.EPT);
        for (int i = 0; i < 10; i++) {
            r.mmu.access(Rig.GVA + i * 4096L, i % 2 == 0);
        }
        MmuCounters c = r.mmu.counters();
        assertEquals(10, c.guestFaults());
        assertTrue(c.nativeCycles() >= 10L * CpuModel.skylake().guest_fault_cycles());
        assertTrue(c.cycles() > c.nativeCycles());
        assertTrue(c.overheadPct() > 0);
        assertTrue(r.mmu.translate(r.space, Rig.GVA + 9 * 4096L).isPresent());
    }

    @Test
    void pageTableBytesAreCountedPerLevel() {
        Rig r = new Rig(Paging.EPT);
        for (int i = 0; i < 1024; i++) {
            r.map(Rig.GVA + i * 4096L, 4096);
            r.mmu.access(Rig.GVA + i * 4096L, false);
        }
        List<TableStats> g = r.mmu.guestTableStats(r.space);
        assertEquals(List.of(
                new TableStats("guest", 4, 1, 1, 4096),
                new TableStats("guest", 3, 1, 1, 4096),
                new TableStats("guest", 2, 1, 2, 4096),
                new TableStats("guest", 1, 2, 1024, 8192)), g);
        assertEquals(5 * 4096, r.mmu.guestTableBytes());
        long nestedBytes = 0;
        for (TableStats t : r.mmu.nestedTableStats()) {
            nestedBytes += t.bytes();
        }
        assertEquals(nestedBytes, r.mmu.secondaryTableBytes());
        assertEquals(1024 + 5, r.mmu.nestedTableStats().get(3).entries(), "data pages and the guest's table pages");
    }

    @Test
    void mappedPagesCostAtMostSixteenBytesOfHeap() {
        for (Paging p : new Paging[] {Paging.EPT, Paging.SHADOW}) {
            Rig r = new Rig(p, CpuModel.skylake(), 4, 4, 12);
            int pages = 1 << 18;
            for (int i = 0; i < pages; i++) {
                r.map(Rig.GVA + i * 4096L, 4096);
            }
            for (int i = 0; i < pages; i++) {
                r.mmu.access(Rig.GVA + i * 4096L, false);
            }
            double perPage = (double) r.mmu.heapBytes() / pages;
            assertTrue(perPage <= 16, p + ": " + perPage + " bytes per mapped page");
        }
    }

    @Test
    void cyclesAreTranslationPlusExitsPlusFaults() {
        // translation_cycles must be exactly the TLB and walk terms, so a new cost added to
        // cycles cannot hide in it
        CpuModel m = CpuModel.skylake();
        for (Paging p : Paging.values()) {
            for (int hostShift : new int[] {12, 21}) {
                Rig r = new Rig(p, m, 4, 4, hostShift);
                // 2 MiB guest faults too (their zeroing is a fault cost)
                r.mmu.setGuestFaultHandler((mu, sp, gva, write) -> mu.map(sp, gva & -(2L << 20), r.allocData(2L << 20), 2L << 20, true));
                SplittableRandom rnd = new SplittableRandom(p.ordinal() * 31 + hostShift);
                for (int i = 0; i < 20_000; i++) {
                    r.mmu.access(Rig.GVA + (rnd.nextLong(64L << 20) & ~0xFFFL), rnd.nextInt(4) == 0);
                }
                MmuCounters c = r.mmu.counters();
                assertEquals(c.accesses() * m.tlb_hit_cycles() + c.l1DtlbMisses() * m.stlb_hit_cycles()
                        + c.walkRefs() * m.walk_ref_cycles(), c.translationCycles(), p + " over " + hostShift);
                assertEquals(c.guestFaults() * m.guest_fault_cycles() + c.guestFaults() * 511L * m.clear_page_cycles(),
                        c.faultCycles(), p + " over " + hostShift);
                assertTrue(c.exitCycles() >= 0 && c.translationCycles() > 0);
            }
        }
    }
}
