package org.kvmsim.sim.workload;

import java.nio.file.Path;
import org.kvmsim.model.Workload;

/**
 * A trace workload's accesses on one VM: the trace's first {@code limit} accesses (all of them by
 * default), {@code repeat} times over, each pass read anew from its source: the trace's decoded
 * copy ({@link #ofDecoded}), the file itself ({@link #ofFile}) or memory ({@link #ofHeld}, for the
 * bench). Kept across runs, so a trace longer than a run carries on where the last run stopped.
 * The length must be known before the first run ({@link #count}, or {@link DecodedTrace#write}:
 * one streamed pass, which also finds a malformed line before any access is simulated), so the
 * accesses can be spread evenly over a run.
 */
public final class TraceStream implements Accesses {

    /** What one streamed pass over a trace found: its accesses, instruction fetches, highest address and its line. */
    public record Count(long accesses, long instructions, long maxAddress, long maxAddressAt) {}

    /**
     * A trace decoded whole into memory, packed as {@link TraceReader#nextPacked} gives it: what
     * `kvmsim bench trace` replays to time the same accesses without their decoding. Not for
     * scripts: a trace is never held whole otherwise.
     */
    public record Held(long[] packed, Count count) {}

    private final Workload.Trace trace;
    private final long perPass;
    /** The whole file's accesses and instruction fetches, as counted before the first run. */
    private final Count count;
    /** A new pass over the trace from its first access. */
    private final java.util.function.Supplier<TracePass> newPass;
    private TracePass reader;
    private long passes;
    private long inPass;
    private long taken;
    private long instructions;

    private TraceStream(Workload.Trace trace, Count count, java.util.function.Supplier<TracePass> newPass) {
        this.trace = trace;
        this.newPass = newPass;
        this.count = count;
        this.perPass = Math.min(trace.limit() > 0 ? trace.limit() : Long.MAX_VALUE, count.accesses());
    }

    /** A stream whose passes decode {@code file} again each time, ahead on a thread of their own. */
    public static TraceStream ofFile(Path file, Workload.Trace trace, Count count) {
        return new TraceStream(trace, count, () -> new ReadAhead(TraceReader.open(file, trace.written(), trace.format())));
    }

    /** A stream whose passes read the trace's decoded copy (see {@link DecodedTrace}). */
    public static TraceStream ofDecoded(DecodedTrace decoded, Workload.Trace trace) {
        return new TraceStream(trace, decoded.count(), decoded::open);
    }

    /** A stream whose passes replay {@code held} from memory. */
    public static TraceStream ofHeld(Held held, Workload.Trace trace) {
        return new TraceStream(trace, held.count(), () -> new HeldPass(held));
    }

    /** Decodes the whole trace into memory (see {@link Held}). */
    public static Held hold(Path file, String name, Workload.Trace.Format format) {
        long[] all = new long[1 << 16];
        long n = 0;
        try (TraceReader r = TraceReader.open(file, name, format)) {
            int k;
            while ((k = r.nextPacked(all, (int) n, all.length - (int) n)) > 0) {
                n += k;
                if (n == all.length) {
                    if (all.length == Integer.MAX_VALUE - 8) throw new TraceException(name + ": too long to hold in memory");
                    all = java.util.Arrays.copyOf(all, (int) Math.min(Integer.MAX_VALUE - 8, 2L * all.length));
                }
            }
            return new Held(java.util.Arrays.copyOf(all, (int) n),
                    new Count(n, r.instructions(), r.maxAddress(), r.maxAddressAt()));
        }
    }

    /**
     * A pass over a held trace: its accesses in order. Its instruction fetches are not held: a
     * whole pass counts the file's (see {@link #instructions}), a pass cut short none.
     */
    private static final class HeldPass implements TracePass {
        private final Held held;
        private int pos;

        HeldPass(Held held) {
            this.held = held;
        }

        @Override
        public int next(long[] addrs, boolean[] writes, int n) {
            int m = Math.min(n, held.packed().length - pos);
            for (int i = 0; i < m; i++) {
                long a = held.packed()[pos + i];
                addrs[i] = a & ~TraceReader.WRITE;
                writes[i] = a < 0;
            }
            pos += m;
            return m;
        }

        @Override
        public long instructions() {
            return 0;
        }

        @Override
        public void close() {}
    }

    /** Reads the whole trace once, streamed: its length, and any malformed line as a {@link TraceException}. */
    public static Count count(Path file, String name, Workload.Trace.Format format) {
        return count(file, name, format, n -> {});
    }

    /** As {@link #count(Path, String, Workload.Trace.Format)}, telling {@code poll} the accesses read after every chunk. */
    public static Count count(Path file, String name, Workload.Trace.Format format, java.util.function.LongConsumer poll) {
        long[] a = new long[1 << 14];
        long n = 0;
        try (TraceReader r = TraceReader.open(file, name, format)) {
            int k;
            while ((k = r.nextPacked(a, a.length)) > 0) {
                n += k;
                poll.accept(n);
            }
            return new Count(n, r.instructions(), r.maxAddress(), r.maxAddressAt());
        }
    }

    /** Accesses this stream will still give. */
    public long left() {
        return perPass * trace.repeat() - taken;
    }

    /** Accesses this stream gave so far. */
    public long taken() {
        return taken;
    }

    /**
     * Instruction fetches among the accesses given so far: those read up to the last of them,
     * and a whole pass's (those after its last access too) once a pass that takes the whole file
     * is done. Counted, never simulated: kvmsim has no instruction TLB.
     */
    public long instructions() {
        return instructions + (reader == null ? 0 : passFetches());
    }

    /** The fetches of the pass under way, up to where it is. */
    private long passFetches() {
        return inPass == perPass && perPass == count.accesses() ? count.instructions() : reader.instructions();
    }

    @Override
    public void next(long[] addresses, boolean[] writes, int n) {
        int k = 0;
        while (k < n) {
            if (reader == null || inPass == perPass) {
                if (reader != null) {
                    instructions += passFetches();
                    reader.close();
                    passes++;
                }
                if (passes == trace.repeat()) throw new TraceException(trace.written() + ": asked for more accesses than it holds");
                reader = newPass.get();
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
            instructions += passFetches();
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
