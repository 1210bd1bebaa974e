package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;

/**
 * The guest's PCIDs: Linux's 6 dynamic ASIDs per CPU and CR3 NOFLUSH (arch/x86/mm/tlb.c), and
 * under shadow paging KVM's cache of the current and 3 previous roots (fast_pgd_switch()).
 */
class PcidTest {

    private static final long SPAN = 1L << 30;
    private static final int PAGES = 16;

    /** A one-vCPU VM with {@code spaces} address spaces, each mapping {@link #PAGES} pages at its own GVA. */
    private static Rig rig(Paging paging, CpuModel model, int spaces, boolean pcid) {
        Rig r = new Rig(paging, model, 4, 4, 12);
        r.mmu.setGuestPcid(pcid);
        for (int s = 1; s < spaces; s++) {
            assertEquals(s, r.mmu.newAddressSpace(r::allocTable));
        }
        for (int s = 0; s < spaces; s++) {
            for (int p = 0; p < PAGES; p++) {
                r.mmu.map(s, gva(s, p), r.allocData(4096), 4096, true);
            }
        }
        return r;
    }

    private static Rig rig(Paging paging, int spaces, boolean pcid) {
        return rig(paging, CpuModel.skylake(), spaces, pcid);
    }

    private static long gva(int space, int page) {
        return Rig.GVA + space * SPAN + page * 4096L;
    }

    /** Switches to each space in turn and touches its pages, {@code rounds} times round robin. */
    private static void cycle(Rig r, int spaces, int rounds) {
        for (int round = 0; round < rounds; round++) {
            for (int s = 0; s < spaces; s++) {
                r.mmu.loadCr3(s);
                for (int p = 0; p < PAGES; p++) {
                    r.mmu.access(gva(s, p), false);
                }
            }
        }
    }

    /** STLB misses of {@code rounds} more rounds after two of warm-up. */
    private static long warmMisses(Rig r, int spaces, int rounds) {
        cycle(r, spaces, 2);
        r.mmu.resetCounters();
        cycle(r, spaces, rounds);
        return r.mmu.counters().stlbMisses();
    }

    @Test
    void twoSpacesKeepTheirEntriesAcrossSwitchesWithPcid() {
        for (Paging pg : new Paging[] {Paging.EPT, Paging.NATIVE, Paging.SHADOW}) {
            assertEquals(0, warmMisses(rig(pg, 2, true), 2, 5), pg + " with PCID");
            // nopcid: every switch flushes, each space's pages miss again
            assertEquals(5 * 2 * PAGES, warmMisses(rig(pg, 2, false), 2, 5), pg + " without PCID");
        }
    }

    @Test
    void zen2HasNoPcid() {
        assertEquals(5 * 2 * PAGES, warmMisses(rig(Paging.NPT, CpuModel.zen2(), 2, true), 2, 5));
    }

    @Test
    void sixSpacesFitTheAsidsASeventhRecyclesThemRoundRobin() {
        assertEquals(0, warmMisses(rig(Paging.EPT, 6, true), 6, 3));
        // 7 spaces over 6 slots round robin: every load takes a slot from another space and
        // flushes that PCID, so every space's pages miss
        assertEquals(3 * 7 * PAGES, warmMisses(rig(Paging.EPT, 7, true), 7, 3));
    }

    @Test
    void aSpaceChangedWhileSwitchedOutIsFlushedWhenLoadedAgain() {
        Rig r = rig(Paging.EPT, 2, true);
        cycle(r, 2, 2);
        // space 0 is not loaded: remapping one of its present pages moves its tlb_gen on, and the
        // next load of it writes CR3 without NOFLUSH
        r.mmu.map(0, gva(0, 3), r.allocData(4096), 4096, true);
        r.mmu.resetCounters();
        cycle(r, 2, 1);
        assertEquals(PAGES, r.mmu.counters().stlbMisses());
        r.mmu.resetCounters();
        cycle(r, 2, 1);
        assertEquals(0, r.mmu.counters().stlbMisses(), "up to date again");
        // a new mapping (not present before) needs no flush
        r.mmu.map(0, gva(0, PAGES), r.allocData(4096), 4096, true);
        r.mmu.resetCounters();
        cycle(r, 2, 1);
        assertEquals(0, r.mmu.counters().stlbMisses());
    }

    @Test
    void aFlushOfTheVcpuTakesEveryPcid() {
        Rig r = rig(Paging.EPT, 2, true);
        cycle(r, 2, 2);
        // a host page changed: kvm_flush_remote_tlbs() flushes the VPID, all of its PCIDs
        r.mmu.invalidateHostPage(Rig.DATA_GPA);
        r.mmu.resetCounters();
        cycle(r, 2, 1);
        assertEquals(2 * PAGES, r.mmu.counters().stlbMisses());
    }

    @Test
    void invlpgTakesTheCurrentPcidOnlyButUnderShadowEveryPcid() {
        for (Paging pg : new Paging[] {Paging.EPT, Paging.SHADOW}) {
            Rig r = rig(pg, 2, true);
            cycle(r, 2, 2);
            // space 1 is loaded: an INVLPG of one of space 0's pages
            r.mmu.invlpg(gva(0, 5));
            r.mmu.resetCounters();
            cycle(r, 2, 1);
            // EPT: INVLPG is the hardware's, for PCID of space 1 only; under shadow paging KVM
            // emulates it with INVVPID individual-address, every PCID of the VPID
            assertEquals(pg == Paging.SHADOW ? 1 : 0, r.mmu.counters().stlbMisses(), pg.toString());
        }
    }

    /**
     * Under shadow paging each round maps a new page into every space (a write to its shadowed
     * leaf table, which KVM unsyncs) and then switches through them, touching their pages.
     */
    private static MmuCounters shadowRounds(int spaces, boolean pcid, int rounds) {
        Rig r = rig(Paging.SHADOW, spaces, pcid);
        cycle(r, spaces, 2);
        r.mmu.resetCounters();
        for (int round = 0; round < rounds; round++) {
            for (int s = 0; s < spaces; s++) {
                r.mmu.map(s, gva(s, PAGES + round), r.allocData(4096), 4096, true);
            }
            for (int s = 0; s < spaces; s++) {
                r.mmu.loadCr3(s);
                for (int p = 0; p < PAGES; p++) {
                    r.mmu.access(gva(s, p), false);
                }
            }
        }
        return r.mmu.counters();
    }

    @Test
    void shadowNoflushSwitchAmongCachedRootsNeitherResyncsNorFlushes() {
        MmuCounters c = shadowRounds(4, true, 3);
        assertEquals(12, c.cr3Exits(), "every CR3 load still exits");
        assertEquals(0, c.resyncedPages());
        assertEquals(0, c.stlbMisses());
        // the spaces' leaf tables were unsynced once and stay unsync: later writes do not exit
        assertEquals(4, c.unsyncs());
    }

    @Test
    void shadowFifthRootFallsOutOfTheCacheSoEverySwitchResyncsAndFlushes() {
        MmuCounters c = shadowRounds(5, true, 3);
        assertEquals(15, c.cr3Exits());
        // round robin over 5 roots with 4 cached: every load is a new root, synced and flushed
        assertEquals(15, c.resyncedPages());
        assertEquals(15L * PAGES, c.stlbMisses());
        assertEquals(15, c.unsyncs(), "write-protected again by each resync");
    }

    @Test
    void shadowWithoutPcidResyncsAndFlushesOnEveryLoad() {
        MmuCounters c = shadowRounds(2, false, 3);
        assertEquals(6, c.resyncedPages());
        assertEquals(6L * PAGES, c.stlbMisses());
        assertTrue(c.exitCycles() >= 6L * CpuModel.skylake().sync_page_cycles());
    }

    @Test
    void shadowSeventhSpaceRecyclesAnAsidAndFlushes() {
        // 6 spaces: ASIDs suffice but only 4 roots are cached, so every load reloads its root
        MmuCounters six = shadowRounds(6, true, 2);
        assertEquals(12, six.resyncedPages());
        // 7 spaces: the loads also flush recycled ASIDs, with the same outcome per load
        MmuCounters seven = shadowRounds(7, true, 2);
        assertEquals(14, seven.resyncedPages());
        assertEquals(14L * PAGES, seven.stlbMisses());
    }
}
