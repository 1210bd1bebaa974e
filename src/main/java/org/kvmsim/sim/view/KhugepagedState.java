package org.kvmsim.sim.view;

/**
 * /sys/kernel/mm/transparent_hugepage/enabled and the files of its khugepaged/ directory now:
 * the knobs and the two counters (pages_collapsed: THPs made; full_scans: passes over every mm),
 * and the THP events of /proc/vmstat beside them (thp_fault_alloc: THPs faulted in;
 * thp_split_page: THPs split, by KSM before a merge, by an unmap inside one, ...).
 */
public record KhugepagedState(String enabled, long pagesToScan, long scanSleepMillisecs, long allocSleepMillisecs,
                              int maxPtesNone, int maxPtesSwap, int maxPtesShared, boolean defrag,
                              long pagesCollapsed, long fullScans, long thpFaultAlloc, long thpSplitPage, long thpSplitPageFailed) {}
