package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** The native price read off the VM's own walks (mirroring) equals the separate native model's. */
class NativePriceTest {

    private static MmuCounters run(Paging paging, int hostShift, long guestPage, boolean mirror, boolean secondVm) {
        Cpu cpu = new Cpu(CpuModel.skylake().with("stlb_entries", 96).with("psc_pde_entries", 4));
        Rig r = new Rig(paging, cpu, 4, 4, hostShift);
        Rig other = secondVm ? new Rig(paging, cpu, 4, 4, hostShift) : null;
        if (!mirror) {
            r.mmu.disableMirror();
        }
        int pages = 4096;
        long span = pages * 4096L;
        for (long off = 0; off < span; off += guestPage) {
            r.map(Rig.GVA + off, guestPage);
            if (other != null) {
                other.map(Rig.GVA + off, guestPage);
            }
        }
        SplittableRandom rnd = new SplittableRandom(3);
        Zipf z = new Zipf(pages, 0.9, 5);
        for (int i = 0; i < 200_000; i++) {
            long gva = Rig.GVA + Zipf.scatter(z.next(), 12) * 4096L + 8;
            r.mmu.access(gva, rnd.nextInt(4) == 0);
            if (i % 50_000 == 49_999) {
                r.mmu.loadCr3(r.space);
            }
            if (i % 7_919 == 0) {
                r.mmu.invlpg(gva);
            }
            if (other != null && i == 100_000) {
                other.mmu.access(Rig.GVA, false);
            }
        }
        return r.mmu.counters();
    }

    @Test
    void mirroredNativePriceEqualsTheSeparateModel() {
        Object[][] cases = {
            {Paging.EPT, 12, 4096L, false},
            {Paging.EPT, 21, 4096L, false},
            {Paging.EPT, 21, 2L << 20, false},
            {Paging.EPT, 12, 2L << 20, false},
            {Paging.NATIVE, 12, 4096L, false},
            {Paging.EPT, 12, 4096L, true},
        };
        for (Object[] c : cases) {
            Paging p = (Paging) c[0];
            int hostShift = (Integer) c[1];
            long guestPage = (Long) c[2];
            boolean second = (Boolean) c[3];
            MmuCounters m = run(p, hostShift, guestPage, true, second);
            MmuCounters s = run(p, hostShift, guestPage, false, second);
            String what = p + " host " + hostShift + " guest " + guestPage + (second ? " with a second VM" : "");
            assertEquals(s.nativeWalkRefs(), m.nativeWalkRefs(), what);
            assertEquals(s.nativeCycles(), m.nativeCycles(), what);
            assertEquals(s.cycles(), m.cycles(), what);
            assertTrue(m.nativeWalkRefs() > 0, what);
        }
    }
}
