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
}
