package org.kvmsim.sim.hugetlb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.sim.mem.HostMemory;

class HstateTest {

    private static void assertPool(Hstate p, long total, long free, long rsvd, long surp) {
        assertEquals(total, p.total(), "HugePages_Total");
        assertEquals(free, p.free(), "HugePages_Free");
        assertEquals(rsvd, p.reserved(), "HugePages_Rsvd");
        assertEquals(surp, p.surplus(), "HugePages_Surp");
    }

    @Test
    void poolComesFromTheBuddyAndEndsLowerOnAFragmentedHost() {
        HostMemory mem = new HostMemory(64L << 20);
        mem.fragment(0, 1024);
        Hstate p = new HugetlbPools(mem).pool(HugetlbPools.SIZE_2M);
        assertEquals(16, p.setNrHugepages(32), "only the unpinned half of the pageblocks");
        assertPool(p, 16, 16, 0, 0);
        assertEquals(0, p.setNrHugepages(0));
        assertEquals((64L << 20) / 4096 - 16, mem.freePages());
    }

    @Test
    void aPoolOnANodeTakesItsPagesThereWithoutOneTheyAreInterleaved() {
        HostMemory mem = HostMemory.split(1L << 30, 2);
        Hstate p = new HugetlbPools(mem).pool(HugetlbPools.SIZE_2M);
        long perNode = mem.node(0).freeFrames();
        // /sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages
        assertEquals(10, p.setNrHugepages(10, 1));
        assertEquals(perNode, mem.node(0).freeFrames());
        assertEquals(perNode - 10 * 512, mem.node(1).freeFrames());
        // vm.nr_hugepages: the next ten alternate between the nodes
        assertEquals(20, p.setNrHugepages(20));
        assertEquals(perNode - 5 * 512, mem.node(0).freeFrames());
        assertEquals(perNode - 15 * 512, mem.node(1).freeFrames());
        // a node that runs out stops the growth there, as the per-node sysfs file does
        assertEquals(20 + perNode / 512 - 5, p.setNrHugepages(1000, 0));
        assertEquals(0, mem.node(0).freeFrames());
    }

    @Test
    void shrinkingBelowInUseTurnsExcessIntoSurplus() throws HugetlbException {
        HostMemory mem = new HostMemory(1L << 30);
        Hstate p = new HugetlbPools(mem).pool(HugetlbPools.SIZE_2M);
        p.setNrHugepages(10);
        HugetlbMapping m = HugetlbMapping.mmap(p, 10 * HugetlbPools.SIZE_2M, false);
        for (int i = 0; i < 6; i++) {
            assertTrue(m.fault(i));
        }
        assertPool(p, 10, 4, 4, 0);
        assertEquals(2, p.setNrHugepages(2));
        assertPool(p, 10, 4, 4, 8);
        m.munmap();
        assertPool(p, 2, 2, 0, 0);
        assertEquals(2, p.nrHugepages());
    }

    @Test
    void growingTakesSurplusPagesFirst() throws HugetlbException {
        HostMemory mem = new HostMemory(1L << 30);
        Hstate p = new HugetlbPools(mem).pool(HugetlbPools.SIZE_2M);
        p.setNrOvercommitHugepages(4);
        HugetlbMapping m = HugetlbMapping.mmap(p, 3 * HugetlbPools.SIZE_2M, false);
        assertPool(p, 3, 3, 3, 3);
        long before = mem.freePages();
        assertEquals(2, p.setNrHugepages(2));
        assertPool(p, 3, 3, 3, 1);
        assertEquals(before, mem.freePages(), "no new page was needed");
        m.munmap();
        assertPool(p, 2, 2, 0, 0);
    }

    @Test
    void gigantic1GiBPagesUseOrder18AndCountInHugetlb() throws HugetlbException {
        HostMemory mem = new HostMemory(4L << 30);
        HugetlbPools pools = new HugetlbPools(mem);
        Hstate g = pools.pool(HugetlbPools.SIZE_1G);
        assertEquals(18, g.order());
        assertEquals(2, g.setNrHugepages(2));
        mem.alloc(0, 0);
        assertEquals(3, g.setNrHugepages(4), "the fourth GiB has a 4 KiB page taken");
        assertEquals(3L << 20, pools.hugetlbKb());
        assertEquals(0, pools.hugePagesTotal(), "HugePages_Total is the 2 MiB default size");
        HugetlbMapping m = HugetlbMapping.mmap(g, 2L << 30, false);
        assertTrue(m.fault(1));
        assertEquals(1, g.reserved());
        assertThrows(HugetlbException.class, () -> HugetlbMapping.mmap(g, 2L << 30, false));
    }

    @Test
    void qemuMessageIsExact() {
        assertEquals("unable to map backing store for guest RAM: Cannot allocate memory",
                HugetlbException.QEMU_MAP_FAILED);
    }
}
