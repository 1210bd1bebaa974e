package org.kvmsim.sim.workload;

/**
 * Where a workload thread's accesses come from: a synthetic {@link AccessStream} (byte offsets into
 * its footprint) or a {@link TraceStream} (the recorded program's GVAs).
 */
public interface Accesses {
    /** Fills {@code addresses[0..n)} and their write flags {@code writes[0..n)}. */
    void next(long[] addresses, boolean[] writes, int n);
}
