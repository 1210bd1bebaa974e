package org.kvmsim.sim.mmu;

import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;

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

    /**
     * The native price is what the same accesses cost without virtualization, so it cannot depend
     * on how the VM is virtualized: every paging mode, host page size and VPID setting must price
     * one stream (with guest page faults, 4 KiB and 2 MiB guest pages, CR3 loads, INVLPGs, unmaps
     * and host-page invalidations) the same.
     */
    @Test
    void theNativePriceDoesNotDependOnTheVirtualization() {
        String expected = null;
        for (Paging p : Paging.values()) {
            for (int hostShift : new int[] {12, 21}) {
                for (boolean vpid : new boolean[] {true, false}) {
                    String got = nativePrice(p, hostShift, vpid);
                    String what = p + " host " + hostShift + " vpid " + vpid;
                    if (expected == null) {
                        expected = got;
                    }
                    assertEquals(expected, got, what);
                }
            }
        }
    }

    private static String nativePrice(Paging paging, int hostShift, boolean vpid) {
        Cpu cpu = new Cpu(CpuModel.skylake().with("vpid", vpid ? 1 : 0));
        LinearHostBacking host = new LinearHostBacking(1L << 34, hostShift, 1L << 38);
        Mmu mmu = new Mmu(paging, cpu, 4, 4, host, 0x7f80_0000_0000L);
        long[] nt = {0x1000_0000L};
        long[] nd = {0x4000_0000L};
        int[] spaces = new int[3];
        for (int s = 0; s < 3; s++) {
            spaces[s] = mmu.newAddressSpace(() -> {
                long x = nt[0];
                nt[0] += 4096;
                return x;
            });
        }
        mmu.setGuestFaultHandler((mu, sp, gva, write) -> {
            long size = (gva >>> 30 & 3) == 1 ? (2L << 20) : 4096;
            nd[0] = (nd[0] + size - 1) & -size;
            mu.map(sp, gva & -size, nd[0], size, true);
            nd[0] += size;
        });
        SplittableRandom r = new SplittableRandom(99);
        long[] batch = new long[100];
        for (int i = 0; i < 40_000; i++) {
            int op = r.nextInt(1000);
            long gva = 0x7f00_0000_0000L + ((long) r.nextInt(4) << 30)
                    + ((long) Math.min(r.nextInt(4000), r.nextInt(4000)) << 12) + r.nextInt(4096);
            if (op == 5) {
                mmu.loadCr3(spaces[r.nextInt(3)]);
            } else if (op == 6) {
                mmu.invlpg(gva);
            } else if (op == 7) {
                try {
                    mmu.unmap(spaces[0], gva & ~0xFFFL);
                } catch (RuntimeException notMapped) {
                    // nothing mapped there
                }
            } else if (op == 8) {
                mmu.invalidateHostPage(((long) r.nextInt(1 << 18)) << 12);
            } else if (op < 100) {
                for (int k = 0; k < batch.length; k++) {
                    batch[k] = gva + ((long) k << 12);
                }
                mmu.access(batch, null, 0, batch.length);
            } else {
                mmu.access(gva, r.nextInt(5) == 0);
            }
        }
        MmuCounters c = mmu.counters();
        return c.nativeWalkRefs() + " refs, " + c.nativeCycles() + " cycles, " + c.guestFaults() + " faults";
    }
}
