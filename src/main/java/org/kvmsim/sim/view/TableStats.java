package org.kvmsim.sim.view;

/**
 * Page-table footprint for one kind of table at one level, for `show pagetable(s)` and meminfo.
 * kind is "guest", "nested" or "shadow"; level 1 is the PT (4 KiB leaves), 4 the PML4, 5 the PML5.
 * bytes is what the simulated machine spends (4 KiB per table page), not Java heap.
 */
public record TableStats(String kind, int level, long tables, long entries, long bytes) {
}
