package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.kvmsim.model.Machine;

/** QEMU's RAM split for pc and q35, and KVM's disallow_lpage at the memslots' edges. */
class MemslotsTest {
    private static final long GIB = 1L << 30, MIB = 1L << 20;

    /** pc_piix.c's and pc_q35.c's examples: below_4g_mem_size by RAM size. */
    @ParameterizedTest
    @CsvSource({"PC, 1024, 1024", "PC, 3583, 3583", "PC, 3584, 3072", "PC, 4096, 3072", "PC, 8192, 3072",
            "Q35, 2815, 2815", "Q35, 2816, 2048", "Q35, 4096, 2048"})
    void lowmemFollowsQemu(Machine m, long ramMib, long lowMib) {
        assertEquals(lowMib * MIB, Memslots.lowmem(m, ramMib * MIB));
    }

    @Test
    void ramAbove4GiBSitsAt4GiB() {
        Memslots s = new Memslots(Machine.PC, 4 * GIB);
        assertEquals(0x100000L >>> 12, s.gpaPage(0x100000L >>> 12));
        assertEquals((4 * GIB) >>> 12, s.gpaPage((3 * GIB) >>> 12));
        assertEquals((3 * GIB) >>> 12, s.ramPage((4 * GIB) >>> 12));
        assertThrows(IllegalArgumentException.class, () -> s.ramPage((3 * GIB) >>> 12));
        assertEquals(2, s.slotOf(4 * GIB + 5).id());
        assertEquals(1, s.slotOf(3 * GIB - 1).id());
        assertEquals(0, s.slotOf(0x9ffffL).id());
        assertNull(s.slotOf(0xa0000L));
        assertNull(s.slotOf(3 * GIB));
    }

    @Test
    void hugeLeavesStopAtTheSlotsEdges() {
        Memslots s = new Memslots(Machine.PC, 2 * GIB);
        long hva = Qemu.RAM_HVA;
        assertEquals(12, s.maxLeafShift(0x1000, 30, hva));          // slot 0 ends at 0xa0000
        assertEquals(12, s.maxLeafShift(0x100000, 30, hva));        // slot 1 starts at 1 MiB
        assertEquals(21, s.maxLeafShift(2 * MIB, 30, hva));         // first GiB: no 1 GiB leaf
        assertEquals(30, s.maxLeafShift(GIB + 4096, 30, hva));
        assertEquals(21, s.maxLeafShift(GIB + 4096, 21, hva));      // never above the host page
        Memslots odd = new Memslots(Machine.PC, 1536 * MIB);         // ends mid-GiB
        assertEquals(21, odd.maxLeafShift(GIB + 4096, 30, hva));
        Memslots q35 = new Memslots(Machine.Q35, 6 * GIB);
        assertEquals(30, q35.maxLeafShift(4 * GIB, 30, hva));        // gpa 4 GiB, ram offset 2 GiB: co-aligned
        assertEquals(21, q35.maxLeafShift(4 * GIB, 30, hva + 2 * MIB)); // not co-aligned at 1 GiB
    }
}
