package org.kvmsim.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files of /sys/kernel/mm/ksm, named once for the language, the engine and the tables: the
 * counters ksmd reports and the knobs with their Linux 6.x defaults (mm/ksm.c;
 * Documentation/admin-guide/mm/ksm.rst). Sleep and prune are in ms, advisor_mode 0 none and
 * 1 scan-time, booleans 0 or 1.
 */
public final class KsmSysfs {

    private KsmSysfs() {}

    /** The counters, in the order `show ksm` lists them. */
    public static final List<String> COUNTERS = List.of("full_scans", "pages_scanned", "pages_shared",
            "pages_sharing", "pages_unshared", "pages_volatile", "pages_skipped", "ksm_zero_pages",
            "stable_node_chains", "stable_node_dups", "general_profit");

    /** The knobs and Linux's defaults (run 0: ksmd does not run until told to). */
    public static final Map<String, Long> KNOB_DEFAULTS;

    static {
        Map<String, Long> d = new LinkedHashMap<>();
        d.put("run", 0L);
        d.put("pages_to_scan", 100L);
        d.put("sleep_millisecs", 20L);
        d.put("max_page_sharing", 256L);
        d.put("merge_across_nodes", 1L);
        d.put("use_zero_pages", 0L);
        d.put("smart_scan", 1L);
        d.put("stable_node_chains_prune_millisecs", 2000L);
        d.put("advisor_mode", 0L);
        d.put("advisor_max_cpu", 70L);
        d.put("advisor_target_scan_time", 200L);
        d.put("advisor_min_pages_to_scan", 500L);
        d.put("advisor_max_pages_to_scan", 30000L);
        KNOB_DEFAULTS = Collections.unmodifiableMap(d);
    }

    /** Linux's default of one knob. */
    public static long knobDefault(String knob) {
        Long v = KNOB_DEFAULTS.get(knob);
        if (v == null) throw new IllegalArgumentException("no KSM knob " + knob);
        return v;
    }
}
