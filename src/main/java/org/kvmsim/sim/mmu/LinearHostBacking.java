package org.kvmsim.sim.mmu;

/**
 * The simplest host: guest RAM is one physically contiguous run starting at {@code ramHpa},
 * backed by pages of one size, and table pages come from a bump allocator at {@code tableHpa}.
 * For tests, benchmarks and as a stand-in until the engine's buddy allocator supplies frames.
 */
public final class LinearHostBacking implements HostBacking {

    private final long ramHpa;
    private final int pageShift;
    private long nextTable;
    private long tablePages;

    public LinearHostBacking(long ramHpa, int pageShift, long tableHpa) {
        if ((ramHpa & ((1L << pageShift) - 1)) != 0) {
            throw new IllegalArgumentException("ram must be aligned to its backing page");
        }
        this.ramHpa = ramHpa;
        this.pageShift = pageShift;
        this.nextTable = tableHpa;
    }

    @Override
    public long hpa(long gpa) {
        return ramHpa + gpa;
    }

    @Override
    public int backingPageShift(long gpa) {
        return pageShift;
    }

    @Override
    public long allocTablePage() {
        long a = nextTable;
        nextTable += 4096;
        tablePages++;
        return a;
    }

    @Override
    public void freeTablePage(long hpa) {
        tablePages--;
    }

    /** Table pages handed out and not yet freed. */
    public long tablePages() {
        return tablePages;
    }
}
