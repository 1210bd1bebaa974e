package org.kvmsim.sim.hugetlb;

import java.util.Arrays;
import org.kvmsim.sim.mem.HostMemory;

/**
 * One hugetlbfs pool (a Linux hstate): the huge pages of one size on one host, with the exact
 * accounting of mm/hugetlb.c. /sys/kernel/mm/hugepages/hugepages-SIZEkB/ shows these counters.
 *
 * <ul>
 *   <li>{@code nr_huge_pages} (HugePages_Total): pages in the pool, persistent plus surplus.
 *   <li>{@code free_huge_pages} (HugePages_Free): pages on the free list, reserved ones included.
 *   <li>{@code resv_huge_pages} (HugePages_Rsvd): pages promised to mappings, not yet faulted.
 *   <li>{@code surplus_huge_pages} (HugePages_Surp): pages above nr_hugepages, allocated under
 *       {@code nr_overcommit_hugepages} and given back to the buddy allocator when freed.
 *   <li>nr_hugepages as written to the sysctl is the persistent count, total - surplus.
 * </ul>
 *
 * <p>Mechanisms, after mm/hugetlb.c:
 * <ul>
 *   <li>{@link #setNrHugepages} is set_max_huge_pages(): growing first turns surplus pages into
 *       persistent ones (adjust_pool_surplus(-1)), then allocates fresh pages from the buddy
 *       allocator (order 9 or 18) until one fails, so on a fragmented host nr_hugepages ends lower
 *       than asked, as writing the sysctl does. Shrinking frees free pages down to
 *       max(count, resv + in use) (remove_pool_hugetlb_folio()), then marks the rest surplus
 *       (adjust_pool_surplus(+1)), so pages in use become surplus and vanish when freed.
 *   <li>{@link #acct} is hugetlb_acct_memory(): a positive delta is gather_surplus_pages()
 *       (reserve from free - resv, allocating surplus pages for the shortfall, all or nothing,
 *       bounded by nr_overcommit_hugepages), a negative one return_unused_surplus_pages().
 *   <li>{@link #allocForFault} is alloc_hugetlb_folio() with dequeue_hugetlb_folio_vma(): a fault
 *       with a reservation consumes it (resv--); one without may only take a page that is not
 *       reserved (free - resv > 0), else it allocates a surplus page, else it fails (SIGBUS).
 *   <li>{@link #freePage} is free_huge_folio(): a page goes back to the buddy allocator while the
 *       pool has surplus, else onto the free list.
 * </ul>
 *
 * <p>Differs from Linux: counters are per host, not per NUMA node (fresh pages are allocated
 * interleaved over the nodes, like for_each_node_mask_to_alloc, or on one node when a pool names
 * it, but the free list and the counts are the hstate's); no subpools (hugetlbfs size/
 * min_size mount options), no cgroup charging; gigantic (1 GiB) pages come from the buddy
 * allocator at order 18 rather than alloc_contig_range(), and may be surplus (Linux allows
 * overcommitting gigantic pages only where runtime allocation is supported).
 */
public final class Hstate {
    private final HostMemory mem;
    private final int order;
    private long nrHuge;
    private long freeHuge;
    private long resvHuge;
    private long surplusHuge;
    private long nrOvercommit;
    private int nextNode;
    /** The free list: a LIFO stack of head frames (enqueue and dequeue at the list head). */
    private int[] freeList = new int[16];

    /** The host memory the pool's pages come from. */
    HostMemory mem() {
        return mem;
    }

    public Hstate(HostMemory mem, long pageBytes) {
        if (pageBytes != 2L << 20 && pageBytes != 1L << 30) {
            throw new IllegalArgumentException("huge page size must be 2 MiB or 1 GiB");
        }
        this.mem = mem;
        this.order = Long.numberOfTrailingZeros(pageBytes) - HostMemory.PAGE_SHIFT;
    }

    public int order() {
        return order;
    }

    public long pageBytes() {
        return (long) HostMemory.PAGE_SIZE << order;
    }

    public long pageKb() {
        return pageBytes() / 1024;
    }

    public long total() {
        return nrHuge;
    }

    public long free() {
        return freeHuge;
    }

    public long reserved() {
        return resvHuge;
    }

    public long surplus() {
        return surplusHuge;
    }

    /** nr_hugepages as the sysctl reads: the persistent pages. */
    public long nrHugepages() {
        return nrHuge - surplusHuge;
    }

    public long nrOvercommitHugepages() {
        return nrOvercommit;
    }

    public void setNrOvercommitHugepages(long n) {
        if (n < 0) {
            throw new IllegalArgumentException("nr_overcommit_hugepages must be >= 0");
        }
        nrOvercommit = n;
    }

    /** Writes nr_hugepages (set_max_huge_pages()); returns the value it then reads back. */
    public long setNrHugepages(long count) {
        return setNrHugepages(count, -1);
    }

    /**
     * As {@link #setNrHugepages(long)}, with fresh pages allocated on {@code node} only (what
     * writing /sys/devices/system/node/nodeN/hugepages/.../nr_hugepages does), or interleaved over
     * the nodes when {@code node} is -1. The count is still the host-wide hstate's.
     */
    public long setNrHugepages(long count, int node) {
        if (count < 0) {
            throw new IllegalArgumentException("nr_hugepages must be >= 0");
        }
        while (surplusHuge > 0 && count > nrHugepages()) {
            surplusHuge--;
        }
        while (count > nrHugepages()) {
            int f = node < 0 ? allocFresh() : mem.allocOnNode(order, node);
            if (f < 0) {
                break;
            }
            nrHuge++;
            enqueue(f);
        }
        long minCount = Math.max(count, resvHuge + nrHuge - freeHuge);
        while (minCount < nrHugepages() && freeHuge > 0) {
            releaseToBuddy(dequeue());
            nrHuge--;
        }
        while (count < nrHugepages() && surplusHuge < nrHuge) {
            surplusHuge++;
        }
        return nrHugepages();
    }

    /** hugetlb_acct_memory(): reserve (delta > 0) or unreserve; false means ENOMEM. */
    public boolean acct(long delta) {
        if (delta > 0) {
            return gatherSurplusPages(delta);
        }
        if (delta < 0) {
            returnUnusedSurplusPages(-delta);
        }
        return true;
    }

    private boolean gatherSurplusPages(long delta) {
        long needed = resvHuge + delta - freeHuge;
        if (needed <= 0) {
            resvHuge += delta;
            return true;
        }
        int[] got = new int[(int) needed];
        int n = 0;
        while (n < needed) {
            int f = allocSurplus();
            if (f < 0) {
                break;
            }
            got[n++] = f;
        }
        if (n < needed) {
            // free_huge_folio() of each: the pool has surplus, so they go back to the buddy.
            for (int i = 0; i < n; i++) {
                nrHuge--;
                surplusHuge--;
                releaseToBuddy(got[i]);
            }
            return false;
        }
        resvHuge += delta;
        for (int i = 0; i < n; i++) {
            enqueue(got[i]);
        }
        return true;
    }

    private void returnUnusedSurplusPages(long unused) {
        resvHuge -= unused;
        long n = Math.min(unused, surplusHuge);
        while (n-- > 0 && freeHuge > 0) {
            releaseToBuddy(dequeue());
            nrHuge--;
            surplusHuge--;
        }
    }

    /**
     * A page for a fault; {@code reserved} says the mapping holds a reservation for this page
     * (gbl_chg == 0). Returns the head frame, or -1: the fault raises SIGBUS.
     */
    public int allocForFault(boolean reserved) {
        int f = -1;
        if ((reserved || freeHuge - resvHuge > 0) && freeHuge > 0) {
            f = dequeue();
        } else {
            f = allocSurplus();
        }
        if (f < 0) {
            return -1;
        }
        if (reserved) {
            resvHuge--;
        }
        return f;
    }

    /** free_huge_folio() of a page that was mapped (its reservation, if any, was consumed). */
    public void freePage(int frame) {
        if (surplusHuge > 0) {
            nrHuge--;
            surplusHuge--;
            releaseToBuddy(frame);
        } else {
            enqueue(frame);
        }
    }

    /** alloc_surplus_hugetlb_folio(): bounded by nr_overcommit_hugepages; counts it in use. */
    private int allocSurplus() {
        if (surplusHuge >= nrOvercommit) {
            return -1;
        }
        int f = allocFresh();
        if (f < 0) {
            return -1;
        }
        nrHuge++;
        surplusHuge++;
        return f;
    }

    /** A fresh page from the buddy allocator, nodes interleaved. */
    private int allocFresh() {
        int nodes = mem.nodeCount();
        for (int i = 0; i < nodes; i++) {
            int node = nextNode;
            nextNode = (nextNode + 1) % nodes;
            int f = mem.allocOnNode(order, node);
            if (f >= 0) {
                return f;
            }
        }
        return -1;
    }

    private void releaseToBuddy(int frame) {
        mem.free(frame, order);
    }

    private void enqueue(int frame) {
        if (freeHuge == freeList.length) {
            freeList = Arrays.copyOf(freeList, freeList.length * 2);
        }
        freeList[(int) freeHuge++] = frame;
    }

    private int dequeue() {
        return freeList[(int) --freeHuge];
    }
}
