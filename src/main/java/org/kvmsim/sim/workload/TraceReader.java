package org.kvmsim.sim.workload;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
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
 * </ul>
 * An access's size is not used: an access that straddles a page boundary counts on its first page.
 */
public final class TraceReader implements Closeable {

    private static final int BUF = 1 << 16;
    private static final int RECORD = 64;

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
    private final long[] pendingAddr = new long[6];
    private final boolean[] pendingWrite = new boolean[6];
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
                in = new GZIPInputStream(raw, BUF);
            } else if (m.length >= 6 && (m[0] & 0xff) == 0xfd && m[1] == '7' && m[2] == 'z' && m[3] == 'X' && m[4] == 'Z'
                    && m[5] == 0) {
                in = new XZInputStream(raw);
            } else if (m.length >= 4 && (m[0] & 0xff) == 0x28 && (m[1] & 0xff) == 0xb5 && (m[2] & 0xff) == 0x2f
                    && (m[3] & 0xff) == 0xfd) {
                in = new com.github.luben.zstd.ZstdInputStream(raw);
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
    public long instructions() {
        return instructions;
    }

    /**
     * Fills {@code addrs[0..n)} with the next accesses' virtual addresses and {@code writes} with
     * whether each writes; returns how many it filled, fewer than {@code n} only at the end.
     */
    public int next(long[] addrs, boolean[] writes, int n) {
        try {
            return format == Workload.Trace.Format.CHAMPSIM ? nextChampsim(addrs, writes, n) : nextLackey(addrs, writes, n);
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

    private int nextLackey(long[] addrs, boolean[] writes, int n) throws IOException {
        int k = 0;
        while (k < n) {
            int nl = lineEnd();
            if (nl < 0) break;
            unit++;
            int p = pos;
            int e = nl;
            pos = nl + 1;
            if (e > p && buf[e - 1] == '\r') e--;
            while (p < e && buf[p] == ' ') p++;
            if (p == e) continue;
            byte kind = buf[p];
            if (kind == '=' && p + 1 < e && buf[p + 1] == '=') continue;
            if ((kind != 'I' && kind != 'L' && kind != 'S' && kind != 'M') || p + 1 >= e || buf[p + 1] != ' ') {
                throw malformed(p, e);
            }
            p++;
            while (p < e && buf[p] == ' ') p++;
            long addr = 0;
            int digits = 0;
            for (; p < e && buf[p] != ','; p++, digits++) {
                int d = Character.digit(buf[p], 16);
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
                continue;
            }
            if (Long.compareUnsigned(addr, maxAddress) > 0) {
                maxAddress = addr;
                maxAddressAt = unit;
            }
            addrs[k] = addr;
            writes[k++] = kind != 'L';
        }
        return k;
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

    private int nextChampsim(long[] addrs, boolean[] writes, int n) throws IOException {
        int k = 0;
        while (k < n) {
            if (pendingAt < pendingLen) {
                addrs[k] = pendingAddr[pendingAt];
                writes[k++] = pendingWrite[pendingAt++];
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

    private void pend(long addr, boolean write) {
        if (addr == 0) return;
        if (Long.compareUnsigned(addr, maxAddress) > 0) {
            maxAddress = addr;
            maxAddressAt = unit;
        }
        pendingAddr[pendingLen] = addr;
        pendingWrite[pendingLen++] = write;
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
