package org.kvmsim.model;

/**
 * A hugetlbfs pool: `hugepages NAME { page_size = 2 MiB; count = N; overcommit = M; node = K }` in a
 * host; {@code node} is -1 when not given (pages interleaved over the nodes).
 */
public record HugePagePool(String name, long pageSize, long count, long overcommit, int node) {}
