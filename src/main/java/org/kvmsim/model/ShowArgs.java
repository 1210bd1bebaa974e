package org.kvmsim.model;

/**
 * What a `show` asked for, checked: each query's own record of its arguments (a VM and an
 * address for `show walk`, a host for `show ksm`). The query that checked it answers it.
 */
public interface ShowArgs {}
