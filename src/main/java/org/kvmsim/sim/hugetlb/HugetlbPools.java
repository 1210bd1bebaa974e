package org.kvmsim.sim.hugetlb;

import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mem.HugetlbAccounting;

/**
 * The hugetlb pools of one host: a 2 MiB pool (the default hstate, reported in HugePages_*) and a
 * 1 GiB pool, both allocated from the host's buddy allocators. Registers itself with the host so
 * that /proc/meminfo shows HugePages_Total/Free/Rsvd/Surp, Hugepagesize and Hugetlb (the memory of
 * every pool, persistent and surplus, in kB), as hugetlb_report_meminfo() does.
 */
public final class HugetlbPools implements HugetlbAccounting {
    public static final long SIZE_2M = 2L << 20;
    public static final long SIZE_1G = 1L << 30;

    private final Hstate pool2m;
    private final Hstate pool1g;

    public HugetlbPools(HostMemory mem) {
        pool2m = new Hstate(mem, SIZE_2M);
        pool1g = new Hstate(mem, SIZE_1G);
        mem.setHugetlb(this);
    }

    /** The pool of that page size (2 MiB or 1 GiB). */
    public Hstate pool(long pageBytes) {
        if (pageBytes == SIZE_2M) {
            return pool2m;
        }
        if (pageBytes == SIZE_1G) {
            return pool1g;
        }
        throw new IllegalArgumentException("no hugetlb pool of " + pageBytes + " bytes: 2 MiB or 1 GiB");
    }

    @Override
    public long hugePagesTotal() {
        return pool2m.total();
    }

    @Override
    public long hugePagesFree() {
        return pool2m.free();
    }

    @Override
    public long hugePagesRsvd() {
        return pool2m.reserved();
    }

    @Override
    public long hugePagesSurp() {
        return pool2m.surplus();
    }

    @Override
    public long hugepagesizeKb() {
        return pool2m.pageKb();
    }

    @Override
    public long hugetlbKb() {
        return pool2m.total() * pool2m.pageKb() + pool1g.total() * pool1g.pageKb();
    }
}
