package org.kvmsim.sim.workload;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.kvmsim.model.Workload;
import org.tukaani.xz.XZInputStream;

/**
 * Decodes a memory-access trace, streamed: a buffer at a time, never the whole file. Compression
 * is recognised by its magic bytes (gzip through the JDK, xz through org.tukaani xz, zstd through
 * zstd-jni), whatever the file is called.
 *
 * <p>Formats:
 * <ul>
 * <li>lackey: Valgrind's {@code --tool=lackey --trace-mem=yes} text, one access a line:
 * {@code I  ADDR,SIZE} (an instruction fetch: counted, not simulated), {@code  L ADDR,SIZE} (a
 * load: a read), {@code  S ADDR,SIZE} (a store: a write), {@code  M ADDR,SIZE} (a modify, as
 * x86's {@code add [mem], reg}: one write, since the instruction translates its memory operand
 * once and that walk sets the accessed and dirty bits together; a read then a write of the same
 * address would only add a TLB hit). Addresses are hexadecimal, sizes decimal; Valgrind's own
 * {@code ==PID==} lines and blank lines are skipped.</li>
 * <li>champsim: ChampSim's {@code input_instr}, 64-byte little-endian records {u64 ip; u8
 * is_branch; u8 branch_taken; u8 dst_regs[2]; u8 src_regs[4]; u64 dst_mem[2]; u64 src_mem[4]}:
 * each record an instruction, its non-zero src_mem reads then its non-zero dst_mem writes (the
 * order ChampSim issues loads and stores).</li>
 * <li>drmemtrace: DynamoRIO drmemtrace's final trace format (what raw2trace writes and its
 * analysers read), packed 12-byte little-endian records {u16 type; u16 size; u64 addr}
 * (trace_entry_t in clients/drcachesim/common/trace_entry.h, 64-bit), the first a
 * TRACE_TYPE_HEADER. TRACE_TYPE_READ is a read, TRACE_TYPE_WRITE a write; the instruction
 * fetches (type_is_instr: TRACE_TYPE_INSTR through _RETURN, _SYSENTER, _TAKEN_JUMP,
 * _UNTAKEN_JUMP; and TRACE_TYPE_INSTR_MAYBE_FETCH) count one each, an INSTR_BUNDLE its size;
 * INSTR_NO_FETCH, prefetches (which never fault), flushes, markers, encodings, thread and pid
 * records are passed over; TRACE_TYPE_FOOTER ends the trace. A file's threads are replayed as
 * the one stream they are interleaved in (one file per thread replays them on vCPUs).</li>
 * </ul>
 * An access's size is not used: an access that straddles a page boundary counts on its first page.
 */
public final class TraceReader implements PackedReader {

    private static final int BUF = 1 << 16;
    private static final int RECORD = 64;
    /** The longest line of valgrind's own shape the fast path reads (16 hex digits, a size and slack). */
    private static final int SLACK = 64;

    /**
     * The write bit of a packed access ({@link #nextPacked}): bit 63, which no replayed address
     * has, since every guest's virtual address space ends at 2^57 at most and a trace address at or
     * above the guest's top is refused before a run (Workloads).
     */
    public static final long WRITE = 1L << 63;

    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH = 0x8080808080808080L;
    private static final long LOW7 = 0x7f7f7f7f7f7f7f7fL;

    /**
     * The high bit of each byte of {@code x} whose value v has m < v < n (Bit Twiddling Hacks'
     * hasbetween, exact per byte for m, n in 0..128: no lane borrows or carries into the next;
     * a byte with its high bit set is never in range).
     */
    private static long between(long x, int m, int n) {
        long lo = x & LOW7;
        return (ONES * (127 + n) - lo) & ~x & (lo + ONES * (127 - m)) & HIGH;
    }

    /** Whether all 8 bytes of {@code x} are hexadecimal digits (0-9, a-f, A-F). */
    static boolean hex8(long x) {
        return (between(x, '0' - 1, '9' + 1) | between(x, 'a' - 1, 'f' + 1) | between(x, 'A' - 1, 'F' + 1)) == HIGH;
    }

    /** The value of 8 hexadecimal digits loaded little-endian (the first digit the lowest byte, the most significant). */
    static long hex8Value(long x) {
        // each byte its digit's value: the low nibble, plus 9 for a letter (0x4X, 0x6X have bit 6)
        long v = (x & 0x0f0f0f0f0f0f0f0fL) + 9 * ((x >>> 6) & ONES);
        // then pairs of digits into bytes, pairs of bytes into 16 bits, and the two halves
        v = (v & 0x000f000f000f000fL) << 4 | (v >>> 8) & 0x000f000f000f000fL;
        v = (v & 0x000000ff000000ffL) << 8 | (v >>> 16) & 0x000000ff000000ffL;
        return (v & 0xffffL) << 16 | (v >>> 32) & 0xffffL;
    }

    /** A byte's value as a hexadecimal digit, or -1. */
    private static final byte[] HEX = new byte[256];

    static {
        java.util.Arrays.fill(HEX, (byte) -1);
        for (int c = '0'; c <= '9'; c++) HEX[c] = (byte) (c - '0');
        for (int c = 'a'; c <= 'f'; c++) HEX[c] = (byte) (c - 'a' + 10);
        for (int c = 'A'; c <= 'F'; c++) HEX[c] = (byte) (c - 'A' + 10);
    }

    private final String name;
    private final Workload.Trace.Format format;
    private final InputStream in;
    private final byte[] buf = new byte[BUF];
    private int pos;
    private int end;
    private boolean eof;
    /** Lines (lackey) or records (champsim) read so far: the number of the one being decoded. */
    private long unit;
    private long instructions;
    /** The highest address decoded so far and the line or record it is on. */
    private long maxAddress;
    private long maxAddressAt;
    /** Accesses decoded from the current champsim record and not yet handed out. */
    private final long[] pending = new long[6];
    /** Where the call under way records each access's instruction fetches so far, or null. */
    private long[] fetches;
    private int pendingAt;
    private int pendingLen;

    private TraceReader(String name, Workload.Trace.Format format, InputStream in) {
        this.name = name;
        this.format = format;
        this.in = in;
    }

    /**
     * Opens {@code file}, decompressing it if its first bytes say it is gzip, xz or zstd.
     * {@code name} is how errors name it (as the script wrote it).
     */
    public static TraceReader open(Path file, String name, Workload.Trace.Format format) {
        InputStream raw = null;
        try {
            raw = new BufferedInputStream(Files.newInputStream(file), BUF);
            raw.mark(8);
            byte[] m = raw.readNBytes(6);
            raw.reset();
            InputStream in;
            if (m.length >= 2 && (m[0] & 0xff) == 0x1f && (m[1] & 0xff) == 0x8b) {
                in = new DecompressAhead(new GZIPInputStream(raw, BUF));
            } else if (m.length >= 6 && (m[0] & 0xff) == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X' && m[4] == 'Z'
                    && m[5] == 0) {
                in = new DecompressAhead(new XZInputStream(raw));
            } else if (m.length >= 4 && (m[0] & 0xff) == 0x28 && (m[1] & 0xff) == 0xb5 && (m[2] & 0xff) == 0x2f
                    && (m[3] & 0xff) == 0xfd) {
                in = new DecompressAhead(new com.github.luben.zstd.ZstdInputStream(raw));
            } else {
                in = raw;
            }
            return new TraceReader(name, format, in);
        } catch (NoSuchFileException x) {
            close(raw);
            throw new TraceException(name + ": no such file");
        } catch (IOException | RuntimeException | UnsatisfiedLinkError x) {
            close(raw);
            throw new TraceException(name + ": cannot read it: " + message(x));
        }
    }

    private static void close(InputStream s) {
        try {
            if (s != null) s.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    private static String message(Throwable x) {
        return x.getMessage() == null ? x.getClass().getSimpleName() : x.getMessage();
    }

    /** Instruction fetches seen so far (lackey I lines, champsim records). */
    @Override
    public long instructions() {
        return instructions;
    }

    /**
     * Fills {@code addrs[0..n)} with the next accesses' virtual addresses and {@code writes} with
     * whether each writes; returns how many it filled, fewer than {@code n} only at the end.
     */
    public int next(long[] addrs, boolean[] writes, int n) {
        long[] packed = new long[n];
        int k = nextPacked(packed, n);
        for (int i = 0; i < k; i++) {
            addrs[i] = packed[i] & ~WRITE;
            writes[i] = packed[i] < 0;
        }
        return k;
    }

    /**
     * As {@link #next}, packed: each access its address, with {@link #WRITE} set for a write; one
     * array of longs is half the memory of an address array and a flag array, and a single copy.
     */
    public int nextPacked(long[] out, int n) {
        return nextPacked(out, 0, n);
    }

    /** As {@link #nextPacked(long[], int)}, into {@code out[at..at+n)}. */
    public int nextPacked(long[] out, int at, int n) {
        return nextPacked(out, null, at, n);
    }

    /**
     * As {@link #nextPacked(long[], int, int)}, and when {@code fetches} is not null, for each
     * access the instruction fetches read up to it ({@link #instructions} then), so that a replay
     * cut anywhere knows the fetches among what it replayed.
     */
    @Override
    public int nextPacked(long[] out, long[] fetches, int at, int n) {
        this.fetches = fetches;
        try {
            return (switch (format) {
                case CHAMPSIM -> nextChampsim(out, at, at + n);
                case DRMEMTRACE -> nextDrmemtrace(out, at, at + n);
                case LACKEY -> nextLackey(out, at, at + n);
            }) - at;
        } catch (IOException x) {
            throw new TraceException(name + ":" + unit + ": cannot read it: " + message(x));
        }
    }

    private boolean fill() throws IOException {
        if (pos < end) System.arraycopy(buf, pos, buf, 0, end - pos);
        end -= pos;
        pos = 0;
        while (end < BUF && !eof) {
            int r = in.read(buf, end, BUF - end);
            if (r < 0) {
                eof = true;
                break;
            }
            end += r;
            if (r == 0) break;
        }
        return end > 0;
    }

    /**
     * Lackey's lines. The lines valgrind writes ({@code "I  HEX,DEC"}, {@code " L HEX,DEC"} and
     * the like, ending in '\n') are parsed in one pass straight from the byte buffer, hex through a
     * table; anything else (its banner, a blank line, other spacing, a malformed line, the file's
     * last few bytes) goes through {@link #lackeyLine}, which accepts the same lines and words
     * the errors. On traces/sort.lackey this took parsing from 0.42 s to 0.13 s of CPU for its
     * 15.4 M lines (traces/README.md, "Why zstd").
     */
    private int nextLackey(long[] out, int k, int n) throws IOException {
        final byte[] b = buf;
        while (k < n) {
            int p = pos;
            if (end - p < SLACK && !eof) {
                fill();
                p = pos;
            }
            fast:
            if (end - p >= SLACK) {
                // a line of valgrind's own shape lies wholly within the SLACK bytes from p
                int lim = p + SLACK - 2;
                byte kind = b[p];
                if (kind == 'I') {
                    if (b[p + 1] != ' ' || b[p + 2] != ' ') break fast;
                } else if (kind == ' ') {
                    kind = b[p + 1];
                    if ((kind != 'L' && kind != 'S' && kind != 'M') || b[p + 2] != ' ') break fast;
                } else {
                    break fast;
                }
                int q = p + 3;
                long addr = 0;
                long x = (long) LE64.get(b, q);
                if (hex8(x)) {
                    // valgrind writes at least 8 digits (%08lx): those 8 at once, the rest one by one;
                    // an instruction fetch's address is not used, only checked
                    if (kind != 'I') addr = hex8Value(x);
                    q += 8;
                    for (int d, h = q; q - h < 8 && (d = HEX[b[q] & 0xff]) >= 0; q++) addr = addr << 4 | d;
                } else {
                    int h = q;
                    for (int d; q - h < 16 && (d = HEX[b[q] & 0xff]) >= 0; q++) addr = addr << 4 | d;
                    if (q == h) break fast;
                }
                if (b[q] != ',') break fast;
                int s = ++q;
                while (q < lim && b[q] >= '0' && b[q] <= '9') q++;
                if (q == s) break fast;
                if (b[q] == '\n') {
                    pos = q + 1;
                } else if (b[q] == '\r' && b[q + 1] == '\n') {
                    pos = q + 2;
                } else {
                    break fast;
                }
                unit++;
                if (kind == 'I') {
                    instructions++;
                    continue;
                }
                if (Long.compareUnsigned(addr, maxAddress) > 0) {
                    maxAddress = addr;
                    maxAddressAt = unit;
                }
                if (fetches != null) fetches[k] = instructions;
                out[k++] = kind == 'L' ? addr : addr | WRITE;
                continue;
            }
            int r = lackeyLine();
            if (r == END) break;
            if (r == ACCESS) {
                if (fetches != null) fetches[k] = instructions;
                out[k++] = lineAccess;
            }
        }
        return k;
    }

    private static final int END = 0;
    private static final int SKIPPED = 1;
    private static final int ACCESS = 2;
    /** The access {@link #lackeyLine} decoded, packed. */
    private long lineAccess;

    /**
     * Decodes the line at pos, of any spacing lackey's reader accepts: returns END at the end of
     * the trace, SKIPPED for a blank line, a {@code ==PID==} line or an instruction fetch (counted),
     * ACCESS with the access in {@link #lineAccess}.
     */
    private int lackeyLine() throws IOException {
        int nl = lineEnd();
        if (nl < 0) return END;
        unit++;
        int p = pos;
        int e = nl;
        pos = nl + 1;
        if (e > p && buf[e - 1] == '\r') e--;
        while (p < e && buf[p] == ' ') p++;
        if (p == e) return SKIPPED;
        byte kind = buf[p];
        if (kind == '=' && p + 1 < e && buf[p + 1] == '=') return SKIPPED;
        if ((kind != 'I' && kind != 'L' && kind != 'S' && kind != 'M') || p + 1 >= e || buf[p + 1] != ' ') {
            throw malformed(p, e);
        }
        p++;
        while (p < e && buf[p] == ' ') p++;
        long addr = 0;
        int digits = 0;
        for (; p < e && buf[p] != ','; p++, digits++) {
            int d = HEX[buf[p] & 0xff];
            if (d < 0 || digits >= 16) throw malformed(p, e);
            addr = addr << 4 | d;
        }
        if (digits == 0 || p >= e) throw malformed(p, e);
        int sizeDigits = 0;
        for (p++; p < e && buf[p] != ' '; p++, sizeDigits++) {
            if (buf[p] < '0' || buf[p] > '9') throw malformed(p, e);
        }
        if (sizeDigits == 0) throw malformed(p, e);
        if (kind == 'I') {
            instructions++;
            return SKIPPED;
        }
        if (Long.compareUnsigned(addr, maxAddress) > 0) {
            maxAddress = addr;
            maxAddressAt = unit;
        }
        lineAccess = kind == 'L' ? addr : addr | WRITE;
        return ACCESS;
    }

    /** The index of the '\n' ending the line at pos (a last line without one gets one), or -1 at the end. */
    private int lineEnd() throws IOException {
        while (true) {
            for (int i = pos; i < end; i++) if (buf[i] == '\n') return i;
            if (eof || end - pos == BUF) {
                if (pos == end) return -1;
                if (end - pos == BUF) throw new TraceException(name + ":" + (unit + 1) + ": a line longer than "
                        + BUF + " bytes: not a lackey trace");
                // the last line has no newline: give it one
                if (end == BUF) fill();
                buf[end] = '\n';
                return end++;
            }
            fill();
        }
    }

    private TraceException malformed(int from, int e) {
        int start = from;
        while (start > 0 && buf[start - 1] != '\n') start--;
        String line = new String(buf, start, Math.min(e, start + 60) - start, java.nio.charset.StandardCharsets.ISO_8859_1);
        return new TraceException(name + ":" + unit + ": not a lackey line: '" + line + "' (expected 'I  ADDR,SIZE',"
                + " ' L ADDR,SIZE', ' S ADDR,SIZE' or ' M ADDR,SIZE', as valgrind --tool=lackey --trace-mem=yes writes)");
    }

    private int nextChampsim(long[] out, int k, int n) throws IOException {
        while (k < n) {
            if (pendingAt < pendingLen) {
                if (fetches != null) fetches[k] = instructions;
                out[k++] = pending[pendingAt++];
                continue;
            }
            if (end - pos < RECORD) {
                fill();
                if (end - pos == 0) break;
                if (end - pos < RECORD) {
                    if (eof) throw new TraceException(name + ": record " + (unit + 1) + " is cut short (" + (end - pos)
                            + " of " + RECORD + " bytes): not a ChampSim input_instr trace, or truncated");
                    continue;
                }
            }
            unit++;
            instructions++;
            pendingAt = 0;
            pendingLen = 0;
            // src_mem[4] at 32..63 (reads), then dst_mem[2] at 16..31 (writes)
            for (int i = 0; i < 4; i++) pend(le64(pos + 32 + 8 * i), false);
            for (int i = 0; i < 2; i++) pend(le64(pos + 16 + 8 * i), true);
            pos += RECORD;
        }
        return k;
    }

    /** drmemtrace's trace_entry_t: u16 type, u16 size, u64 addr, packed (trace_entry.h). */
    private static final int DR_ENTRY = 12;
    // trace_type_t values (trace_entry.h, DynamoRIO 10.x; the enum's comments pin INSTR at 10,
    // DATA_FLUSH at 20, INSTR_MAYBE_FETCH at 30)
    private static final int DR_READ = 0;
    private static final int DR_WRITE = 1;
    private static final int DR_INSTR = 10;
    private static final int DR_INSTR_RETURN = 16;
    private static final int DR_INSTR_BUNDLE = 17;
    private static final int DR_HEADER = 25;
    private static final int DR_FOOTER = 26;
    private static final int DR_INSTR_MAYBE_FETCH = 30;
    private static final int DR_INSTR_SYSENTER = 31;
    private static final int DR_INSTR_TAKEN_JUMP = 48;
    private static final int DR_INSTR_UNTAKEN_JUMP = 49;
    /** Whether TRACE_TYPE_FOOTER was read: nothing after it is the trace. */
    private boolean footer;

    private int nextDrmemtrace(long[] out, int k, int n) throws IOException {
        while (k < n && !footer) {
            if (end - pos < DR_ENTRY) {
                fill();
                if (end - pos == 0) break;
                if (end - pos < DR_ENTRY) {
                    if (eof) throw new TraceException(name + ": record " + (unit + 1) + " is cut short (" + (end - pos)
                            + " of " + DR_ENTRY + " bytes): not a drmemtrace trace_entry_t file, or truncated");
                    continue;
                }
            }
            unit++;
            int type = (buf[pos] & 0xff) | (buf[pos + 1] & 0xff) << 8;
            int size = (buf[pos + 2] & 0xff) | (buf[pos + 3] & 0xff) << 8;
            long addr = le64(pos + 4);
            pos += DR_ENTRY;
            if (unit == 1 && type != DR_HEADER) {
                throw new TraceException(name + ": record 1 has type " + type + ", not TRACE_TYPE_HEADER (" + DR_HEADER
                        + "): not a drmemtrace trace_entry_t file (an offline raw file must go through raw2trace first)");
            }
            if (type == DR_READ || type == DR_WRITE) {
                if (Long.compareUnsigned(addr, maxAddress) > 0) {
                    maxAddress = addr;
                    maxAddressAt = unit;
                }
                if (fetches != null) fetches[k] = instructions;
                out[k++] = type == DR_WRITE ? addr | WRITE : addr;
            } else if (type >= DR_INSTR && type <= DR_INSTR_RETURN || type == DR_INSTR_SYSENTER
                    || type == DR_INSTR_TAKEN_JUMP || type == DR_INSTR_UNTAKEN_JUMP || type == DR_INSTR_MAYBE_FETCH) {
                instructions++;
            } else if (type == DR_INSTR_BUNDLE) {
                instructions += size;
            } else if (type == DR_FOOTER) {
                footer = true;
            } else if (type > DR_INSTR_UNTAKEN_JUMP) {
                throw new TraceException(name + ": record " + unit + " has type " + type + ", which trace_entry.h does not"
                        + " define (0 to " + DR_INSTR_UNTAKEN_JUMP + ")");
            }
            // else: a prefetch, flush, marker, encoding, thread, pid or header: not an access
        }
        return k;
    }

    private void pend(long addr, boolean write) {
        if (addr == 0) return;
        if (Long.compareUnsigned(addr, maxAddress) > 0) {
            maxAddress = addr;
            maxAddressAt = unit;
        }
        pending[pendingLen++] = write ? addr | WRITE : addr;
    }

    private long le64(int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) v = v << 8 | (buf[at + i] & 0xff);
        return v;
    }

    /** The highest address decoded so far (unsigned). */
    public long maxAddress() {
        return maxAddress;
    }

    /** The line (lackey) or record (champsim) of {@link #maxAddress}. */
    public long maxAddressAt() {
        return maxAddressAt;
    }

    @Override
    public void close() {
        close(in);
    }
}
