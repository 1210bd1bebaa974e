package org.kvmsim.sim.view;

/**
 * A snapshot of /sys/kernel/mm/ksm's counters, named as the sysfs files are, plus the
 * simulated time it was taken at and ksmd's modelled CPU time.
 */
public record KsmCounters(long fullScans, long pagesScanned, long pagesShared, long pagesSharing,
                          long pagesUnshared, long pagesVolatile, long pagesSkipped, long ksmZeroPages,
                          long stableNodeChains, long stableNodeDups, long generalProfit, long rmapItems,
                          long timeNanos, long cpuNanos) {

    /** Memory saved by merging: (pages_sharing + ksm_zero_pages) pages. */
    public long savedBytes() {
        return (pagesSharing + ksmZeroPages) * 4096L;
    }
}
