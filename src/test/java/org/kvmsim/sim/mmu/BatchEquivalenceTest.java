package org.kvmsim.sim.mmu;

import org.kvmsim.model.Paging;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.kvmsim.model.CpuModel;

/**
 * The batch entry point ({@link Mmu#access(long[], boolean[], int, int)}), with its one-pass TLB
 * fills and fast paths, must count exactly what one {@link Mmu#access(long, boolean)} per access
 * counts. Random CPU geometries (caches shrunk or switched off), paging modes, host page sizes,
 * one or two VMs on the CPU with and without VPID, 4 KiB or also 2 MiB guest pages, and a random
 * mix of accesses, CR3 loads, INVLPGs, unmaps and host-page invalidations run twice from the
 * same start, once batched and once access by access; every VM's counters and table bytes
 * must agree.
 */
class BatchEquivalenceTest {

    private static final String[][] KNOBS = {
        {"l1_4k_entries", "0", "16", "64"},
        {"stlb_entries", "0", "96", "1536"},
        {"psc_pde_entries", "0", "2", "32"},
        {"psc_pdpt_entries", "0", "4"},
        {"ntlb_entries", "0", "4", "16"},
        {"npsc_pde_entries", "0", "2", "32"},
        {"vpid", "0", "1"},
    };

    @Property(tries = 60, seed = "20261126")
    void batchedAccessesCountAsSingleOnes(@ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Paging paging = Paging.values()[r.nextInt(Paging.values().length)];
        CpuModel m = r.nextBoolean() ? CpuModel.skylake() : CpuModel.zen2();
        for (String[] k : KNOBS) {
            if (r.nextInt(3) == 0) {
                try {
                    m = m.with(k[0], Long.parseLong(k[1 + r.nextInt(k.length - 1)]));
                } catch (IllegalArgumentException geometryNotPossible) {
                    // e.g. 16 entries in a 64-way fully associative L1: keep the preset's
                }
            }
        }
        int hostShift = r.nextBoolean() ? 12 : 21;
        int vms = 1 + r.nextInt(2);
        boolean hugeGuest = r.nextBoolean();
        long opsSeed = r.nextLong();
        String batched = run(paging, m, hostShift, vms, hugeGuest, opsSeed, true);
        String single = run(paging, m, hostShift, vms, hugeGuest, opsSeed, false);
        assertEquals(single, batched, paging + " " + m + " host shift " + hostShift + ", " + vms + " VM(s), huge " + hugeGuest);
    }

    private static String run(Paging paging, CpuModel model, int hostShift, int vms, boolean hugeGuest, long seed, boolean batch) {
        Cpu cpu;
        try {
            cpu = new Cpu(model);
        } catch (IllegalArgumentException e) {
            return "geometry refused: " + e.getMessage();
        }
        Mmu[] mm = new Mmu[vms];
        int[][] spaces = new int[vms][2];
        for (int v = 0; v < vms; v++) {
            LinearHostBacking host = new LinearHostBacking(1L << 34, hostShift, (1L << 38) + ((long) v << 36));
            Mmu mmu = new Mmu(paging, cpu, 4 + v, 4, host, 0x7f80_0000_0000L);
            long[] nt = {0x1000_0000L};
            long[] nd = {0x4000_0000L};
            for (int s = 0; s < 2; s++) {
                spaces[v][s] = mmu.newAddressSpace(() -> {
                    long x = nt[0];
                    nt[0] += 4096;
                    return x;
                });
            }
            mmu.setGuestFaultHandler((mu, sp, gva, write) -> {
                // with hugeGuest, the second GiB of the workload area is mapped with 2 MiB pages
                long size = hugeGuest && (gva >>> 30 & 1) == 1 ? (2L << 20) : 4096;
                nd[0] = (nd[0] + size - 1) & -size;
                mu.map(sp, gva & -size, nd[0], size, true);
                nd[0] += size;
            });
            mm[v] = mmu;
        }
        SplittableRandom r = new SplittableRandom(seed);
        int vm = 0;
        long[] g = new long[700];
        boolean[] w = new boolean[700];
        for (int i = 0; i < 2000; i++) {
            int op = r.nextInt(1000);
            if (op < 5 && vms > 1) {
                vm = (vm + 1) % vms;
            }
            Mmu mmu = mm[vm];
            long gva = 0x7f00_0000_0000L + ((long) r.nextInt(2) << 30)
                    + ((long) Math.min(r.nextInt(3000), r.nextInt(3000)) << 12) + r.nextInt(4096);
            if (op < 10) {
                mmu.loadCr3(spaces[vm][r.nextInt(2)]);
            } else if (op < 15) {
                mmu.invlpg(gva);
            } else if (op < 20) {
                try {
                    mmu.unmap(spaces[vm][0], gva & ~0xFFFL);
                } catch (RuntimeException notMapped) {
                    // nothing mapped there
                }
            } else if (op < 25) {
                mmu.invalidateHostPage(((long) r.nextInt(1 << 16)) << 12);
            } else {
                // mostly short batches, some long
                int n = 1 + r.nextInt(r.nextInt(5) == 0 ? g.length : 64);
                for (int k = 0; k < n; k++) {
                    g[k] = r.nextInt(4) == 0 ? gva : 0x7f00_0000_0000L + ((long) r.nextInt(2) << 30)
                            + ((long) Math.min(r.nextInt(3000), r.nextInt(3000)) << 12);
                    w[k] = r.nextInt(4) == 0;
                }
                if (batch) {
                    mmu.access(g, w, 0, n);
                } else {
                    for (int k = 0; k < n; k++) {
                        mmu.access(g[k], w[k]);
                    }
                }
            }
        }
        StringBuilder out = new StringBuilder();
        for (Mmu mmu : mm) {
            out.append(mmu.counters()).append(' ').append(mmu.secondaryTableBytes()).append('\n');
        }
        return out.toString();
    }
}
