package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;

/**
 * Shadow paging with the zero page and spte prefetch together: a read of a page never written
 * maps the zero page with a read-only spte and prefetches its block like any 4 KiB fault, but
 * prefetch never installs an spte over a page that maps the zero page (kvm_prefetch_pages() asks
 * with FOLL_WRITE, which the zero page fails): only pages of their own are present to it.
 */
class ShadowZeroPageTest {

    private static final long ZERO_HPA = 1L << 40;

    /** A linear 4 KiB host whose read faults map the zero page where a page is absent. */
    private static final class ZeroHost implements HostBacking {
        final LinearHostBacking own = new LinearHostBacking(1L << 34, 12, 1L << 38);
        final Set<Long> zero = new HashSet<>();
        Mmu mmu;

        @Override
        public long hpa(long gpa) {
            return zero.contains(gpa >>> 12) ? ZERO_HPA | (gpa & 0xfff) : own.hpa(gpa);
        }

        @Override
        public long faultIn(long gpa) {
            boolean wasZero = zero.remove(gpa >>> 12);
            long bytes = own.faultIn(gpa);
            if (wasZero) {
                // the MMU notifier: the zero page's spte goes
                mmu.invalidateHostPage(gpa & ~0xfffL);
            }
            return bytes;
        }

        @Override
        public boolean present(long gpa) {
            return own.present(gpa);
        }

        @Override
        public int mapZero(long gpa) {
            if (own.present(gpa)) {
                return 0;
            }
            zero.add(gpa >>> 12);
            return 12;
        }

        @Override
        public boolean zeroMapped(long gpa) {
            return zero.contains(gpa >>> 12);
        }

        @Override
        public int backingPageShift(long gpa) {
            return 12;
        }

        @Override
        public long allocTablePage() {
            return own.allocTablePage();
        }

        @Override
        public void freeTablePage(long hpa) {
            own.freeTablePage(hpa);
        }
    }

    private static final long GVA = Rig.GVA;
    private static final long GPA = Rig.DATA_GPA;

    private final ZeroHost host = new ZeroHost();
    private final Mmu mmu = new Mmu(Paging.SHADOW, new Cpu(CpuModel.skylake()), 4, 4, host, 0x7f80_0000_0000L);
    private final int space;
    private long nextTable = Rig.TABLES_GPA;

    ShadowZeroPageTest() {
        host.mmu = mmu;
        space = mmu.newAddressSpace(() -> {
            long a = nextTable;
            nextTable += 4096;
            return a;
        });
        for (int p = 0; p < 8; p++) {
            mmu.map(space, GVA + p * 4096L, GPA + p * 4096L, 4096, true);
        }
    }

    private long shadowFaults() {
        return mmu.counters().shadowFaults();
    }

    @Test
    void aZeroPageReadPrefetchesPresentNeighboursWritable() {
        host.own.prefault(GPA + 4096, 3 * 4096L);
        mmu.access(GVA, false);
        assertEquals(1, shadowFaults());
        assertTrue(host.zeroMapped(GPA));
        assertEquals(ZERO_HPA, mmu.shadowLookup(space, GVA));
        // pages 1-3 are present: prefetched; page 4 is not and ends the prefetch
        assertEquals(3, mmu.prefetchedSptes());
        assertEquals(-1L, mmu.shadowLookup(space, GVA + 4 * 4096L));
        // a prefetched page of its own is writable at once; the zero page's spte is read-only
        mmu.access(GVA + 4096L, true);
        assertEquals(1, shadowFaults());
        mmu.access(GVA, true);
        assertEquals(2, shadowFaults());
        assertFalse(host.zeroMapped(GPA));
        assertEquals((1L << 34) + GPA, mmu.shadowLookup(space, GVA));
        mmu.checkShadowRmaps();
    }

    @Test
    void prefetchStopsAtAPageThatMapsTheZeroPage() {
        // page 2 is read first (the zero page), then its spte goes while the host keeps the zero page
        mmu.access(GVA + 2 * 4096L, false);
        assertTrue(host.zeroMapped(GPA + 2 * 4096L));
        mmu.invalidateHostPage(GPA + 2 * 4096L);
        assertEquals(-1L, mmu.shadowLookup(space, GVA + 2 * 4096L));
        long prefetchedBefore = mmu.prefetchedSptes();
        host.own.prefault(GPA, 2 * 4096L);
        host.own.prefault(GPA + 3 * 4096L, 5 * 4096L);
        mmu.access(GVA, false);
        // page 1 is prefetched; page 2 maps the zero page, is not present to prefetch, and ends it
        assertEquals(1, mmu.prefetchedSptes() - prefetchedBefore);
        assertEquals(-1L, mmu.shadowLookup(space, GVA + 2 * 4096L));
        assertEquals(-1L, mmu.shadowLookup(space, GVA + 3 * 4096L));
        mmu.checkShadowRmaps();
    }
}
