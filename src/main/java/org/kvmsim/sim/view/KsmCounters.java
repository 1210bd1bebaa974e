package org.kvmsim.sim.view;

/**
 * A snapshot of /sys/kernel/mm/ksm's counters, named as the sysfs files are, plus the
 * simulated time it was taken at and ksmd's modelled CPU time.
 */
public record KsmCounters(long fullScans, long pagesScanned, long pagesShared, long pagesSharing,
                          long pagesUnshared, long pagesVolatile, long pagesSkipped, long ksmZeroPages,
                          long stableNodeChains, long stableNodeDups, long generalProfit, long rmapItems,
                          long timeNanos, long cpuNanos) {

    /** The counter sysfs names {@code name} (one of {@link org.kvmsim.model.KsmSysfs#COUNTERS}). */
    public long get(String name) {
        return switch (name) {
            case "full_scans" -> fullScans;
            case "pages_scanned" -> pagesScanned;
            case "pages_shared" -> pagesShared;
            case "pages_sharing" -> pagesSharing;
            case "pages_unshared" -> pagesUnshared;
            case "pages_volatile" -> pagesVolatile;
            case "pages_skipped" -> pagesSkipped;
            case "ksm_zero_pages" -> ksmZeroPages;
            case "stable_node_chains" -> stableNodeChains;
            case "stable_node_dups" -> stableNodeDups;
            case "general_profit" -> generalProfit;
            default -> throw new IllegalArgumentException("no KSM counter " + name);
        };
    }

    /** Memory saved by merging: (pages_sharing + ksm_zero_pages) pages. */
    public long savedBytes() {
        return (pagesSharing + ksmZeroPages) * 4096L;
    }
}
