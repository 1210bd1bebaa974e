package org.kvmsim.sim.view;

/** The writable files of /sys/kernel/mm/ksm, with Linux's defaults in {@link #DEFAULTS}. */
public record KsmKnobs(int run, int pagesToScan, int sleepMillisecs, int maxPageSharing,
                       boolean mergeAcrossNodes, boolean useZeroPages, boolean smartScan,
                       int stableNodeChainsPruneMillisecs, String advisorMode, int advisorMaxCpu,
                       long advisorTargetScanTime, long advisorMinPagesToScan, long advisorMaxPagesToScan) {

    public static final KsmKnobs DEFAULTS =
            new KsmKnobs(0, 100, 20, 256, true, false, true, 2000, "none", 70, 200, 500, 30000);
}
