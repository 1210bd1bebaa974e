package org.kvmsim.sim.view;

/**
 * One hugetlb page size's pool on a host, as /sys/kernel/mm/hugepages/hugepages-SIZEkB/ shows it:
 * nr_hugepages, free_hugepages, resv_hugepages, surplus_hugepages, nr_overcommit_hugepages.
 */
public record PoolState(long pageSize, long nrHugepages, long free, long reserved, long surplus, long nrOvercommit) {}
