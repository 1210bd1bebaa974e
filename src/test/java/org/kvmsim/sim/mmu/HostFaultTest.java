package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;

/**
 * The host-fault term, held to this machine's recording (fixtures/thp/faultcost-256.jsonl, oracle
 * O1: first touch of anonymous memory, 4 KiB pages against THPs, three runs). A 2 MiB range first
 * touched as 512 EPT violations that each fault a 4 KiB page in must cost, in host-fault cycles
 * only, what the kernel's 512 small first touches cost against one THP fault, within the
 * recorded spread of that ratio. Also: a present page, a preallocated one, and a refault after a
 * zap cost no host fault; a 1 GiB page zeroes 262144 pages.
 */
class HostFaultTest {

    private static final CpuModel SKYLAKE = CpuModel.skylake();
    private static final long TWO_MIB = 2L << 20;

    /** Host-fault cycles of one first touch (a write per 4 KiB) of a 2 MiB range, tables preallocated. */
    private static MmuCounters firstTouch2MiB(Paging paging, int hostShift) {
        Rig r = new Rig(paging, SKYLAKE, 4, 4, hostShift);
        // the guest's table pages were touched before: only the range's own faults count
        r.host.prefault(Rig.TABLES_GPA, TWO_MIB);
        for (long off = 0; off < TWO_MIB; off += 4096) {
            r.mmu.access(Rig.GVA + off, true);
        }
        return r.mmu.counters();
    }

    @Test
    void a2MiBFirstTouchIn4KiBPagesAgainstOneThpFallsInTheRecordedRatio() throws Exception {
        Path fixture = Path.of(getClass().getResource("/fixtures/thp/faultcost-256.jsonl").toURI());
        double lo = Double.MAX_VALUE;
        double hi = 0;
        int runs = 0;
        for (String l : Files.readAllLines(fixture)) {
            JsonObject o = JsonParser.parseString(l).getAsJsonObject();
            if (o.has("summary")) {
                assertTrue(o.get("valid").getAsBoolean(), "a recorded run without its 128 THP faults");
                double ratio = o.get("ratio_4k_to_thp_per_2m").getAsDouble();
                lo = Math.min(lo, ratio);
                hi = Math.max(hi, ratio);
                runs++;
            }
        }
        assertEquals(3, runs, "runs in the fixture");
        for (Paging paging : new Paging[] {Paging.EPT, Paging.SHADOW}) {
            MmuCounters small = firstTouch2MiB(paging, 12);
            MmuCounters thp = firstTouch2MiB(paging, 21);
            assertEquals(512, small.hostFaults(), paging + ": 512 faults of 4 KiB");
            assertEquals(1, thp.hostFaults(), paging + ": one THP fault");
            assertEquals(512L * (SKYLAKE.host_fault_cycles() + SKYLAKE.clear_page_cycles()), small.hostFaultCycles());
            assertEquals(SKYLAKE.host_fault_cycles() + 512L * SKYLAKE.clear_page_cycles(), thp.hostFaultCycles());
            double ratio = (double) small.hostFaultCycles() / thp.hostFaultCycles();
            assertTrue(ratio >= lo && ratio <= hi,
                    String.format("%s: kvmsim's 4K:THP ratio %.3f outside the recorded %.3f-%.3f", paging, ratio, lo, hi));
        }
    }

    @Test
    void preallocatedPresentAndZappedPagesTakeNoHostFault() {
        for (Paging paging : new Paging[] {Paging.EPT, Paging.SHADOW}) {
            Rig r = new Rig(paging);
            r.host.prefault(0, 4L << 30);
            for (long off = 0; off < TWO_MIB; off += 4096) {
                r.mmu.access(Rig.GVA + off, true);
            }
            assertEquals(0, r.mmu.counters().hostFaults(), paging + ": preallocated");

            Rig z = new Rig(paging);
            z.mmu.access(Rig.GVA, true);
            long faults = z.mmu.counters().hostFaults();
            long cycles = z.mmu.counters().cycles();
            // the host frame changed (a KSM merge, say): the entry is zapped, the page still there
            z.mmu.invalidateHostPage(Rig.DATA_GPA);
            z.mmu.access(Rig.GVA, false);
            assertEquals(faults, z.mmu.counters().hostFaults(), paging + ": a refault after a zap");
            assertTrue(z.mmu.counters().cycles() > cycles, paging + ": the refault's exit is still paid");
        }
    }

    @Test
    void a1GiBHostPageZeroes262144Pages() {
        Rig r = new Rig(Paging.EPT, SKYLAKE, 4, 4, 30);
        r.host.prefault(Rig.TABLES_GPA, 4096);
        r.mmu.access(Rig.GVA, true);
        MmuCounters c = r.mmu.counters();
        assertEquals(1, c.hostFaults());
        assertEquals(SKYLAKE.host_fault_cycles() + 262_144L * SKYLAKE.clear_page_cycles(), c.hostFaultCycles());
    }

    @Test
    void hostFaultsAreNotInTheNativePrice() {
        MmuCounters c = firstTouch2MiB(Paging.EPT, 12);
        MmuCounters n = firstTouch2MiB(Paging.NATIVE, 12);
        assertEquals(0, n.hostFaultCycles());
        assertEquals(n.nativeCycles(), c.nativeCycles());
        assertEquals(c.cycles(), c.translationCycles() + c.exitCycles() + c.faultCycles() + c.hostFaultCycles());
    }
}
