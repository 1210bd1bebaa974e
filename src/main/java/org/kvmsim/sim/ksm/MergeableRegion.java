package org.kvmsim.sim.ksm;

/**
 * The guest memory that ksmd reads: one VM's RAM as QEMU maps it (one anonymous, MADV_MERGEABLE
 * region), owned by the engine. ksmd only reads it; every change the guest makes to a present
 * page must also be reported through {@link Ksmd#onWrite} so copy-on-write is honoured.
 */
public interface MergeableRegion {

    /** Content identity of a page that is not present (never touched): ksmd skips it. */
    long ABSENT = Long.MIN_VALUE;

    /** Content identity of an all-zero page. */
    long ZERO = 0L;

    /** Number of 4 KiB pages in the region. */
    int pages();

    /** The 64-bit content identity of a page, {@link #ABSENT} if not present. */
    long content(int page);

    /** NUMA node of the frame backing a page (matters only when merge_across_nodes = 0). */
    default int node(int page) {
        return 0;
    }
}
