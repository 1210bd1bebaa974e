package org.kvmsim.sim.hugetlb;

import org.kvmsim.model.KhugepagedSysfs;
import org.kvmsim.model.ThpMode;

/**
 * The knobs of transparent huge pages, as /sys/kernel/mm/transparent_hugepage/ shows them
 * (Documentation/admin-guide/mm/transhuge.rst). Mutable: {@code set} changes them at run time as
 * writing sysfs does, {@link #setKhugepaged} with the ranges khugepaged's sysfs store functions
 * accept ({@link KhugepagedSysfs}, mm/khugepaged.c).
 */
public final class ThpSettings {
    /** enabled; madvise as on the machine this was checked on (upstream Kconfig defaults to always; distributions differ). */
    public ThpMode mode = ThpMode.MADVISE;
    /** khugepaged/pages_to_scan: PTEs (4 KiB pages) examined per wake-up. */
    public long pagesToScan = 4096;
    /** khugepaged/scan_sleep_millisecs: sleep between wake-ups. */
    public long scanSleepMillis = 10_000;
    /** khugepaged/alloc_sleep_millisecs: sleep after a failed huge page allocation. */
    public long allocSleepMillis = 60_000;
    /** khugepaged/max_ptes_none: empty PTEs a 2 MiB range may have and still be collapsed. */
    public int maxPtesNone = 511;
    /** khugepaged/max_ptes_swap: swapped-out PTEs a range may have (kvmsim has no swap: never binds). */
    public int maxPtesSwap = 64;
    /** khugepaged/max_ptes_shared: PTEs mapping shared pages a range may have and still be collapsed. */
    public int maxPtesShared = 256;
    /** khugepaged/defrag: whether khugepaged's allocation may compact (kvmsim never compacts). */
    public boolean defrag = true;

    /**
     * use_zero_page: a read fault in an empty THP-eligible 2 MiB range maps the huge zero page
     * (do_huge_pmd_anonymous_page(), transparent_hugepage_use_zero_page()); default 1. Not a
     * script attribute yet: only tests change it.
     */
    public boolean useZeroPage = true;

    /** Whether a mapping (madvised or not) may have THPs under the current mode. */
    public boolean enabledFor(boolean madvised) {
        return mode == ThpMode.ALWAYS || (mode == ThpMode.MADVISE && madvised);
    }

    /** The value of a khugepaged knob, as its sysfs file reads. */
    public long khugepaged(String knob) {
        return switch (knob) {
            case "pages_to_scan" -> pagesToScan;
            case "scan_sleep_millisecs" -> scanSleepMillis;
            case "alloc_sleep_millisecs" -> allocSleepMillis;
            case "max_ptes_none" -> maxPtesNone;
            case "max_ptes_swap" -> maxPtesSwap;
            case "max_ptes_shared" -> maxPtesShared;
            case "defrag" -> defrag ? 1 : 0;
            default -> throw new IllegalArgumentException("no khugepaged knob '" + knob + "'");
        };
    }

    /**
     * Writes a khugepaged knob; a value its store function refuses throws
     * IllegalArgumentException (sysfs: EINVAL) and changes nothing.
     */
    public void setKhugepaged(String knob, long value) {
        long[] range = KhugepagedSysfs.range(knob);
        if (value < range[0] || value > range[1]) {
            throw new IllegalArgumentException(knob + " takes " + range[0] + " .. " + range[1] + " (EINVAL)");
        }
        switch (knob) {
            case "pages_to_scan" -> pagesToScan = value;
            case "scan_sleep_millisecs" -> scanSleepMillis = value;
            case "alloc_sleep_millisecs" -> allocSleepMillis = value;
            case "max_ptes_none" -> maxPtesNone = (int) value;
            case "max_ptes_swap" -> maxPtesSwap = (int) value;
            case "max_ptes_shared" -> maxPtesShared = (int) value;
            default -> defrag = value == 1;
        }
    }
}
