package org.kvmsim.sim.mem;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The binary buddy allocator of one NUMA node, over 4 KiB frames, orders 0..18 (4 KiB .. 1 GiB).
 *
 * <p>What it does, as Linux mm/page_alloc.c does: a free block of order k is 2^k frames aligned
 * to 2^k; allocating order k takes the head of the first non-empty free list of order >= k and
 * splits it, putting each upper half back on the list one order lower ({@code expand()});
 * freeing a block merges it with its buddy (frame ^ 2^k) as long as the buddy is a free block of
 * the same order ({@code __free_one_page()}). Free lists are LIFO: freed blocks go to the head
 * and allocation takes the head, so the same sequence of calls yields the same frames.
 * {@link #freeCounts()} is the node's line of /proc/buddyinfo.
 *
 * <p>Data structures, chosen so that a 1 TiB node costs a few MiB up front, not 2 GiB:
 * <ul>
 *   <li>Free lists are intrusive doubly linked int lists over frame numbers, one head per order.
 *   <li>Blocks of order >= 9 (2 MiB, the pageblock) start on a pageblock boundary, so their
 *       links and their "free head of order k" mark live in dense arrays indexed by pageblock:
 *       9 bytes per 2 MiB (4.5 MiB for 1 TiB).
 *   <li>Blocks of order < 9 keep links and marks in a {@link Chunk} of the pageblock, created
 *       when the pageblock first holds a free block below 2 MiB and recycled when it holds none.
 *       Memory therefore follows fragmentation, not size: allocating 64 M frames in a row keeps
 *       about one chunk alive; a pathologically fragmented host costs ~9 bytes per frame of
 *       fragmented pageblocks (a dense next/prev pair per frame would be 8 bytes/frame for
 *       every frame, 2 GiB for 1 TiB, paid up front).
 *   <li>A fresh node is seeded with maximal aligned blocks (1 GiB ones where possible), so a
 *       1 TiB host starts with 1024 list entries: instantly.
 * </ul>
 *
 * <p>Where it differs from Linux: a single zone and migrate type per node (no
 * MIGRATE_MOVABLE/UNMOVABLE fallback stealing, no per-cpu lists, no watermarks); MAX_ORDER is 18
 * so 1 GiB pages come from the buddy itself (Linux's MAX_PAGE_ORDER is 10 and gigantic pages come
 * from alloc_contig_range()/CMA, which can migrate movable pages); there is no compaction, so a
 * fragmented node stays fragmented until the owners free their frames. Frame numbers are
 * node-local ints (a node holds at most 2^31 - 1 frames, 8 TiB).
 */
public final class BuddyAllocator {
    /** Largest order: 2^18 frames of 4 KiB = 1 GiB. */
    public static final int MAX_ORDER = 18;
    /** Order of a pageblock (2 MiB): below it, links live in per-pageblock chunks. */
    public static final int PAGEBLOCK_ORDER = 9;
    private static final int PB_FRAMES = 1 << PAGEBLOCK_ORDER;
    private static final int PB_MASK = PB_FRAMES - 1;
    private static final int NONE = -1;
    private static final int CHUNK_POOL = 256;

    /** Links and free marks of the sub-2 MiB free blocks of one pageblock. */
    private static final class Chunk {
        final int[] next = new int[PB_FRAMES];
        final int[] prev = new int[PB_FRAMES];
        /** order + 1 where the frame heads a free block of that order, else 0. */
        final byte[] order = new byte[PB_FRAMES];
        int count;
    }

    private final int frames;
    private final int[] bigNext;
    private final int[] bigPrev;
    private final byte[] bigOrder;
    private final Chunk[] chunks;
    private final ArrayDeque<Chunk> spareChunks = new ArrayDeque<>();
    private final int[] head = new int[MAX_ORDER + 1];
    private final long[] nrFree = new long[MAX_ORDER + 1];
    private long freeFrames;

    /** A node of {@code frames} 4 KiB frames, all free. */
    public BuddyAllocator(long frames) {
        if (frames <= 0 || frames > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a node holds 1 .. 2^31-1 frames, not " + frames);
        }
        this.frames = (int) frames;
        int pageblocks = (int) ((frames + PB_MASK) >>> PAGEBLOCK_ORDER);
        bigNext = new int[pageblocks];
        bigPrev = new int[pageblocks];
        bigOrder = new byte[pageblocks];
        chunks = new Chunk[pageblocks];
        Arrays.fill(head, NONE);
        seed();
    }

    /** Frees [0, frames) as maximal aligned blocks; lowest address ends at the list heads. */
    private void seed() {
        int n = 0;
        int[] starts = new int[64 + (frames >>> MAX_ORDER) * 1 + MAX_ORDER * 2];
        byte[] orders = new byte[starts.length];
        long f = 0;
        while (f < frames) {
            int k = f == 0 ? MAX_ORDER : Math.min(MAX_ORDER, Long.numberOfTrailingZeros(f));
            while (f + (1L << k) > frames) {
                k--;
            }
            if (n == starts.length) {
                starts = Arrays.copyOf(starts, n * 2);
                orders = Arrays.copyOf(orders, n * 2);
            }
            starts[n] = (int) f;
            orders[n++] = (byte) k;
            f += 1L << k;
        }
        for (int i = n - 1; i >= 0; i--) {
            push(starts[i], orders[i]);
            freeFrames += 1L << orders[i];
        }
    }

    /** Frames in this node. */
    public int frames() {
        return frames;
    }

    /** Free frames in this node. */
    public long freeFrames() {
        return freeFrames;
    }

    /**
     * Allocates 2^order contiguous frames aligned to 2^order and returns the first, or -1 when no
     * free block of that order or larger exists.
     */
    public int alloc(int order) {
        checkOrder(order);
        for (int k = order; k <= MAX_ORDER; k++) {
            int f = head[k];
            if (f == NONE) {
                continue;
            }
            unlink(f, k);
            while (k > order) {
                k--;
                push(f + (1 << k), k);
            }
            freeFrames -= 1L << order;
            return f;
        }
        return NONE;
    }

    /** Returns a block obtained from {@link #alloc} (or a piece of one, split by its owner). */
    public void free(int frame, int order) {
        checkOrder(order);
        if (frame < 0 || (frame & ((1 << order) - 1)) != 0 || frame + (1L << order) > frames) {
            throw new IllegalArgumentException("frame " + frame + " is not an order-" + order + " block of this node");
        }
        if (isFreeHead(frame, order)) {
            throw new IllegalStateException("double free of frame " + frame + " order " + order);
        }
        freeFrames += 1L << order;
        int f = frame;
        int k = order;
        while (k < MAX_ORDER) {
            int buddy = f ^ (1 << k);
            if (buddy + (1L << k) > frames || !isFreeHead(buddy, k)) {
                break;
            }
            unlink(buddy, k);
            f = Math.min(f, buddy);
            k++;
        }
        push(f, k);
    }

    /** Free blocks per order, 0..18: the numbers of /proc/buddyinfo. */
    public long[] freeCounts() {
        return nrFree.clone();
    }

    /** The largest order with a free block, or -1 when the node is full. */
    public int largestFreeOrder() {
        for (int k = MAX_ORDER; k >= 0; k--) {
            if (head[k] != NONE) {
                return k;
            }
        }
        return NONE;
    }

    /** Whether an allocation of this order would succeed now. */
    public boolean canAlloc(int order) {
        return largestFreeOrder() >= order;
    }

    /** Chunks currently alive (for tests and memory estimates). */
    int liveChunks() {
        int n = 0;
        for (Chunk c : chunks) {
            if (c != null) {
                n++;
            }
        }
        return n;
    }

    private static void checkOrder(int order) {
        if (order < 0 || order > MAX_ORDER) {
            throw new IllegalArgumentException("order " + order + " is outside 0.." + MAX_ORDER);
        }
    }

    private boolean isFreeHead(int f, int k) {
        if (k >= PAGEBLOCK_ORDER) {
            return (f & PB_MASK) == 0 && bigOrder[f >>> PAGEBLOCK_ORDER] == k + 1;
        }
        Chunk c = chunks[f >>> PAGEBLOCK_ORDER];
        return c != null && c.order[f & PB_MASK] == k + 1;
    }

    private int next(int f, int k) {
        return k >= PAGEBLOCK_ORDER ? bigNext[f >>> PAGEBLOCK_ORDER] : chunks[f >>> PAGEBLOCK_ORDER].next[f & PB_MASK];
    }

    private void setNext(int f, int k, int v) {
        if (k >= PAGEBLOCK_ORDER) {
            bigNext[f >>> PAGEBLOCK_ORDER] = v;
        } else {
            chunks[f >>> PAGEBLOCK_ORDER].next[f & PB_MASK] = v;
        }
    }

    private void setPrev(int f, int k, int v) {
        if (k >= PAGEBLOCK_ORDER) {
            bigPrev[f >>> PAGEBLOCK_ORDER] = v;
        } else {
            chunks[f >>> PAGEBLOCK_ORDER].prev[f & PB_MASK] = v;
        }
    }

    private int prev(int f, int k) {
        return k >= PAGEBLOCK_ORDER ? bigPrev[f >>> PAGEBLOCK_ORDER] : chunks[f >>> PAGEBLOCK_ORDER].prev[f & PB_MASK];
    }

    private void push(int f, int k) {
        int pb = f >>> PAGEBLOCK_ORDER;
        if (k >= PAGEBLOCK_ORDER) {
            bigOrder[pb] = (byte) (k + 1);
        } else {
            Chunk c = chunks[pb];
            if (c == null) {
                c = spareChunks.isEmpty() ? new Chunk() : spareChunks.pop();
                chunks[pb] = c;
            }
            c.order[f & PB_MASK] = (byte) (k + 1);
            c.count++;
        }
        int h = head[k];
        setNext(f, k, h);
        setPrev(f, k, NONE);
        if (h != NONE) {
            setPrev(h, k, f);
        }
        head[k] = f;
        nrFree[k]++;
    }

    private void unlink(int f, int k) {
        int n = next(f, k);
        int p = prev(f, k);
        if (p == NONE) {
            head[k] = n;
        } else {
            setNext(p, k, n);
        }
        if (n != NONE) {
            setPrev(n, k, p);
        }
        nrFree[k]--;
        int pb = f >>> PAGEBLOCK_ORDER;
        if (k >= PAGEBLOCK_ORDER) {
            bigOrder[pb] = 0;
        } else {
            Chunk c = chunks[pb];
            c.order[f & PB_MASK] = 0;
            if (--c.count == 0) {
                chunks[pb] = null;
                if (spareChunks.size() < CHUNK_POOL) {
                    spareChunks.push(c);
                }
            }
        }
    }
}
