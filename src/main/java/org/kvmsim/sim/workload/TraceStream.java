package org.kvmsim.sim.workload;

import java.nio.file.Path;
import org.kvmsim.model.Workload;

/**
 * A trace workload's accesses on one VM: the trace's first {@code limit} accesses (all of them by
 * default), {@code repeat} times over, reopening the file for each pass. Kept across runs, so a
 * trace longer than a run carries on where the last run stopped. The length must be known before
 * the first run ({@link #count}: one streamed pass, which also finds a malformed line before any
 * access is simulated), so the accesses can be spread evenly over a run.
 */
public final class TraceStream implements Accesses {

    /** What one streamed pass over a trace found: its accesses, instruction fetches, highest address and its line. */
    public record Count(long accesses, long instructions, long maxAddress, long maxAddressAt) {}

    private final Path file;
    private final Workload.Trace trace;
    private final long perPass;
    private TracePass reader;
    private long passes;
    private long inPass;
    private long taken;
    private long instructions;

    public TraceStream(Path file, Workload.Trace trace, Count count) {
        this.file = file;
        this.trace = trace;
        this.perPass = Math.min(trace.limit() > 0 ? trace.limit() : Long.MAX_VALUE, count.accesses());
    }

    /** Reads the whole trace once, streamed: its length, and any malformed line as a {@link TraceException}. */
    public static Count count(Path file, String name, Workload.Trace.Format format) {
        long[] a = new long[1 << 14];
        long n = 0;
        try (TraceReader r = TraceReader.open(file, name, format)) {
            int k;
            while ((k = r.nextPacked(a, a.length)) > 0) n += k;
            return new Count(n, r.instructions(), r.maxAddress(), r.maxAddressAt());
        }
    }

    /** Accesses this stream will still give. */
    public long left() {
        return perPass * trace.repeat() - taken;
    }

    /** Instruction fetches passed over so far. */
    public long instructions() {
        return instructions + (reader == null ? 0 : reader.instructions());
    }

    @Override
    public void next(long[] addresses, boolean[] writes, int n) {
        int k = 0;
        while (k < n) {
            if (reader == null || inPass == perPass) {
                if (reader != null) {
                    instructions += reader.instructions();
                    reader.close();
                    passes++;
                }
                if (passes == trace.repeat()) throw new TraceException(trace.written() + ": asked for more accesses than it holds");
                reader = new ReadAhead(file, trace.written(), trace.format());
                inPass = 0;
            }
            int want = (int) Math.min(n - k, perPass - inPass);
            int got = fillFrom(addresses, writes, k, want);
            if (got < want) {
                throw new TraceException(trace.written() + ": ended after " + (inPass + got)
                        + " accesses, before the count made before the run (did the file change?)");
            }
            k += got;
            inPass += got;
            taken += got;
        }
        if (left() == 0) {
            instructions += reader.instructions();
            reader.close();
            reader = null;
            passes = trace.repeat();
        }
    }

    private long[] tmpA;
    private boolean[] tmpW;

    private int fillFrom(long[] addresses, boolean[] writes, int at, int want) {
        if (at == 0) return reader.next(addresses, writes, want);
        if (tmpA == null || tmpA.length < want) {
            tmpA = new long[Math.max(want, addresses.length)];
            tmpW = new boolean[tmpA.length];
        }
        int got = reader.next(tmpA, tmpW, want);
        System.arraycopy(tmpA, 0, addresses, at, got);
        System.arraycopy(tmpW, 0, writes, at, got);
        return got;
    }
}
