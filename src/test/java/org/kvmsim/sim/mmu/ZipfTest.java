package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ZipfTest {

    @Test
    void sameSeedSameRanks() {
        long[] a = new long[1000];
        long[] b = new long[1000];
        Zipf x = new Zipf(1 << 20, 0.99, 7);
        Zipf y = new Zipf(1 << 20, 0.99, 7);
        for (int i = 0; i < a.length; i++) {
            a[i] = x.next();
            b[i] = y.next();
        }
        assertArrayEquals(a, b);
    }

    @Test
    void frequenciesFollowThePowerLaw() {
        int n = 1000;
        double s = 0.99;
        Zipf z = new Zipf(n, s, 1);
        int samples = 2_000_000;
        int[] count = new int[n];
        for (int i = 0; i < samples; i++) {
            long k = z.next();
            assertTrue(k >= 0 && k < n);
            count[(int) k]++;
        }
        double norm = 0;
        for (int k = 1; k <= n; k++) {
            norm += Math.pow(k, -s);
        }
        for (int k : new int[] {0, 1, 9, 99}) {
            double expected = samples * Math.pow(k + 1, -s) / norm;
            assertEquals(expected, count[k], expected * 0.05 + 30, "rank " + k);
        }
    }

    @Test
    void scatterIsABijection() {
        boolean[] seen = new boolean[1 << 12];
        for (long r = 0; r < seen.length; r++) {
            int p = (int) Zipf.scatter(r, 12);
            assertTrue(!seen[p]);
            seen[p] = true;
        }
    }
}
