package org.kvmsim.sim.view;

/**
 * What one workload did on one target so far: the accesses it made (over all its runs), the
 * instruction fetches among them (a trace's, counted apart and never simulated: there is no
 * instruction TLB; 0 for a synthetic pattern), and the accesses it has still to make (a trace:
 * what is left of its passes; a pattern: what is left of its run).
 */
public record WorkloadStats(long accesses, long instructionFetches, long left) {}
