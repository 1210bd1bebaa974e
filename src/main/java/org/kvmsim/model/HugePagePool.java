package org.kvmsim.model;

/** A hugetlbfs pool: `hugepages NAME { page_size = 2 MiB; count = N; overcommit = M }` in a host. */
public record HugePagePool(String name, long pageSize, long count, long overcommit, int node) {}
