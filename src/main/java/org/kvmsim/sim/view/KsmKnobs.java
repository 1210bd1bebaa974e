package org.kvmsim.sim.view;

import org.kvmsim.model.KsmPolicy;
import org.kvmsim.model.KsmSysfs;

/** The writable files of /sys/kernel/mm/ksm, with Linux's defaults in {@link #DEFAULTS}. */
public record KsmKnobs(int run, int pagesToScan, int sleepMillisecs, int maxPageSharing,
                       boolean mergeAcrossNodes, boolean useZeroPages, boolean smartScan,
                       int stableNodeChainsPruneMillisecs, String advisorMode, int advisorMaxCpu,
                       long advisorTargetScanTime, long advisorMinPagesToScan, long advisorMaxPagesToScan) {

    /** Linux's defaults, as {@link KsmSysfs#KNOB_DEFAULTS} names them. */
    public static final KsmKnobs DEFAULTS = new KsmKnobs((int) d("run"), (int) d("pages_to_scan"),
            (int) d("sleep_millisecs"), (int) d("max_page_sharing"), d("merge_across_nodes") != 0,
            d("use_zero_pages") != 0, d("smart_scan") != 0, (int) d("stable_node_chains_prune_millisecs"),
            KsmPolicy.sysfsText("advisor_mode", d("advisor_mode")), (int) d("advisor_max_cpu"),
            d("advisor_target_scan_time"), d("advisor_min_pages_to_scan"), d("advisor_max_pages_to_scan"));

    private static long d(String knob) {
        return KsmSysfs.knobDefault(knob);
    }
}
