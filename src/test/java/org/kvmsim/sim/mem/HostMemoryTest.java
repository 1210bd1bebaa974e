package org.kvmsim.sim.mem;

import org.kvmsim.sim.view.MeminfoField;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class HostMemoryTest {

    @Test
    void meminfoHasLinuxNamesOrderAndUnits() {
        HostMemory h = new HostMemory(1L << 30, 1L << 30);
        h.alloc(9, 1);
        h.add(HostMemory.Counter.ANON_PAGES, 512);
        h.add(HostMemory.Counter.ANON_HUGE_PAGES, 512);
        h.add(HostMemory.Counter.PAGE_TABLES, 3);
        h.add(HostMemory.Counter.SEC_PAGE_TABLES, 5);
        List<String> names = h.meminfo().stream().map(MeminfoField::name).toList();
        assertEquals(List.of("MemTotal", "MemFree", "MemAvailable", "AnonPages", "PageTables", "SecPageTables",
                "AnonHugePages", "HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp",
                "Hugepagesize", "Hugetlb"), names);
        String text = h.renderMeminfo();
        assertEquals(String.join("\n",
                "MemTotal:        2097152 kB",
                "MemFree:         2095104 kB",
                "MemAvailable:    2095104 kB",
                "AnonPages:          2048 kB",
                "PageTables:           12 kB",
                "SecPageTables:        20 kB",
                "AnonHugePages:      2048 kB",
                "HugePages_Total:       0",
                "HugePages_Free:        0",
                "HugePages_Rsvd:        0",
                "HugePages_Surp:        0",
                "Hugepagesize:       2048 kB",
                "Hugetlb:               0 kB") + "\n", text);
    }

    @Test
    void allocationFallsBackToOtherNodesInOrder() {
        HostMemory h = new HostMemory(4L << 20, 4L << 20, 4L << 20);
        assertEquals(1024 + 0, h.alloc(10, 1));
        assertEquals(2048, h.alloc(10, 1), "node 1 is full: next is node 2");
        assertEquals(0, h.alloc(10, 1), "then node 0");
        assertEquals(-1, h.alloc(0, 1));
        assertEquals(2, h.nodeOf(2048));
        h.free(2048, 10);
        assertEquals(1024, h.freePages());
    }
}
