package org.kvmsim.sim.workload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.model.Workload.Trace.Format;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

class TraceReaderTest {

    @TempDir
    Path dir;

    /** One ChampSim input_instr record: 64 bytes, little-endian. */
    private static byte[] record(long ip, long[] dst, long[] src) {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(ip).put((byte) 0).put((byte) 0).put(new byte[2]).put(new byte[4]);
        for (int i = 0; i < 2; i++) b.putLong(i < dst.length ? dst[i] : 0);
        for (int i = 0; i < 4; i++) b.putLong(i < src.length ? src[i] : 0);
        return b.array();
    }

    @Test
    void champsimRecordsGiveTheirReadsThenWrites() throws IOException {
        Path p = dir.resolve("t.champsim.xz");
        try (OutputStream o = new XZOutputStream(Files.newOutputStream(p), new LZMA2Options(1))) {
            o.write(record(0x401000, new long[] {}, new long[] {}));
            o.write(record(0x401004, new long[] {0x7000}, new long[] {0x1000, 0x2000}));
            o.write(record(0x401008, new long[] {0x8000, 0x9000}, new long[] {0x3000}));
        }
        long[] a = new long[10];
        boolean[] w = new boolean[10];
        try (TraceReader r = TraceReader.open(p, "t.champsim.xz", Format.CHAMPSIM)) {
            // asked in small pieces, so a record's accesses span calls
            int k = r.next(a, w, 2);
            k += r.next(Arrays.copyOfRange(a, 0, 10), w, 0);
            long[] b = new long[10];
            boolean[] bw = new boolean[10];
            int rest = r.next(b, bw, 10);
            assertEquals(2, k);
            assertEquals(4, rest);
            assertArrayEquals(new long[] {0x1000, 0x2000}, Arrays.copyOf(a, 2));
            assertArrayEquals(new long[] {0x7000, 0x3000, 0x8000, 0x9000}, Arrays.copyOf(b, 4));
            assertArrayEquals(new boolean[] {false, false}, Arrays.copyOf(w, 2));
            assertArrayEquals(new boolean[] {true, false, true, true}, Arrays.copyOf(bw, 4));
            assertEquals(3, r.instructions());
        }
    }

    @Test
    void aCutShortChampsimRecordIsNamed() throws IOException {
        Path p = dir.resolve("cut.champsim");
        byte[] two = new byte[64 + 10];
        System.arraycopy(record(1, new long[] {0x5000}, new long[] {}), 0, two, 0, 64);
        Files.write(p, two);
        try (TraceReader r = TraceReader.open(p, "cut.champsim", Format.CHAMPSIM)) {
            TraceException x = assertThrows(TraceException.class, () -> r.next(new long[8], new boolean[8], 8));
            assertEquals("cut.champsim: record 2 is cut short (10 of 64 bytes): not a ChampSim input_instr trace, or truncated",
                    x.getMessage());
        }
    }

    @Test
    void lackeyCountsInstructionFetchesApartAndReadsALastLineWithoutNewline() throws IOException {
        Path p = dir.resolve("t.lackey");
        Files.writeString(p, "==1== Lackey\nI  04010173,3\n L 04222cac,8\n\n S 7ff000398,8\r\nI  0401017a,2\n M 0421d8e0,4");
        long[] a = new long[8];
        boolean[] w = new boolean[8];
        try (TraceReader r = TraceReader.open(p, "t.lackey", Format.LACKEY)) {
            assertEquals(3, r.next(a, w, 8));
            assertArrayEquals(new long[] {0x04222cacL, 0x7ff000398L, 0x0421d8e0L}, Arrays.copyOf(a, 3));
            assertArrayEquals(new boolean[] {false, true, true}, Arrays.copyOf(w, 3));
            assertEquals(2, r.instructions());
            assertEquals(0, r.next(a, w, 8));
        }
    }

    @Test
    void countReadsTheTraceOnceAndFindsItsHighestAddress() throws IOException {
        Path p = dir.resolve("c.lackey");
        Files.writeString(p, " L 1000,8\n S 9000,8\nI  5,1\n L 2000,4\n");
        TraceStream.Count c = TraceStream.count(p, "c.lackey", Format.LACKEY);
        assertEquals(new TraceStream.Count(3, 1, 0x9000, 2), c);
    }

    @Test
    void eightHexDigitsAtOnceMatchTheirValueDigitByDigit() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        String digits = "0123456789abcdefABCDEF";
        for (int t = 0; t < 100_000; t++) {
            StringBuilder h = new StringBuilder();
            for (int i = 0; i < 8; i++) h.append(digits.charAt(rnd.nextInt(digits.length())));
            long x = ByteBuffer.wrap(h.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII))
                    .order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(true, TraceReader.hex8(x), h.toString());
            assertEquals(Long.parseLong(h.toString(), 16), TraceReader.hex8Value(x), h.toString());
        }
        // every byte that is not a hex digit, at every position, among hex digits
        for (int pos = 0; pos < 8; pos++) {
            for (int c = 0; c < 256; c++) {
                byte[] b = "0123abcd".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                b[pos] = (byte) c;
                long x = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
                assertEquals(Character.digit((char) c, 16) >= 0 && c < 128, TraceReader.hex8(x), "byte " + c + " at " + pos);
            }
        }
    }

    @Test
    void lackeyLinesOfEveryShapeDecodeAlikeAcrossBufferEdges() throws IOException {
        // valgrind's own lines (the fast path) among other spacing, CRLF, short addresses, long
        // sizes and banner lines (the line-by-line path), enough of them to cross many buffers
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(11);
        StringBuilder text = new StringBuilder();
        java.util.List<Long> want = new java.util.ArrayList<>();
        long instructions = 0;
        for (int i = 0; i < 60_000; i++) {
            long addr = rnd.nextLong(1L << (4 * (1 + rnd.nextInt(12))));
            String hex = rnd.nextInt(4) == 0 ? Long.toHexString(addr) : String.format("%08x", addr);
            if (rnd.nextInt(3) == 0) hex = hex.toUpperCase(java.util.Locale.ROOT);
            String size = Integer.toString(1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 4096 : 16));
            String eol = rnd.nextInt(20) == 0 ? "\r\n" : "\n";
            switch (rnd.nextInt(8)) {
                case 0, 1, 2 -> {
                    text.append("I  ").append(hex).append(',').append(size).append(eol);
                    instructions++;
                }
                case 3 -> {
                    text.append("  L   ").append(hex).append(',').append(size).append(eol);
                    want.add(addr);
                }
                case 4 -> text.append(rnd.nextBoolean() ? "==4242== a banner line\n" : "\n");
                default -> {
                    char kind = "LSM".charAt(rnd.nextInt(3));
                    text.append(' ').append(kind).append(' ').append(hex).append(',').append(size).append(eol);
                    want.add(kind == 'L' ? addr : addr | TraceReader.WRITE);
                }
            }
        }
        Path p = dir.resolve("shapes.lackey");
        Files.writeString(p, text.toString());
        long[] got = new long[want.size() + 1];
        int n = 0;
        try (TraceReader r = TraceReader.open(p, "shapes.lackey", Format.LACKEY)) {
            // uneven requests, so a request ends mid-buffer too
            for (int k; (k = r.nextPacked(got, n, Math.min(777, got.length - n))) > 0;) n += k;
            assertEquals(instructions, r.instructions());
        }
        assertEquals(want.size(), n);
        for (int i = 0; i < n; i++) assertEquals((long) want.get(i), got[i], "access " + i);
    }

    /** The committed hand-made drmemtrace (src/test/resources/traces/README.md says what each record is). */
    private static Path handDrmemtrace() {
        return Path.of("src/test/resources/traces/hand.drmemtrace");
    }

    @Test
    void drmemtraceReadsAndWritesAreAccessesAndInstructionFetchesAreCountedApart() {
        long[] a = new long[8];
        try (TraceReader r = TraceReader.open(handDrmemtrace(), "hand.drmemtrace", Format.DRMEMTRACE)) {
            assertEquals(3, r.nextPacked(a, 8));
            assertArrayEquals(new long[] {0x7f0000000000L, 0x7f0000001008L | TraceReader.WRITE, 0x7f0000002010L},
                    Arrays.copyOf(a, 3));
            assertEquals(0, r.nextPacked(a, 8));
            // INSTR, a bundle of 2, DIRECT_CALL, TAKEN_JUMP, UNTAKEN_JUMP; not INSTR_NO_FETCH
            assertEquals(6, r.instructions());
            // the read after the footer is not the trace
            assertEquals(0x7f0000002010L, r.maxAddress());
            assertEquals(14, r.maxAddressAt());
        }
    }

    /** A drmemtrace file of {@code records} {type, size, addr}. */
    private Path drmemtrace(String name, long[]... records) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(12 * records.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long[] r : records) b.putShort((short) r[0]).putShort((short) r[1]).putLong(r[2]);
        Path p = dir.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    @Test
    void aDrmemtraceThatIsNotOneIsNamedByRecord() throws IOException {
        Path noHeader = drmemtrace("raw.drmemtrace", new long[] {0, 8, 0x1000});
        Path unknown = drmemtrace("new.drmemtrace", new long[] {25, 0, 5}, new long[] {50, 0, 0});
        Path cut = dir.resolve("cut.drmemtrace");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(handDrmemtrace()), 12 * 3 + 5));
        assertEquals("raw.drmemtrace: record 1 has type 0, not TRACE_TYPE_HEADER (25): not a drmemtrace trace_entry_t file"
                + " (an offline raw file must go through raw2trace first)", decodeError(noHeader));
        assertEquals("new.drmemtrace: record 2 has type 50, which trace_entry.h does not define (0 to 49)", decodeError(unknown));
        assertEquals("cut.drmemtrace: record 4 is cut short (5 of 12 bytes): not a drmemtrace trace_entry_t file, or truncated",
                decodeError(cut));
    }

    private static String decodeError(Path p) {
        try (TraceReader r = TraceReader.open(p, p.getFileName().toString(), Format.DRMEMTRACE)) {
            return assertThrows(TraceException.class, () -> {
                while (r.nextPacked(new long[16], 16) > 0) {
                    // to the end or the error
                }
            }).getMessage();
        }
    }
}
