package org.kvmsim.sim.mmu;

import org.kvmsim.model.Paging;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.kvmsim.model.CpuModel;

/**
 * The shadow MMU's reverse map against the tables it indexes: random mixes of guest mappings
 * (4 KiB and 2 MiB, aliases, two address spaces), unmaps, accesses, CR3 loads, INVLPGs, writes
 * that unsync leaf tables or flood upper ones, and host frame changes, on 4 KiB and 2 MiB host
 * pages, some with every host page present (spte prefetch), some with a shadow page limit
 * (recycling). After every step the rmap lists exactly the present sptes under their gfns, and right
 * after a host change no spte translates the changed page any more.
 */
class ShadowRmapTest {

    private static final long RAM = 1L << 34;
    private static final int GVAS = 48;
    private static final int GPAS = 24;

    @Property(tries = 60)
    void theRmapFollowsEverySpte(@ForAll long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int hostShift = rnd.nextBoolean() ? 12 : 21;
        Rig r = new Rig(Paging.SHADOW, CpuModel.skylake(), 4, 4, hostShift);
        if (rnd.nextInt(3) == 0) {
            // every host page present: faults prefetch their neighbours' sptes
            r.host.prefault(Rig.DATA_GPA, 64L << 20);
        }
        if (rnd.nextInt(3) == 0) {
            // fewer shadow pages than the layout needs: the oldest are recycled
            r.mmu.setShadowPageLimit(12);
        }
        int[] spaces = {r.space, r.mmu.newAddressSpace(r::allocTable)};
        // guest addresses over a few leaf tables and PDs; guest frames from a small pool (aliases)
        long[] gvas = new long[GVAS];
        for (int i = 0; i < GVAS; i++) {
            gvas[i] = Rig.GVA + (long) (i % 4) * (1L << 30) + (long) (i / 4 % 3) * (2L << 20) + (long) (i / 12) * 4096;
        }
        long big = r.allocData(2L << 20);
        long[] gpas = new long[GPAS];
        for (int i = 0; i < GPAS; i++) {
            gpas[i] = i < 4 ? big + i * 4096L * 100 : r.allocData(4096);
        }
        for (int step = 0; step < 300; step++) {
            int space = spaces[rnd.nextInt(2)];
            long gva = gvas[rnd.nextInt(GVAS)];
            switch (rnd.nextInt(12)) {
                case 0, 1 -> {
                    long l = r.mmu.guestTable(space).lookup(gva);
                    if (l != RadixTable.NOT_MAPPED && RadixTable.leafLevel(l) > 1) {
                        r.mmu.unmap(space, gva);
                    }
                    r.mmu.map(space, gva, gpas[rnd.nextInt(GPAS)], 4096, rnd.nextBoolean());
                }
                case 2 -> {
                    // the guest empties the page table first, as khugepaged would
                    long region = gva & ~((2L << 20) - 1);
                    for (long a : gvas) {
                        if ((a & ~((2L << 20) - 1)) == region) {
                            r.mmu.unmap(space, a);
                        }
                    }
                    r.mmu.map(space, region, big, 2L << 20, true);
                }
                case 3 -> r.mmu.unmap(space, gva);
                case 4 -> r.mmu.loadCr3(space);
                case 5 -> r.mmu.invlpg(gva);
                case 6, 7 -> {
                    long gpa = gpas[rnd.nextInt(GPAS)];
                    r.mmu.invalidateHostPage(gpa);
                    for (long a : gvas) {
                        for (int s : spaces) {
                            long hpa = shadowOf(r, s, a);
                            if (hpa >= 0) {
                                assertNotEquals(gpa >>> 12, (hpa - RAM) >>> 12, "an spte still translates the changed page");
                            }
                        }
                    }
                }
                case 8 -> r.mmu.invalidateHostRange(big, 2L << 20);
                default -> {
                    if (r.mmu.guestPhysical(r.mmu.currentAddressSpace() < 0 ? r.space : r.mmu.currentAddressSpace(), gva).isPresent()) {
                        r.mmu.access(gva, rnd.nextBoolean());
                    }
                }
            }
            r.mmu.checkShadowRmaps();
        }
    }

    private static long shadowOf(Rig r, int space, long gva) {
        return r.mmu.shadowLookup(space, gva);
    }
}
