package org.kvmsim.model;

import java.util.List;

/**
 * The writable files of /sys/kernel/mm/transparent_hugepage/khugepaged, named once for the
 * language and the engine, with the values their store functions in mm/khugepaged.c accept
 * (anything else is EINVAL) and Linux 6.x's defaults (Documentation/admin-guide/mm/transhuge.rst).
 */
public final class KhugepagedSysfs {

    private KhugepagedSysfs() {}

    /** HPAGE_PMD_NR on x86-64: 4 KiB pages in a 2 MiB range. */
    private static final long HPAGE_PMD_NR = 512;
    private static final long UINT_MAX = 0xFFFF_FFFFL;

    /** The knobs, in the order the directory lists them. */
    public static final List<String> KNOBS = List.of("alloc_sleep_millisecs", "defrag", "max_ptes_none",
            "max_ptes_shared", "max_ptes_swap", "pages_to_scan", "scan_sleep_millisecs");

    /** The counters (read-only). */
    public static final List<String> COUNTERS = List.of("full_scans", "pages_collapsed");

    /** The values a knob's store function accepts, as {min, max}. */
    public static long[] range(String knob) {
        return switch (knob) {
            // pages_to_scan_store(): kstrtouint(), and 0 is refused
            case "pages_to_scan" -> new long[] {1, UINT_MAX};
            // scan_sleep_millisecs_store(), alloc_sleep_millisecs_store(): any unsigned int
            case "scan_sleep_millisecs", "alloc_sleep_millisecs" -> new long[] {0, UINT_MAX};
            // max_ptes_{none,swap,shared}_store(): kstrtoul(), at most HPAGE_PMD_NR - 1
            case "max_ptes_none", "max_ptes_swap", "max_ptes_shared" -> new long[] {0, HPAGE_PMD_NR - 1};
            // single_hugepage_flag_store(): 0 or 1
            case "defrag" -> new long[] {0, 1};
            default -> throw new IllegalArgumentException("no khugepaged knob '" + knob + "'");
        };
    }

    /** Linux's default for a knob. */
    public static long defaultOf(String knob) {
        return switch (knob) {
            case "pages_to_scan" -> 8 * HPAGE_PMD_NR;
            case "scan_sleep_millisecs" -> 10_000;
            case "alloc_sleep_millisecs" -> 60_000;
            case "max_ptes_none" -> HPAGE_PMD_NR - 1;
            case "max_ptes_swap" -> HPAGE_PMD_NR / 8;
            case "max_ptes_shared" -> HPAGE_PMD_NR / 2;
            case "defrag" -> 1;
            default -> throw new IllegalArgumentException("no khugepaged knob '" + knob + "'");
        };
    }
}
