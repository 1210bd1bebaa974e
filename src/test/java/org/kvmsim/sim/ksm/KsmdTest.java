package org.kvmsim.sim.ksm;

import org.kvmsim.sim.view.KsmCounters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Focused rules of mm/ksm.c, one per test. */
class KsmdTest {

    /** Fills a region: pages [0, same) = content 7, the rest unique to `salt`. */
    static long[] vm(int pages, int same, long salt) {
        long[] c = new long[pages];
        for (int p = 0; p < pages; p++) {
            c[p] = p < same ? 7 : (salt << 32) + p + 1000;
        }
        return c;
    }

    static Ksmd ksmd(int pagesToScan, long[]... vms) {
        Ksmd k = new Ksmd();
        k.setPagesToScan(pagesToScan);
        k.setSmartScan(false);
        for (long[] v : vms) {
            k.addSlot(new ArrayRegion(v));
        }
        k.setRun(1);
        return k;
    }

    static void fullScans(Ksmd k, int n) {
        long target = k.counters().fullScans() + n;
        for (int i = 0; i < 1_000_000 && k.counters().fullScans() < target; i++) {
            k.wakeUp(i * 20_000_000L);
        }
    }

    @Test
    void nothingMergesBeforeTheSecondFullScan() {
        Ksmd k = ksmd(1000, vm(100, 50, 1), vm(100, 50, 2));
        fullScans(k, 1);
        KsmCounters c = k.counters();
        assertEquals(0, c.pagesShared());
        assertEquals(200, c.pagesVolatile());
        fullScans(k, 1);
        c = k.counters();
        assertEquals(1, c.pagesShared());
        assertEquals(99, c.pagesSharing());
        assertEquals(100, c.pagesUnshared());
    }

    @Test
    void fullScanEndsTheWakeUpAndAnExactMultipleNeedsAnEmptyWakeUp() {
        Ksmd k = ksmd(100, vm(100, 0, 1), vm(100, 0, 2));
        assertEquals(100, k.wakeUp(0));
        assertEquals(100, k.wakeUp(1));
        assertEquals(0, k.counters().fullScans());
        assertEquals(0, k.wakeUp(2)); // only finds the end of the last mm_slot
        assertEquals(1, k.counters().fullScans());
        Ksmd k2 = ksmd(150, vm(100, 0, 1), vm(100, 0, 2));
        assertEquals(150, k2.wakeUp(0));
        assertEquals(50, k2.wakeUp(1)); // rest of the batch unused
        assertEquals(1, k2.counters().fullScans());
    }

    @Test
    void unstableTreeIsEmptiedEveryFullScan() {
        // two identical pages seen in different full scans never meet in the unstable tree
        long[] a = vm(10, 0, 1);
        Ksmd k = ksmd(1000, a);
        fullScans(k, 3);
        assertEquals(10, k.counters().pagesUnshared());
        assertEquals(3, k.history().size());
    }

    @Test
    void cowBreakUpdatesCountersWhenKsmdRevisitsThePage() {
        long[] a = vm(10, 10, 1);
        long[] b = vm(10, 10, 2);
        Ksmd k = ksmd(1000, a, b);
        fullScans(k, 2);
        assertEquals(1, k.counters().pagesShared());
        assertEquals(19, k.counters().pagesSharing());
        a[0] = 99;
        assertEquals(Ksmd.Cow.KSM_PAGE, k.onWrite(0, 0));
        assertEquals(Ksmd.Cow.NONE, k.onWrite(0, 0));
        assertEquals(19, k.counters().pagesSharing()); // nothing until ksmd comes back
        fullScans(k, 1);
        assertEquals(18, k.counters().pagesSharing());
        assertEquals(1, k.counters().pagesVolatile());
    }

    @Test
    void lastSharerKeepsTheKsmPageUntilItWritesToo() {
        long[] a = vm(2, 2, 1);
        Ksmd k = ksmd(1000, a);
        fullScans(k, 2);
        assertEquals(1, k.counters().pagesShared());
        assertEquals(1, k.counters().pagesSharing());
        a[0] = 50;
        k.onWrite(0, 0);
        fullScans(k, 1);
        assertEquals(1, k.counters().pagesShared()); // one mapping left, still a KSM page
        assertEquals(0, k.counters().pagesSharing());
        a[1] = 51;
        k.onWrite(0, 1);
        fullScans(k, 1);
        assertEquals(0, k.counters().pagesShared()); // freed: the stale node is pruned
    }

    @Test
    void maxPageSharingMakesChainsOfDups() {
        Ksmd k = new Ksmd();
        k.setSmartScan(false);
        k.setMaxPageSharing(2);
        k.setPagesToScan(1000);
        k.addSlot(new ArrayRegion(vm(7, 7, 1)));
        k.setRun(1);
        fullScans(k, 2);
        KsmCounters c = k.counters();
        assertEquals(3, c.pagesShared());    // 3 dups of 2 sharers
        assertEquals(3, c.pagesSharing());
        assertEquals(1, c.pagesUnshared());  // the 7th page waits for a partner
        assertEquals(1, c.stableNodeChains());
        assertEquals(3, c.stableNodeDups());
        assertThrows(KsmKnobException.class, () -> k.setMaxPageSharing(3));
    }

    @Test
    void smartScanSkipsForOneTwoFourThenEightScans() {
        Ksmd k = new Ksmd();
        k.setPagesToScan(1000);
        k.addSlot(new ArrayRegion(vm(1, 0, 1)));
        k.setRun(1);
        StringBuilder pattern = new StringBuilder();
        long skipped = 0;
        for (int scan = 1; scan <= 24; scan++) {
            fullScans(k, 1);
            long s = k.counters().pagesSkipped();
            pattern.append(s > skipped ? 'S' : '.');
            skipped = s;
        }
        assertEquals("....S.SS.SSSS.SSSSSSSS.S", pattern.toString());
    }

    @Test
    void useZeroPagesMapsTheZeroPageAndFreesTheRmapItemNextScan() {
        long[] a = new long[10];
        Ksmd k = new Ksmd();
        k.setSmartScan(false);
        k.setUseZeroPages(true);
        k.setPagesToScan(1000);
        k.addSlot(new ArrayRegion(a));
        k.setRun(1);
        fullScans(k, 2);
        assertEquals(10, k.counters().ksmZeroPages());
        assertEquals(10, k.counters().rmapItems());
        fullScans(k, 1);
        assertEquals(0, k.counters().rmapItems());
        a[3] = 5;
        assertEquals(Ksmd.Cow.ZERO_PAGE, k.onWrite(0, 3));
        assertEquals(9, k.counters().ksmZeroPages());
    }

    @Test
    void runTwoUnmergesEverythingAndResetsFullScans() {
        Ksmd k = ksmd(1000, vm(20, 20, 1), vm(20, 20, 2));
        fullScans(k, 2);
        assertEquals(39, k.counters().pagesSharing());
        k.setRun(2);
        KsmCounters c = k.counters();
        assertEquals(0, c.pagesShared());
        assertEquals(0, c.pagesSharing());
        assertEquals(0, c.rmapItems());
        assertEquals(0, c.fullScans());
        assertTrue(!k.isMerged(0, 0));
        assertEquals(0, k.wakeUp(0)); // run = 2 does not scan
    }

    @Test
    void removedSlotLeavesWhenKsmdReachesIt() {
        Ksmd k = ksmd(1000, vm(10, 10, 1), vm(10, 10, 2));
        fullScans(k, 2);
        k.removeSlot(1);
        assertEquals(20, k.counters().rmapItems()); // still counted
        fullScans(k, 1);
        KsmCounters c = k.counters();
        assertEquals(10, c.rmapItems());
        assertEquals(1, c.pagesShared());
        assertEquals(9, c.pagesSharing());
    }

    @Test
    void advisorOwnsPagesToScan() {
        Ksmd k = new Ksmd();
        k.setAdvisorMode("scan-time");
        assertEquals(500, k.knobs().pagesToScan());
        assertThrows(KsmKnobException.class, () -> k.setPagesToScan(10));
        k.setAdvisorMode("none");
        assertEquals(100, k.knobs().pagesToScan());
    }

    @Test
    void mergeAcrossNodesOffKeepsOneTreePerNode() {
        long[] c = vm(4, 4, 1);
        MergeableRegion twoNodes = new MergeableRegion() {
            public int pages() { return c.length; }
            public long content(int p) { return c[p]; }
            public int node(int p) { return p % 2; }
        };
        Ksmd k = new Ksmd();
        k.setSmartScan(false);
        k.setMergeAcrossNodes(false);
        k.setPagesToScan(100);
        k.addSlot(twoNodes);
        k.setRun(1);
        fullScans(k, 2);
        assertEquals(2, k.counters().pagesShared());
        assertEquals(2, k.counters().pagesSharing());
    }
}
