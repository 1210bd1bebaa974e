package org.kvmsim.sim.mem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BuddyAllocatorTest {
    private static final int GIB_FRAMES = 1 << 18;

    @Test
    void freshNodeIsOneGigabyteBlockAndSplitsLowHalfFirst() {
        BuddyAllocator b = new BuddyAllocator(GIB_FRAMES);
        long[] c = b.freeCounts();
        assertEquals(1, c[18]);
        assertEquals(0, b.alloc(0));
        c = b.freeCounts();
        for (int k = 0; k < 18; k++) {
            assertEquals(1, c[k], "one free block left over at order " + k);
        }
        assertEquals(0, c[18]);
        assertEquals(1, b.alloc(0));
        assertEquals(2, b.alloc(1));
        assertEquals(512, b.alloc(9));
        assertEquals(GIB_FRAMES - 1 - 1 - 2 - 512, b.freeFrames());
    }

    @Test
    void freeingEverythingMergesBackToOneBlock() {
        BuddyAllocator b = new BuddyAllocator(GIB_FRAMES);
        int[] got = new int[GIB_FRAMES];
        for (int i = 0; i < GIB_FRAMES; i++) {
            got[i] = b.alloc(0);
        }
        assertEquals(-1, b.alloc(0));
        assertEquals(0, b.freeFrames());
        for (int i = GIB_FRAMES - 1; i >= 0; i -= 2) {
            b.free(got[i], 0);
        }
        for (int i = 0; i < GIB_FRAMES; i += 2) {
            b.free(got[i], 0);
        }
        long[] c = b.freeCounts();
        assertEquals(1, c[18]);
        for (int k = 0; k < 18; k++) {
            assertEquals(0, c[k], "order " + k);
        }
        assertEquals(0, b.liveChunks(), "no sub-2 MiB free block, so no chunk should stay alive");
    }

    @Test
    void everyOtherPageFreeMeansNoTwoMegabyteBlock() {
        BuddyAllocator b = new BuddyAllocator(GIB_FRAMES);
        for (int i = 0; i < GIB_FRAMES; i++) {
            assertEquals(i, b.alloc(0));
        }
        for (int i = 1; i < GIB_FRAMES; i += 2) {
            b.free(i, 0);
        }
        assertEquals(GIB_FRAMES / 2, b.freeFrames(), "half the memory is free");
        assertEquals(GIB_FRAMES / 2, b.freeCounts()[0]);
        assertEquals(0, b.largestFreeOrder());
        assertEquals(-1, b.alloc(9), "but a 2 MiB allocation fails");
        assertEquals(-1, b.alloc(1));
        assertTrue(b.alloc(0) >= 0);
    }

    @Test
    void hostFragmentWithStrideOfAPageblockDefeats2MiBWith998PercentFree() {
        HostMemory h = new HostMemory(1L << 30);
        long pinned = h.fragment(0, 512);
        assertEquals(512, pinned);
        assertEquals(GIB_FRAMES - 512, h.freePages());
        assertFalse(h.canAlloc(9));
        assertEquals(8, h.node(0).largestFreeOrder());
        h.unfragment(0);
        assertEquals(1, h.node(0).freeCounts()[18]);
    }

    @Test
    void oddSizedNodeIsSeededWithAlignedBlocks() {
        long frames = GIB_FRAMES + 3 * 512 + 1;
        BuddyAllocator b = new BuddyAllocator(frames);
        assertEquals(frames, b.freeFrames());
        long[] c = b.freeCounts();
        assertEquals(1, c[18]);
        assertEquals(1, c[10]);
        assertEquals(1, c[9]);
        assertEquals(1, c[0]);
        int last = -1;
        for (int f; (f = b.alloc(0)) >= 0; ) {
            last = Math.max(last, f);
        }
        assertEquals(frames - 1, last);
    }

    @Test
    void sameCallsGiveSameFramesAndBlocksNeverOverlap() {
        assertArrayEquals(randomRun(42), randomRun(42));
    }

    private static int[] randomRun(long seed) {
        int frames = 1 << 16;
        BuddyAllocator b = new BuddyAllocator(frames);
        Random r = new Random(seed);
        BitSet used = new BitSet(frames);
        List<int[]> live = new ArrayList<>();
        int[] trace = new int[20_000];
        long usedFrames = 0;
        for (int i = 0; i < trace.length; i++) {
            if (live.isEmpty() || r.nextInt(3) > 0) {
                int order = r.nextInt(4) == 0 ? r.nextInt(10) : 0;
                int f = b.alloc(order);
                trace[i] = f;
                if (f >= 0) {
                    assertEquals(0, f & ((1 << order) - 1), "alignment");
                    assertTrue(used.get(f, f + (1 << order)).isEmpty(), "overlap at " + f);
                    used.set(f, f + (1 << order));
                    usedFrames += 1 << order;
                    live.add(new int[] {f, order});
                }
            } else {
                int[] blk = live.remove(r.nextInt(live.size()));
                b.free(blk[0], blk[1]);
                used.clear(blk[0], blk[0] + (1 << blk[1]));
                usedFrames -= 1 << blk[1];
                trace[i] = -2 - blk[0];
            }
            assertEquals(frames - usedFrames, b.freeFrames());
        }
        long sum = 0;
        long[] c = b.freeCounts();
        for (int k = 0; k < c.length; k++) {
            sum += c[k] << k;
        }
        assertEquals(b.freeFrames(), sum, "buddyinfo adds up to the free frames");
        return trace;
    }

    @Test
    void doubleFreeIsRefused() {
        BuddyAllocator b = new BuddyAllocator(1024);
        int f = b.alloc(0);
        b.alloc(0);
        b.free(f, 0);
        assertThrows(IllegalStateException.class, () -> b.free(f, 0));
    }

    @Test
    void aTerabyteHostStartsSmallAndStaysSmallWhileAllocatingInARow() {
        HostMemory h = HostMemory.split(1L << 40, 2);
        assertEquals(1L << 28, h.totalPages());
        assertEquals(512, h.node(0).freeCounts()[18]);
        for (int i = 0; i < 1_000_000; i++) {
            assertTrue(h.alloc(0, 0) >= 0);
        }
        assertTrue(h.node(0).liveChunks() <= 2, "chunks follow fragmentation, not allocation");
    }
}
