package org.kvmsim.sim.mem;

/**
 * What /proc/meminfo needs from the hugetlb pools of a host (implemented in sim/hugetlb, so that
 * sim/mem does not depend on it). HugePages_* and Hugepagesize describe the default page size
 * (2 MiB on x86-64); Hugetlb sums every page size, as hugetlb_report_meminfo() does.
 */
public interface HugetlbAccounting {
    long hugePagesTotal();

    long hugePagesFree();

    long hugePagesRsvd();

    long hugePagesSurp();

    long hugepagesizeKb();

    long hugetlbKb();
}
