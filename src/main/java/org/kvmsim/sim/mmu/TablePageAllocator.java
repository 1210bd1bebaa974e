package org.kvmsim.sim.mmu;

/**
 * Supplies the guest-physical page for a new guest page-table page. The guest OS model owns guest
 * physical memory, so it decides where page tables go (and accounts them as the guest's PageTables).
 */
@FunctionalInterface
public interface TablePageAllocator {

    /** A 4 KiB-aligned guest-physical address for a new, zeroed table page. */
    long allocate();

    /** A table page the guest freed (a page table emptied and replaced by a huge page). */
    default void free(long gpa) {
    }
}
