package org.kvmsim.sim.mmu;

import java.util.SplittableRandom;

/**
 * Zipf-distributed ranks in [0, n): P(rank k) is proportional to 1 / (k + 1)^s. Constant time per
 * sample and no tables, so n can be any page count, by rejection-inversion (W. Hörmann and
 * G. Derflinger, "Rejection-inversion to generate variates from monotone discrete distributions",
 * ACM TOMACS 6(3), 1996): invert the integral H of the continuous hat h(x) = x^-s over
 * [1.5, n + 0.5], round to the nearest integer k and accept unless the point falls in the sliver
 * between the hat's area over [k - 0.5, k + 0.5] and h(k). Acceptance is above 90% for every s.
 *
 * <p>Deterministic: the same seed gives the same ranks on every machine: SplittableRandom, and
 * StrictMath for the logarithms and exponentials (Math's may differ in the last bit between JVMs
 * and CPUs, which can move a rank).
 * Rank 0 is the most popular; callers that want popular pages scattered map ranks through a
 * permutation (see {@link #scatter}).
 */
public final class Zipf {

    private final long n;
    private final double s;
    private final SplittableRandom rnd;
    private final double hX1;
    private final double hN;
    private final double squeeze;

    public Zipf(long n, double s, long seed) {
        if (n < 1 || s <= 0) {
            throw new IllegalArgumentException("zipf needs n >= 1 and s > 0");
        }
        this.n = n;
        this.s = s;
        this.rnd = new SplittableRandom(seed);
        this.hX1 = hIntegral(1.5) - 1;
        this.hN = hIntegral(n + 0.5);
        this.squeeze = 2 - hIntegralInverse(hIntegral(2.5) - h(2));
    }

    /** The next rank, 0 (most popular) .. n-1. */
    public long next() {
        while (true) {
            double u = hN + rnd.nextDouble() * (hX1 - hN);
            double x = hIntegralInverse(u);
            long k = (long) (x + 0.5);
            if (k < 1) {
                k = 1;
            } else if (k > n) {
                k = n;
            }
            if (k - x <= squeeze || u >= hIntegral(k + 0.5) - h(k)) {
                return k - 1;
            }
        }
    }

    /** A bijection of [0, 2^bits) that spreads neighbouring ranks apart (odd multiplier mod 2^bits). */
    public static long scatter(long rank, int bits) {
        return (rank * 0x9E3779B97F4A7C15L) & ((1L << bits) - 1);
    }

    private double h(double x) {
        return StrictMath.exp(-s * StrictMath.log(x));
    }

    /** H(x) = (x^(1-s) - 1) / (1 - s), written to stay exact as s -> 1. */
    private double hIntegral(double x) {
        double lx = StrictMath.log(x);
        return expm1OverX((1 - s) * lx) * lx;
    }

    private double hIntegralInverse(double y) {
        double t = y * (1 - s);
        if (t < -1) {
            t = -1;
        }
        return StrictMath.exp(log1pOverX(t) * y);
    }

    private static double expm1OverX(double x) {
        return Math.abs(x) > 1e-8 ? StrictMath.expm1(x) / x : 1 + x / 2 * (1 + x / 3 * (1 + x / 4));
    }

    private static double log1pOverX(double x) {
        return Math.abs(x) > 1e-8 ? StrictMath.log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
    }
}
