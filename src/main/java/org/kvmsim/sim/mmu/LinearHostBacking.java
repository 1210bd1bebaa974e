package org.kvmsim.sim.mmu;

/**
 * The simplest host: guest RAM is one physically contiguous run starting at {@code ramHpa},
 * backed by pages of one size, and table pages come from a bump allocator at {@code tableHpa}.
 * Every backing page starts absent: the first {@link #faultIn} of it zeroes the whole page, as
 * a first touch does, unless {@link #prefault} made it present (prealloc).
 * For tests, benchmarks and as a stand-in until the engine's buddy allocator supplies frames.
 */
public final class LinearHostBacking implements HostBacking {

    private final long ramHpa;
    private final int pageShift;
    private long nextTable;
    private long tablePages;
    /** The backing pages faulted in so far, by gpa >>> pageShift. */
    private final LongLongMap present = new LongLongMap();

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
    public long faultIn(long gpa) {
        long index = gpa >>> pageShift;
        if (present.get(index) != LongLongMap.ABSENT) {
            return 0;
        }
        present.put(index, 1);
        return 1L << pageShift;
    }

    @Override
    public boolean present(long gpa) {
        return present.get(gpa >>> pageShift) != LongLongMap.ABSENT;
    }

    /** Makes the backing pages of [gpa, gpa + bytes) present, as QEMU's -mem-prealloc does. */
    public void prefault(long gpa, long bytes) {
        for (long a = gpa & -(1L << pageShift); a < gpa + bytes; a += 1L << pageShift) {
            present.put(a >>> pageShift, 1);
        }
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
