package org.kvmsim.sim.workload;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.lang.ref.WeakReference;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A compressed trace's bytes, decompressed ahead on a thread of their own, so that decompressing
 * overlaps parsing instead of adding to it: on sort's trace, zstd takes 0.04-0.07 s of the 0.17-0.19
 * s a decode took and xz-java 0.39-0.53 s (traces/README.md). The bytes and their order are the
 * decompressor's; it fills chunks of {@link #CHUNK} bytes and hands them over through a small
 * bounded queue, an error as the chunk after the last good one, and the emptied chunks come back
 * through a second queue, so a pass allocates DEPTH + 2 of them, not one per chunk.
 */
final class DecompressAhead extends InputStream {
    private static final int CHUNK = 1 << 18;
    private static final int DEPTH = 4;

    /** Bytes {@code buf[0..n)}; n < 0 at the end of the stream; or the error in their place. */
    private record Chunk(byte[] buf, int n, IOException error) {}

    private final BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(DEPTH);
    private final BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(DEPTH + 2);
    private final AtomicBoolean closed = new AtomicBoolean();
    private Chunk cur;
    private int pos;

    DecompressAhead(InputStream in) {
        // the thread holds its owner weakly: a stream dropped unclosed lets it end too
        Filler f = new Filler(in, queue, free, closed, new WeakReference<>(this));
        Thread t = new Thread(f::run, "kvmsim-trace-inflate");
        t.setDaemon(true);
        t.start();
    }

    private record Filler(InputStream in, BlockingQueue<Chunk> queue, BlockingQueue<byte[]> free, AtomicBoolean closed,
                          WeakReference<DecompressAhead> owner) {
        void run() {
            try (in) {
                while (live()) {
                    byte[] b = free.poll();
                    if (b == null) b = new byte[CHUNK];
                    int n = in.readNBytes(b, 0, CHUNK);
                    if (n > 0) put(new Chunk(b, n, null));
                    if (n < CHUNK) {
                        put(new Chunk(null, -1, null));
                        return;
                    }
                }
            } catch (IOException x) {
                put(new Chunk(null, 0, x));
            } catch (RuntimeException x) {
                // a decompressor's own failure (zstd-jni throws unchecked ones): an error like the rest
                put(new Chunk(null, 0, new IOException(x.getMessage() == null ? x.toString() : x.getMessage(), x)));
            }
        }

        private boolean live() {
            return !closed.get() && owner.get() != null;
        }

        private void put(Chunk c) {
            try {
                while (live() && !queue.offer(c, 50, TimeUnit.MILLISECONDS)) {
                    // the parser is behind (or gone: then live() ends the wait)
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The chunk to read from, or null at the end of the stream. */
    private Chunk current() throws IOException {
        if (cur != null && cur.n() < 0) return null;
        if (cur == null || pos == cur.n()) {
            if (cur != null) free.offer(cur.buf());
            try {
                cur = queue.take();
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
        closed.set(true);
        queue.clear();
    }
}
