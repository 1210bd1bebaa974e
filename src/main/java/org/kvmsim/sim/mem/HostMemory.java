package org.kvmsim.sim.mem;

import org.kvmsim.sim.view.MeminfoField;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The physical memory of one simulated host: its NUMA nodes (one {@link BuddyAllocator} each),
 * and the /proc/meminfo accounting that the engine keeps up to date as it maps, merges and frees
 * memory.
 *
 * <p>Frames are named by a host-wide frame number (pfn): node n owns [base(n), base(n)+frames(n)).
 * Allocation tries the preferred node first, then the others in increasing node number after it
 * (a zonelist with equal distances; Linux orders by node distance, get_page_from_freelist()).
 *
 * <p>Accounting: MemTotal is the declared RAM; MemFree is what the buddy allocators hold (so the
 * hugetlb pool, which is allocated from them, is not free, as in Linux); the other counters are
 * kept by their owners through {@link #add}: AnonPages (every anonymous page mapped, THPs
 * included, KSM pages once), AnonHugePages (PMD-mapped THPs), PageTables (host page-table pages
 * of the VM processes), SecPageTables (KVM's EPT/NPT or shadow tables). MemAvailable approximates
 * si_mem_available() in mm/show_mem.c as MemFree + Reclaimable: this host has no page cache or
 * reclaimable slab unless the engine declares some, and no watermarks or totalreserve_pages are
 * subtracted, so it is MemFree plus whatever the engine reports as reclaimable.
 *
 * <p>Field names, order and units are those of fs/proc/meminfo.c (meminfo_proc_show()) and
 * mm/hugetlb.c (hugetlb_report_meminfo()); values are in kB, HugePages_* are page counts.
 */
public final class HostMemory {
    public static final int PAGE_SIZE = 4096;
    public static final int PAGE_SHIFT = 12;

    /** Counters kept in 4 KiB pages and rendered in kB. */
    public enum Counter {
        ANON_PAGES, ANON_HUGE_PAGES, PAGE_TABLES, SEC_PAGE_TABLES, RECLAIMABLE,
        /** Frames pinned by {@link #fragment}: kernel memory that is in no other field. */
        PINNED
    }

    /**
     * Event counters of /proc/vmstat (mm/vmstat.c vmstat_text, include/linux/vm_event_item.h),
     * counted where Linux's count_vm_event() is: thp_fault_alloc in do_huge_pmd_anonymous_page(),
     * thp_split_page for every successful split of a PMD-sized THP (mm/huge_memory.c),
     * thp_split_page_failed for a split that failed (ksmd's, see KsmListener#splitFailsOnMerge).
     * They only grow; a VM that stops keeps its part in them, as in Linux.
     */
    public enum Event {
        THP_FAULT_ALLOC, THP_SPLIT_PAGE, THP_SPLIT_PAGE_FAILED
    }

    private final BuddyAllocator[] nodes;
    private final int[] base;
    private final long totalFrames;
    private final long[] counters = new long[Counter.values().length];
    private final long[] events = new long[Event.values().length];
    private final BitSet[] pinned;
    private HugetlbAccounting hugetlb;

    /** A host with one node per argument, each of that many bytes (a multiple of 4 KiB). */
    public HostMemory(long... nodeBytes) {
        if (nodeBytes.length == 0) {
            throw new IllegalArgumentException("a host needs at least one node");
        }
        nodes = new BuddyAllocator[nodeBytes.length];
        base = new int[nodeBytes.length];
        pinned = new BitSet[nodeBytes.length];
        long next = 0;
        for (int i = 0; i < nodeBytes.length; i++) {
            if (nodeBytes[i] <= 0 || nodeBytes[i] % PAGE_SIZE != 0) {
                throw new IllegalArgumentException("node size must be a positive multiple of 4 KiB: " + nodeBytes[i]);
            }
            long frames = nodeBytes[i] >>> PAGE_SHIFT;
            if (next + frames > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("a host holds at most 8 TiB (2^31 frames)");
            }
            base[i] = (int) next;
            nodes[i] = new BuddyAllocator(frames);
            next += frames;
        }
        totalFrames = next;
    }

    /** A host of {@code totalBytes} split evenly over {@code nodeCount} nodes (2 MiB granules). */
    public static HostMemory split(long totalBytes, int nodeCount) {
        long granule = 2L << 20;
        long per = totalBytes / nodeCount / granule * granule;
        long[] sizes = new long[nodeCount];
        for (int i = 0; i < nodeCount; i++) {
            sizes[i] = i == nodeCount - 1 ? totalBytes - per * (nodeCount - 1) : per;
        }
        return new HostMemory(sizes);
    }

    public int nodeCount() {
        return nodes.length;
    }

    public BuddyAllocator node(int n) {
        return nodes[n];
    }

    public long totalPages() {
        return totalFrames;
    }

    public long freePages() {
        long f = 0;
        for (BuddyAllocator b : nodes) {
            f += b.freeFrames();
        }
        return f;
    }

    /** The node that owns a host frame number. */
    public int nodeOf(int pfn) {
        for (int i = nodes.length - 1; i > 0; i--) {
            if (pfn >= base[i]) {
                return i;
            }
        }
        return 0;
    }

    /**
     * Allocates 2^order frames, preferring {@code preferredNode}; returns the host frame number
     * or -1 when no node has a free block that large (the engine's cue for the OOM killer, or for
     * a THP fault to fall back to 4 KiB).
     */
    public int alloc(int order, int preferredNode) {
        int n = nodes.length;
        for (int i = 0; i < n; i++) {
            int node = (preferredNode + i) % n;
            int f = nodes[node].alloc(order);
            if (f >= 0) {
                return base[node] + f;
            }
        }
        return -1;
    }

    /** Allocates on exactly this node (like __GFP_THISNODE), or returns -1. */
    public int allocOnNode(int order, int node) {
        int f = nodes[node].alloc(order);
        return f < 0 ? -1 : base[node] + f;
    }

    public void free(int pfn, int order) {
        int node = nodeOf(pfn);
        nodes[node].free(pfn - base[node], order);
    }

    /** Whether any node could satisfy an allocation of this order now. */
    public boolean canAlloc(int order) {
        for (BuddyAllocator b : nodes) {
            if (b.canAlloc(order)) {
                return true;
            }
        }
        return false;
    }

    public void count(Event e) {
        events[e.ordinal()]++;
    }

    public long events(Event e) {
        return events[e.ordinal()];
    }

    public void add(Counter c, long pages) {
        long v = counters[c.ordinal()] + pages;
        if (v < 0) {
            throw new IllegalStateException(c + " would become negative: " + v);
        }
        counters[c.ordinal()] = v;
    }

    public long pages(Counter c) {
        return counters[c.ordinal()];
    }

    /** Attaches the host's hugetlb pools, whose counters meminfo reports. */
    public void setHugetlb(HugetlbAccounting h) {
        this.hugetlb = h;
    }

    /**
     * Fragments a node the way long-lived unmovable kernel allocations do: takes every free 4 KiB
     * frame of the node, then gives back all but those whose node-local number is a multiple of
     * {@code stride}. With stride 2, half the node is free yet no free block exceeds order 0;
     * with stride 512, 99.8% is free yet no 2 MiB block is. Returns the frames pinned.
     */
    public long fragment(int node, int stride) {
        if (stride < 2) {
            throw new IllegalArgumentException("stride must be at least 2");
        }
        BuddyAllocator b = nodes[node];
        BitSet taken = new BitSet(b.frames());
        int f;
        while ((f = b.alloc(0)) >= 0) {
            taken.set(f);
        }
        BitSet keep = pinned[node] == null ? new BitSet(b.frames()) : pinned[node];
        long kept = 0;
        for (int i = taken.nextSetBit(0); i >= 0; i = taken.nextSetBit(i + 1)) {
            if (i % stride == 0) {
                keep.set(i);
                kept++;
            } else {
                b.free(i, 0);
            }
        }
        pinned[node] = keep;
        add(Counter.PINNED, kept);
        return kept;
    }

    /** Frees every frame pinned by {@link #fragment} on this node. */
    public void unfragment(int node) {
        BitSet keep = pinned[node];
        if (keep == null) {
            return;
        }
        long n = 0;
        for (int i = keep.nextSetBit(0); i >= 0; i = keep.nextSetBit(i + 1)) {
            nodes[node].free(i, 0);
            n++;
        }
        pinned[node] = null;
        add(Counter.PINNED, -n);
    }

    /** The fields of /proc/meminfo this simulator models, in Linux's order, kB like Linux. */
    public List<MeminfoField> meminfo() {
        long kbPerPage = PAGE_SIZE / 1024;
        long free = freePages() * kbPerPage;
        List<MeminfoField> out = new ArrayList<>(13);
        out.add(new MeminfoField("MemTotal", totalFrames * kbPerPage, "kB"));
        out.add(new MeminfoField("MemFree", free, "kB"));
        out.add(new MeminfoField("MemAvailable", free + pages(Counter.RECLAIMABLE) * kbPerPage, "kB"));
        out.add(new MeminfoField("AnonPages", pages(Counter.ANON_PAGES) * kbPerPage, "kB"));
        out.add(new MeminfoField("PageTables", pages(Counter.PAGE_TABLES) * kbPerPage, "kB"));
        out.add(new MeminfoField("SecPageTables", pages(Counter.SEC_PAGE_TABLES) * kbPerPage, "kB"));
        out.add(new MeminfoField("AnonHugePages", pages(Counter.ANON_HUGE_PAGES) * kbPerPage, "kB"));
        HugetlbAccounting h = hugetlb;
        out.add(new MeminfoField("HugePages_Total", h == null ? 0 : h.hugePagesTotal(), ""));
        out.add(new MeminfoField("HugePages_Free", h == null ? 0 : h.hugePagesFree(), ""));
        out.add(new MeminfoField("HugePages_Rsvd", h == null ? 0 : h.hugePagesRsvd(), ""));
        out.add(new MeminfoField("HugePages_Surp", h == null ? 0 : h.hugePagesSurp(), ""));
        out.add(new MeminfoField("Hugepagesize", h == null ? 2048 : h.hugepagesizeKb(), "kB"));
        out.add(new MeminfoField("Hugetlb", h == null ? 0 : h.hugetlbKb(), "kB"));
        return out;
    }

    /** meminfo() as the text of /proc/meminfo, one field a line. */
    public String renderMeminfo() {
        StringBuilder sb = new StringBuilder();
        for (MeminfoField f : meminfo()) {
            sb.append(f.line()).append('\n');
        }
        return sb.toString();
    }
}
