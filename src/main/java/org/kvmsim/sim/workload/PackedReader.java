package org.kvmsim.sim.workload;

import java.io.Closeable;

/** A trace's accesses in order, packed as {@link TraceReader#nextPacked} gives them: what {@link ReadAhead} reads ahead. */
interface PackedReader extends Closeable {
    /**
     * Up to {@code n} accesses into {@code out[at..at+n)}, each its address with
     * {@link TraceReader#WRITE} set for a write, and in {@code fetches} (when not null) the
     * instruction fetches read up to each; returns how many, fewer than {@code n} only at the end.
     */
    int nextPacked(long[] out, long[] fetches, int at, int n);

    /** Instruction fetches read so far. */
    long instructions();

    @Override
    void close();
}
