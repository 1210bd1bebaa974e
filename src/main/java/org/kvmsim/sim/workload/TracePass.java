package org.kvmsim.sim.workload;

import java.io.Closeable;

/** One pass over a trace's accesses, in order: decoded from its file ahead ({@link ReadAhead}) or held in memory. */
interface TracePass extends Closeable {
    /** Up to {@code n} accesses into the arrays; fewer only at the end of the pass. */
    int next(long[] addrs, boolean[] writes, int n);

    /** Instruction fetches passed over so far in this pass (all of the pass's at its end). */
    long instructions();

    @Override
    void close();
}
