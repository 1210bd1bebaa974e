package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;

/**
 * Optimisations of the translation path must not change what it counts. A fixed, seeded mix of
 * accesses (batched and single), CR3 loads, INVLPGs, unmaps and host-page invalidations, with
 * 4 KiB and 2 MiB guest pages, runs under every paging mode on both presets, with 4 KiB and
 * 2 MiB host backing, one VM or two sharing a CPU, with and without VPID (and on skylake with the
 * guest's PCIDs, and without, as recorded first); every VM's counters
 * and secondary table bytes must equal the recorded ones (counters.txt beside this class,
 * recorded before the hot-path rewrite of the bench work).
 *
 * <p>A deliberate change of the model's semantics changes these numbers: regenerate the file
 * with {@code KVMSIM_RECORD_COUNTERS=path} set (the test then writes the current output there)
 * and say in the commit why the numbers moved.
 */
class CountersUnchangedTest {

    @Test
    void countersMatchTheRecording() throws IOException {
        StringBuilder out = new StringBuilder();
        for (Paging pg : Paging.values()) {
            for (String cpuName : new String[] {"skylake", "zen2"}) {
                for (int hostShift : new int[] {12, 21}) {
                    for (int vms : new int[] {1, 2}) {
                        for (boolean vpid : new boolean[] {true, false}) {
                            run(out, pg, cpuName, hostShift, vms, vpid, false);
                        }
                    }
                }
            }
        }
        // the guest's PCIDs (recorded after the lines above, which predate them): skylake only,
        // zen2 has none
        for (Paging pg : Paging.values()) {
            for (int hostShift : new int[] {12, 21}) {
                for (int vms : new int[] {1, 2}) {
                    for (boolean vpid : new boolean[] {true, false}) {
                        run(out, pg, "skylake", hostShift, vms, vpid, true);
                    }
                }
            }
        }
        String record = System.getenv("KVMSIM_RECORD_COUNTERS");
        if (record != null) {
            Files.writeString(Path.of(record), out);
        }
        String expected;
        try (InputStream in = CountersUnchangedTest.class.getResourceAsStream("counters.txt")) {
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String[] want = expected.split("\n");
        String[] got = out.toString().split("\n");
        assertEquals(want.length, got.length, "configurations");
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i]);
        }
    }

    private static void run(StringBuilder out, Paging pg, String cpuName, int hostShift, int vms, boolean vpid,
                            boolean pcid) {
        CpuModel m = CpuModel.preset(cpuName);
        if (!vpid) m = m.with("vpid", 0);
        Cpu cpu = new Cpu(m);
        Mmu[] mm = new Mmu[vms];
        int[][] spaces = new int[vms][3];
        SplittableRandom r = new SplittableRandom(1234 + vms * 7 + hostShift);
        for (int v = 0; v < vms; v++) {
            LinearHostBacking host = new LinearHostBacking(1L << 34, hostShift, (1L << 38) + ((long) v << 36));
            Mmu mmu = new Mmu(pg, cpu, v == 1 ? 5 : 4, 4, host, 0x7f80_0000_0000L);
            mmu.setGuestPcid(pcid);
            long[] nt = {0x1000_0000L};
            long[] nd = {0x4000_0000L};
            for (int s = 0; s < 3; s++) spaces[v][s] = mmu.newAddressSpace(() -> { long x = nt[0]; nt[0] += 4096; return x; });
            mmu.setGuestFaultHandler((mu, sp, gva, write) -> {
                long size = (gva >>> 30 & 3) == 1 ? (2L << 20) : 4096;
                nd[0] = (nd[0] + size - 1) & -size;
                mu.map(sp, gva & -size, nd[0], size, true);
                nd[0] += size;
            });
            mm[v] = mmu;
        }
        int vm = 0;
        for (int i = 0; i < 60_000; i++) {
            int op = r.nextInt(1000);
            if (op < 3 && vms > 1) vm = (vm + 1) % vms;
            Mmu mmu = mm[vm];
            long gva = 0x7f00_0000_0000L + ((long) r.nextInt(4) << 30) + ((long) (Math.min(r.nextInt(4000), r.nextInt(4000))) << 12) + r.nextInt(4096);
            if (op == 5) mmu.loadCr3(spaces[vm][r.nextInt(3)]);
            else if (op == 6) mmu.invlpg(gva);
            else if (op == 7) mmu.unmap(spaces[vm][0], gva & ~0xFFFL);
            else if (op == 8) mmu.invalidateHostPage(((long) r.nextInt(1 << 18)) << 12);
            else if (op < 300) {
                long[] g = new long[8]; boolean[] w = new boolean[8];
                for (int k = 0; k < 8; k++) { g[k] = gva + ((long) k << 12); w[k] = r.nextBoolean(); }
                mmu.access(g, w, 0, 8);
            } else mmu.access(gva, r.nextInt(5) == 0);
        }
        for (int v = 0; v < vms; v++) {
            out.append(pcid ? "pcid " : "").append(pg).append(' ').append(cpuName).append(' ').append(hostShift).append(' ').append(vms).append(' ').append(vpid).append(" vm").append(v).append(' ')
               .append(mm[v].counters()).append(' ').append(mm[v].secondaryTableBytes()).append('\n');
        }
    }
}
