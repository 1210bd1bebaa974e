package org.kvmsim.sim.workload;


/**
 * A trace decoded ahead on a thread of its own ({@link TraceReader} from its file, or its
 * {@link DecodedTrace} copy), so that decompressing and parsing a trace, or reading its copy,
 * overlaps the simulation of the accesses already decoded instead of adding to it. The
 * accesses and their order are exactly the reader's: the decoding thread hands over chunks of
 * packed accesses ({@link TraceReader#nextPacked}) in order through a small bounded queue, each
 * with the instruction-fetch count at its end, and an error (a line malformed since the count
 * before the run) as the chunk after the last good one ({@link Handover}).
 */
final class ReadAhead implements TracePass, PackedReader {
    private static final int CHUNK = 1 << 14;
    private static final int DEPTH = 8;

    /**
     * Decoded accesses (packed), the reader's instruction count at each and after them all; or the
     * error in their place.
     */
    private record Chunk(long[] packed, long[] fetches, int n, long instructions, RuntimeException error) {}

    /** Chunks from the decoding thread; emptied chunk arrays (accesses, fetches) back to it. */
    private final Handover<Chunk, long[][]> handover;
    private Chunk cur;
    private int pos;
    private long instructions;
    private boolean ended;

    /** Decodes {@code reader} ahead, closing it when done. */
    ReadAhead(PackedReader reader) {
        handover = new Handover<>(DEPTH, this, "kvmsim-trace", h -> decode(reader, h));
    }

    private static void decode(PackedReader reader, Handover<Chunk, long[][]> h) {
        try (reader) {
            while (h.live()) {
                long[][] a = h.recycled();
                if (a == null) a = new long[][] {new long[CHUNK], new long[CHUNK]};
                int n = reader.nextPacked(a[0], a[1], 0, CHUNK);
                h.put(new Chunk(a[0], a[1], n, reader.instructions(), null));
                if (n == 0) return;
            }
        } catch (RuntimeException e) {
            h.put(new Chunk(null, null, 0, 0, e));
        }
    }

    /** As {@link TraceReader#next}: up to {@code n} accesses into the arrays; fewer only at the end. */
    @Override
    public int next(long[] addrs, boolean[] writes, int n) {
        int k = 0;
        while (k < n && chunk()) {
            int m = Math.min(n - k, cur.n() - pos);
            long[] packed = cur.packed();
            for (int i = 0; i < m; i++) {
                long a = packed[pos + i];
                addrs[k + i] = a & ~TraceReader.WRITE;
                writes[k + i] = a < 0;
            }
            pos += m;
            k += m;
            instructions = cur.fetches()[pos - 1];
        }
        return k;
    }

    /** As {@link PackedReader#nextPacked}, from the accesses decoded ahead. */
    @Override
    public int nextPacked(long[] out, long[] fetches, int at, int n) {
        int k = 0;
        while (k < n && chunk()) {
            int m = Math.min(n - k, cur.n() - pos);
            System.arraycopy(cur.packed(), pos, out, at + k, m);
            if (fetches != null) System.arraycopy(cur.fetches(), pos, fetches, at + k, m);
            pos += m;
            k += m;
            instructions = cur.fetches()[pos - 1];
        }
        return k;
    }

    /** Whether a chunk with accesses left is at hand (taking the next when this one is used up). */
    private boolean chunk() {
        // an error stays: asked again (the next run), the pass fails again rather than waiting
        if (cur != null && cur.error() != null) throw cur.error();
        if (ended) return false;
        if (cur == null || pos == cur.n()) {
            if (cur != null && cur.packed() != null) handover.recycle(new long[][] {cur.packed(), cur.fetches()});
            cur = take();
            pos = 0;
            if (cur.error() != null) throw cur.error();
            if (cur.n() == 0) {
                // the end of the pass: its fetches after its last access count too
                instructions = cur.instructions();
                ended = true;
                return false;
            }
        }
        return true;
    }

    private Chunk take() {
        try {
            return handover.take();
        } catch (Handover.Gone g) {
            throw new TraceException("reading the trace stopped: " + g.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TraceException("interrupted while reading a trace");
        }
    }

    /**
     * Instruction fetches up to the last access handed out (those between it and the next are
     * the next access's); at the end of the pass, all of the pass's.
     */
    @Override
    public long instructions() {
        return instructions;
    }

    /** Stops the decoding thread (at its next chunk) and drops what it decoded ahead. */
    @Override
    public void close() {
        handover.close();
    }
}
