package org.kvmsim.sim.workload;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;

/**
 * A compressed trace's bytes, decompressed ahead on a thread of their own, so that decompressing
 * overlaps parsing instead of adding to it: on sort's trace, zstd takes 0.04-0.07 s of the 0.17-0.19
 * s a decode took and xz-java 0.39-0.53 s (traces/README.md). The bytes and their order are the
 * decompressor's; it fills chunks of {@link #CHUNK} bytes and hands them over in order, an error
 * as the chunk after the last good one ({@link Handover}).
 */
final class DecompressAhead extends InputStream {
    private static final int CHUNK = 1 << 18;
    private static final int DEPTH = 4;

    /** Bytes {@code buf[0..n)}; n < 0 at the end of the stream; or the error in their place. */
    private record Chunk(byte[] buf, int n, IOException error) {}

    /** Chunks from the decompressing thread; emptied buffers back to it. */
    private final Handover<Chunk, byte[]> handover;
    private Chunk cur;
    private int pos;

    DecompressAhead(InputStream in) {
        handover = new Handover<>(DEPTH, this, "kvmsim-trace-inflate", h -> fill(in, h));
    }

    private static void fill(InputStream in, Handover<Chunk, byte[]> h) {
        try (in) {
            while (h.live()) {
                byte[] b = h.recycled();
                if (b == null) b = new byte[CHUNK];
                int n = in.readNBytes(b, 0, CHUNK);
                if (n > 0) h.put(new Chunk(b, n, null));
                if (n < CHUNK) {
                    h.put(new Chunk(null, -1, null));
                    return;
                }
            }
        } catch (IOException x) {
            h.put(new Chunk(null, 0, x));
        } catch (RuntimeException x) {
            // a decompressor's own failure (zstd-jni throws unchecked ones): an error like the rest
            h.put(new Chunk(null, 0, new IOException(x.getMessage() == null ? x.toString() : x.getMessage(), x)));
        }
    }

    /** The chunk to read from, or null at the end of the stream. */
    private Chunk current() throws IOException {
        // an error stays: read again, the stream fails again rather than waiting
        if (cur != null && cur.error() != null) throw cur.error();
        if (cur != null && cur.n() < 0) return null;
        if (cur == null || pos == cur.n()) {
            if (cur != null && cur.buf() != null) handover.recycle(cur.buf());
            try {
                cur = handover.take();
            } catch (Handover.Gone g) {
                throw new IOException("decompressing stopped: " + g.getMessage(), g);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while decompressing a trace");
            }
            pos = 0;
            if (cur.error() != null) throw cur.error();
            if (cur.n() < 0) return null;
        }
        return cur;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) return 0;
        Chunk c = current();
        if (c == null) return -1;
        int m = Math.min(len, c.n() - pos);
        System.arraycopy(c.buf(), pos, b, off, m);
        pos += m;
        return m;
    }

    @Override
    public int read() throws IOException {
        Chunk c = current();
        return c == null ? -1 : c.buf()[pos++] & 0xff;
    }

    /** Stops the thread (at its next chunk, closing the compressed stream) and drops what it read ahead. */
    @Override
    public void close() {
        handover.close();
    }
}
