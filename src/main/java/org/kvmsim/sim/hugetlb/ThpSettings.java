package org.kvmsim.sim.hugetlb;

import org.kvmsim.model.ThpMode;

/**
 * The knobs of transparent huge pages, as /sys/kernel/mm/transparent_hugepage/ shows them
 * (Documentation/admin-guide/mm/transhuge.rst). Mutable: {@code set} changes them at run time as
 * writing sysfs does.
 */
public final class ThpSettings {
    /** enabled; madvise as on the machine this was checked on (upstream Kconfig defaults to always; distributions differ). */
    public ThpMode mode = ThpMode.MADVISE;
    /** khugepaged/pages_to_scan: PTEs (4 KiB pages) examined per wake-up. */
    public int pagesToScan = 4096;
    /** khugepaged/scan_sleep_millisecs: sleep between wake-ups. */
    public long scanSleepMillis = 10_000;
    /** khugepaged/alloc_sleep_millisecs: sleep after a failed huge page allocation. */
    public long allocSleepMillis = 60_000;
    /** khugepaged/max_ptes_none: empty PTEs a 2 MiB range may have and still be collapsed. */
    public int maxPtesNone = 511;
    /** khugepaged/max_ptes_shared: PTEs mapping shared pages a range may have and still be collapsed. */
    public int maxPtesShared = 256;

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
}
