package org.kvmsim.sim.workload;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.kvmsim.model.Pattern;

class AccessStreamTest {

    private static final long MIB = 1L << 20;

    private static long[] offsets(Pattern p, long bytes, double writesPct, long seed, int n, boolean[] writes) {
        long[] out = new long[n];
        new AccessStream(p, bytes, writesPct, seed).next(out, writes, n);
        return out;
    }

    @Test
    void sameSeedSameStream() {
        Pattern z = new Pattern(Pattern.Kind.ZIPF, 0.99, 0);
        boolean[] w1 = new boolean[10_000], w2 = new boolean[10_000];
        assertArrayEquals(offsets(z, 64 * MIB, 10, 7, 10_000, w1), offsets(z, 64 * MIB, 10, 7, 10_000, w2));
        assertArrayEquals(w1, w2);
    }

    @Test
    void everyOffsetStaysInTheFootprint() {
        for (Pattern p : new Pattern[] {new Pattern(Pattern.Kind.UNIFORM, 0, 0), new Pattern(Pattern.Kind.SEQUENTIAL, 0, 0),
                new Pattern(Pattern.Kind.STRIDED, 12288, 0), new Pattern(Pattern.Kind.ZIPF, 1.2, 0),
                new Pattern(Pattern.Kind.HOTCOLD, 0.1, 0.9)}) {
            long bytes = 3 * MIB + 4096 * 5; // not a power of two: zipf's scatter must stay inside
            for (long o : offsets(p, bytes, 0, 1, 50_000, new boolean[50_000])) {
                assertTrue(o >= 0 && o < bytes, p + " gave " + o);
            }
        }
    }

    @Test
    void sequentialWalksCacheLinesAndStridedItsStride() {
        long[] seq = offsets(new Pattern(Pattern.Kind.SEQUENTIAL, 0, 0), 4096, 0, 1, 70, new boolean[70]);
        assertEquals(0, seq[0]);
        assertEquals(64, seq[1]);
        assertEquals(0, seq[64], "wraps at the end of the footprint");
        long[] str = offsets(new Pattern(Pattern.Kind.STRIDED, 8192, 0), 4 * 8192, 0, 1, 5, new boolean[5]);
        assertArrayEquals(new long[] {0, 8192, 16384, 24576, 0}, str);
    }

    @Test
    void zipfConcentratesAndHotcoldHonoursItsProbability() {
        int n = 200_000;
        long bytes = 64 * MIB;
        long[] z = offsets(new Pattern(Pattern.Kind.ZIPF, 0.99, 0), bytes, 0, 3, n, new boolean[n]);
        Map<Long, Integer> counts = new HashMap<>();
        for (long o : z) counts.merge(o >>> 12, 1, Integer::sum);
        int top = counts.values().stream().mapToInt(Integer::intValue).max().orElse(0);
        assertTrue(top > n / 50, "the hottest page takes a visible share under zipf(0.99): " + top);

        long[] h = offsets(new Pattern(Pattern.Kind.HOTCOLD, 0.1, 0.9), bytes, 0, 3, n, new boolean[n]);
        long hotPages = Math.round((bytes >>> 12) * 0.1);
        long inHot = Arrays.stream(h).filter(o -> (o >>> 12) < hotPages).count();
        assertTrue(Math.abs(inHot / (double) n - 0.9) < 0.01, "90% of accesses in the hot 10%: " + inHot);
    }

    @Test
    void writeShareIsTheDeclaredPercentage() {
        int n = 100_000;
        boolean[] w = new boolean[n];
        offsets(new Pattern(Pattern.Kind.UNIFORM, 0, 0), 16 * MIB, 30, 5, n, w);
        int writes = 0;
        for (boolean b : w) if (b) writes++;
        assertTrue(Math.abs(writes / (double) n - 0.30) < 0.01, "30% writes: " + writes);
    }
}
