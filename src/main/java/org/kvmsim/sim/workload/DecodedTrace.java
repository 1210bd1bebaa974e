package org.kvmsim.sim.workload;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.kvmsim.model.Workload;

/**
 * A trace's accesses kept decoded, in a compact form of kvmsim's own in a temporary file, so that
 * a trace is decompressed and parsed once per process however often it is replayed: the pass that
 * counts a trace before its first run ({@link #write}) writes this form as it goes, and every
 * replay reads it back ({@link #open}), several times faster than its text or records decode.
 *
 * <p>Why: parsing lackey text is bounded by its lines (three in four of them instruction fetches
 * that only count), and a trace whose program touches few pages replays faster than any decoder
 * of that text gives it accesses (traces/README.md, "Decoded once"). An experiment replays the
 * same trace under several configurations, and a sweep once per value: each of those replays now
 * reads about three bytes an access instead of fifteen to sixty of text.
 *
 * <p>The form: per access two unsigned LEB128 varints, the instruction fetches decoded since the
 * previous access, then the zig-zag encoded difference from one of four bases shifted left three,
 * the base's number in bits 1-2 and the write flag in bit 0. The bases are the last addresses
 * written from each: the writer takes the nearest, or, when none is within 1 MiB, the next in
 * turn (a program's stack, heap, code and libraries each keep one, so a jump between them costs
 * a byte or two, not six); the reader only adds the difference to the base it names. About 3
 * bytes an access (sort: 12.6 MB for 4.08 M accesses, 54 bytes of text each). Exact for addresses
 * below 2^60; a replayed address is below 2^57 (a trace reaching higher is refused before its
 * first run). Nothing else is in the file: its length in accesses and the fetches after its last
 * access are in the {@link TraceStream.Count} the pass returns. The file is deleted when the JVM exits (and
 * by the next process to write a copy there, when its JVM was killed: {@link Owner}); it
 * depends only on the trace's bytes, so the process keeps one per trace file, size and
 * modification time (Workloads).
 */
public final class DecodedTrace {

    private static final int BUF = 1 << 16;
    /** The longest an access takes in this form: two varints of at most 10 bytes. */
    private static final int MAX_ACCESS = 20;
    /** Addresses an access's difference is taken from (a power of two): a program's stack, heap, code and data. */
    private static final int BASES = 4;
    /** How near a base an access must be to be written from it (else it replaces one). */
    private static final long NEAR = 1L << 20;

    private final Path file;
    private final TraceStream.Count count;

    private DecodedTrace(Path file, TraceStream.Count count) {
        this.file = file;
        this.count = count;
    }

    /** Where the copy is. */
    Path file() {
        return file;
    }

    /** The copy's size in bytes. */
    public long bytes() {
        try {
            return Files.size(file);
        } catch (IOException x) {
            return -1;
        }
    }

    /** The trace's length, fetches and highest address, as {@link TraceStream#count} finds them. */
    public TraceStream.Count count() {
        return count;
    }

    /**
     * Reads the whole trace once, streamed, as {@link TraceStream#count} does (any malformed line
     * a {@link TraceException}), writing its accesses to a new temporary file as it goes.
     *
     * @throws IOException when the temporary file cannot be written (the trace itself was fine
     *     as far as it was read: the caller can count and replay it from its file instead)
     */
    public static DecodedTrace write(Path trace, String name, Workload.Trace.Format format) throws IOException {
        return write(trace, name, format, null, n -> {});
    }

    /**
     * As {@link #write(Path, String, Workload.Trace.Format)}, telling {@code poll} the accesses read
     * after every chunk of them (an interrupt it throws deletes what was written), the copy in
     * {@code dir} (null: the default temporary folder).
     */
    public static DecodedTrace write(Path trace, String name, Workload.Trace.Format format, Path dir,
                                     java.util.function.LongConsumer poll)
            throws IOException {
        Path out = Owner.of(dir == null ? Path.of(System.getProperty("java.io.tmpdir")) : dir).newCopy();
        boolean done = false;
        TraceReader r = null;
        // parsed ahead on a thread of its own (and decompressed on another), encoded here; the
        // reader belongs to that thread once it starts, which closes it
        try (ReadAhead parsed = new ReadAhead(r = TraceReader.open(trace, name, format));
                OutputStream os = Files.newOutputStream(out)) {
            long[] packed = new long[1 << 14];
            long[] fetches = new long[packed.length];
            byte[] b = new byte[packed.length * MAX_ACCESS];
            long[] base = new long[BASES];
            int victim = 0;
            long prevFetches = 0;
            long n = 0;
            int k;
            while ((k = parsed.nextPacked(packed, fetches, 0, packed.length)) > 0) {
                int p = 0;
                for (int i = 0; i < k; i++) {
                    long a = packed[i] & ~TraceReader.WRITE;
                    // from the nearest base; a jump far from all of them replaces them in turn
                    int j = 0;
                    for (int c = 1; c < BASES; c++) {
                        if (Math.abs(a - base[c]) < Math.abs(a - base[j])) j = c;
                    }
                    if (Math.abs(a - base[j]) >= NEAR) {
                        j = victim;
                        victim = (victim + 1) % BASES;
                    }
                    long d = a - base[j];
                    base[j] = a;
                    p = varint(b, p, fetches[i] - prevFetches);
                    prevFetches = fetches[i];
                    p = varint(b, p, ((d << 1) ^ (d >> 63)) << 3 | j << 1 | (packed[i] >>> 63));
                }
                os.write(b, 0, p);
                n += k;
                poll.accept(n);
            }
            done = true;
            // the parser is done with r (the queue's hand-over orders its last writes before this)
            return new DecodedTrace(out, new TraceStream.Count(n, parsed.instructions(), r.maxAddress(), r.maxAddressAt()));
        } finally {
            if (!done) Files.deleteIfExists(out);
        }
    }

    /**
     * This process's claim on its copies in one folder, so that a later process can delete what a
     * killed one left (a JVM killed with SIGKILL runs no exit hook): a lock file
     * {@code kvmsim-trace-TOKEN.lock}, locked for the life of the process, whose token every copy's
     * name carries ({@code kvmsim-trace-TOKEN-*.decoded}). Before its first copy in a folder a
     * process deletes the copies of every token whose lock it can take: their process is gone.
     * The lock is the kernel's (fcntl), so it holds across PID namespaces sharing the folder, and
     * a dead process's lock is gone at once. The lock file is never opened elsewhere in the
     * process (closing any descriptor of a file drops the process's locks on it), so it is a file
     * apart from the copies. A lock file made a moment ago may not be locked yet: those are left
     * alone, and so is a copy with no lock file (made by another tool, or whose lock file a
     * racing process removed).
     */
    static final class Owner {
        static final String PREFIX = "kvmsim-trace-";
        /** How old an unlocked lock file must be to be taken as a dead process's. */
        static final long SETTLED_MILLIS = 10_000;
        private static final java.util.Map<Path, Owner> BY_DIR = new java.util.concurrent.ConcurrentHashMap<>();

        private final Path dir;
        private final String token;
        /** Held for the life of the process: the claim (not closed, and never collected). */
        @SuppressWarnings("unused")
        private final java.nio.channels.FileChannel lock;

        private Owner(Path dir, String token, java.nio.channels.FileChannel lock) {
            this.dir = dir;
            this.token = token;
            this.lock = lock;
        }

        /** This process's owner in {@code dir}, made (after deleting dead processes' copies) on first use. */
        static Owner of(Path dir) throws IOException {
            Path key = dir.toAbsolutePath().normalize();
            Owner o = BY_DIR.get(key);
            if (o != null) return o;
            synchronized (BY_DIR) {
                o = BY_DIR.get(key);
                if (o == null) {
                    deleteOrphans(key);
                    o = claim(key);
                    BY_DIR.put(key, o);
                }
                return o;
            }
        }

        private static Owner claim(Path dir) throws IOException {
            String token = Long.toHexString(ProcessHandle.current().pid()) + "x"
                    + Long.toHexString(new java.security.SecureRandom().nextLong() >>> 16);
            Path file = dir.resolve(PREFIX + token + ".lock");
            java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
                    java.nio.file.StandardOpenOption.CREATE_NEW, java.nio.file.StandardOpenOption.WRITE);
            file.toFile().deleteOnExit();
            try {
                if (ch.tryLock() == null) throw new IOException("cannot lock " + file);
            } catch (IOException | RuntimeException x) {
                ch.close();
                Files.deleteIfExists(file);
                throw x;
            }
            return new Owner(dir, token, ch);
        }

        /** A new empty copy of this process's, deleted when the JVM exits. */
        Path newCopy() throws IOException {
            Path out = Files.createTempFile(dir, PREFIX + token + "-", ".decoded");
            out.toFile().deleteOnExit();
            return out;
        }

        /** Deletes the copies and lock files of processes that are gone; returns how many copies. */
        static int deleteOrphans(Path dir) {
            int deleted = 0;
            List<Path> locks;
            try (java.util.stream.Stream<Path> s = Files.list(dir)) {
                locks = s.filter(f -> {
                    String n = f.getFileName().toString();
                    return n.startsWith(PREFIX) && n.endsWith(".lock");
                }).sorted().toList();
            } catch (IOException | RuntimeException x) {
                return 0; // nothing to clean that can be seen
            }
            for (Path l : locks) {
                String n = l.getFileName().toString();
                String token = n.substring(PREFIX.length(), n.length() - ".lock".length());
                // this JVM's own are never opened here: closing that descriptor would drop its lock
                if (BY_DIR.values().stream().anyMatch(o -> o.token.equals(token))) continue;
                try {
                    if (System.currentTimeMillis() - Files.getLastModifiedTime(l).toMillis() < SETTLED_MILLIS) continue;
                } catch (IOException x) {
                    continue; // gone meanwhile
                }
                try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(l, java.nio.file.StandardOpenOption.WRITE)) {
                    java.nio.channels.FileLock held = ch.tryLock();
                    if (held == null) continue; // its process is alive
                    try (java.nio.file.DirectoryStream<Path> copies = Files.newDirectoryStream(dir, PREFIX + token + "-*.decoded")) {
                        for (Path c : copies) if (Files.deleteIfExists(c)) deleted++;
                    }
                    Files.deleteIfExists(l);
                } catch (java.nio.channels.OverlappingFileLockException x) {
                    // held by this JVM through a channel of its own: alive
                } catch (IOException | RuntimeException x) {
                    // another user's, or gone meanwhile: not ours to clean
                }
            }
            return deleted;
        }
    }

    private static int varint(byte[] b, int p, long v) {
        while ((v & ~0x7fL) != 0) {
            b[p++] = (byte) (v | 0x80);
            v >>>= 7;
        }
        b[p++] = (byte) v;
        return p;
    }

    /** A pass over the accesses from the first, read streamed from the file ahead on a thread of its own. */
    TracePass open() {
        return new ReadAhead(reader());
    }

    private Reader reader() {
        try {
            return new Reader(Files.newInputStream(file), count.accesses());
        } catch (IOException x) {
            throw new TraceException("the decoded copy of a trace is gone (" + file + "): " + x.getMessage());
        }
    }

    /**
     * Reads the whole copy and nothing else, on the calling thread: what `kvmsim bench trace`
     * times as reading it alone. Returns a sum of the addresses and fetches, so no read is idle.
     */
    public long readAlone() {
        long[] a = new long[1 << 14];
        long[] f = new long[a.length];
        long sum = 0;
        try (Reader r = reader()) {
            int k;
            while ((k = r.nextPacked(a, f, 0, a.length)) > 0) {
                for (int i = 0; i < k; i++) sum += a[i] ^ f[i];
            }
            return sum + r.instructions();
        }
    }

    /** Deletes the file now (the process no longer needs it). */
    public void delete() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // deleted at exit then
        }
    }

    private final class Reader implements PackedReader {
        private final InputStream in;
        private final long accesses;
        private final byte[] buf = new byte[BUF + MAX_ACCESS];
        private int pos;
        private int end;
        private long read;
        private final long[] base = new long[BASES];
        private long instructions;

        Reader(InputStream in, long accesses) {
            this.in = in;
            this.accesses = accesses;
        }

        @Override
        public int nextPacked(long[] out, long[] fetches, int at, int n) {
            int want = (int) Math.min(n, accesses - read);
            final byte[] b = buf;
            int p = pos;
            final long[] base = this.base;
            long f = instructions;
            for (int k = at; k < at + want; k++) {
                if (end - p < MAX_ACCESS) {
                    pos = p;
                    fill();
                    p = pos;
                }
                // the fetches since the previous access: nearly always one byte
                long v = b[p++];
                if (v < 0) {
                    v &= 0x7f;
                    for (int s = 7; ; s += 7) {
                        long x = b[p++];
                        v |= (x & 0x7f) << s;
                        if (x >= 0) break;
                    }
                }
                f += v;
                v = b[p++];
                if (v < 0) {
                    v &= 0x7f;
                    for (int s = 7; ; s += 7) {
                        long x = b[p++];
                        v |= (x & 0x7f) << s;
                        if (x >= 0) break;
                    }
                }
                int j = (int) (v >>> 1) & (BASES - 1);
                long z = v >>> 3;
                long a = base[j] + ((z >>> 1) ^ -(z & 1));
                base[j] = a;
                out[k] = a | v << 63;
                if (fetches != null) fetches[k] = f;
            }
            if (p > end) throw cutShort();
            pos = p;
            instructions = f;
            read += want;
            return want;
        }

        /** Moves what is left to the front and reads on; a file cut short is an error. */
        private void fill() {
            // an access read past the end: the zeros after it were taken for its bytes
            if (pos > end) throw cutShort();
            System.arraycopy(buf, pos, buf, 0, end - pos);
            end -= pos;
            pos = 0;
            try {
                while (end < MAX_ACCESS) {
                    int r = in.read(buf, end, BUF - end);
                    if (r < 0) break;
                    end += r;
                }
                // the rest of a buffer's worth, if the stream has it at hand
                if (end < BUF) {
                    int r = in.read(buf, end, BUF - end);
                    if (r > 0) end += r;
                }
            } catch (IOException x) {
                throw new TraceException("cannot read the decoded copy of a trace: " + x.getMessage());
            }
            if (end == 0) throw cutShort();
            // a last access shorter than MAX_ACCESS: the bytes after it are never read as one
            java.util.Arrays.fill(buf, end, Math.min(buf.length, end + MAX_ACCESS), (byte) 0);
        }

        private TraceException cutShort() {
            return new TraceException("the decoded copy of a trace is cut short after " + read + " of its " + accesses
                    + " accesses (" + file + ")");
        }

        /** Fetches up to the last access given; once all are given, the trace's, those after its last access too. */
        @Override
        public long instructions() {
            return read == accesses ? count.instructions() : instructions;
        }

        @Override
        public void close() {
            try {
                in.close();
            } catch (IOException ignored) {
                // read only
            }
        }
    }
}
