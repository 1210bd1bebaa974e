package org.kvmsim.sim.workload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.model.Workload.Trace.Format;

/** A compressed stream read through its decompressing thread against the stream read directly. */
class DecompressAheadTest {

    @TempDir
    Path dir;

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (GZIPOutputStream g = new GZIPOutputStream(b)) {
            g.write(data);
        }
        return b.toByteArray();
    }

    @Test
    void givesTheBytesInOrderAcrossItsChunksWhateverTheReadSizes() throws IOException {
        byte[] data = new byte[3 * (1 << 18) + 12345];
        new SplittableRandom(1).nextBytes(data);
        for (int i = 0; i < data.length; i += 7) data[i] = 0;
        byte[] got = new byte[data.length];
        SplittableRandom sizes = new SplittableRandom(2);
        try (InputStream in = new DecompressAhead(new GZIPInputStream(new ByteArrayInputStream(gzip(data))))) {
            int n = 0;
            while (n < got.length) {
                if (sizes.nextInt(5) == 0) {
                    got[n++] = (byte) in.read();
                    continue;
                }
                int r = in.read(got, n, Math.min(got.length - n, 1 + sizes.nextInt(100_000)));
                assertTrue(r > 0);
                n += r;
            }
            assertEquals(-1, in.read());
            assertEquals(-1, in.read(new byte[10], 0, 10));
        }
        assertArrayEquals(data, got);
    }

    @Test
    void aStreamCutShortIsAnErrorAfterTheBytesBeforeIt() throws IOException {
        byte[] data = new byte[1 << 20];
        new SplittableRandom(3).nextBytes(data);
        byte[] z = gzip(data);
        byte[] cut = java.util.Arrays.copyOf(z, z.length / 2);
        try (InputStream in = new DecompressAhead(new GZIPInputStream(new ByteArrayInputStream(cut)))) {
            byte[] b = new byte[1 << 16];
            assertThrows(IOException.class, () -> {
                while (in.read(b, 0, b.length) >= 0) {
                    // read on to the error
                }
            });
        }
    }

    @Test
    void aTruncatedCompressedTraceIsNamedWhenItIsRead() throws IOException {
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < 200_000; i++) t.append(" L ").append(Long.toHexString(0x10000000L + 64L * i)).append(",8\n");
        byte[] z = gzip(t.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Path p = dir.resolve("cut.lackey.gz");
        Files.write(p, java.util.Arrays.copyOf(z, z.length / 2));
        TraceException x = assertThrows(TraceException.class, () -> TraceStream.count(p, "cut.lackey.gz", Format.LACKEY));
        assertTrue(x.getMessage().startsWith("cut.lackey.gz:"), x.getMessage());
        assertTrue(x.getMessage().contains("cannot read it"), x.getMessage());
    }
}
