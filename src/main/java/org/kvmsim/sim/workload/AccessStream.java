package org.kvmsim.sim.workload;

import java.util.SplittableRandom;
import org.kvmsim.model.Pattern;
import org.kvmsim.sim.mmu.Zipf;

/**
 * A workload's address stream: byte offsets into its footprint, in the order the pattern gives,
 * with a write flag per access. Deterministic from the seed.
 *
 * <ul>
 * <li>uniform: every page equally likely, a random cache line in it;</li>
 * <li>sequential: cache line after cache line, wrapping at the end of the footprint;</li>
 * <li>strided(S): offset i * S, wrapping;</li>
 * <li>zipf(alpha): page popularity by rank (rank 0 hottest), ranks scattered over the footprint
 * by a bijection so hot pages are not all neighbours (as in a real heap);</li>
 * <li>hotcold(f, p): with probability p a page of the first f of the footprint, else of the rest.</li>
 * </ul>
 */
public final class AccessStream implements Accesses {

    private static final int LINE = 64;

    private final Pattern pattern;
    private final long bytes;
    private final long pages;
    private final double writeShare;
    private final SplittableRandom rnd;
    private final Zipf zipf;
    private final int scatterBits;
    private long i;

    public AccessStream(Pattern pattern, long footprintBytes, double writesPct, long seed) {
        this.pattern = pattern;
        this.bytes = Math.max(4096, footprintBytes);
        this.pages = this.bytes >>> 12;
        this.writeShare = writesPct / 100.0;
        this.rnd = new SplittableRandom(seed);
        this.zipf = pattern.kind() == Pattern.Kind.ZIPF ? new Zipf(pages, pattern.a(), seed ^ 0x5bd1e995L) : null;
        this.scatterBits = 64 - Long.numberOfLeadingZeros(Math.max(1, pages - 1));
    }

    /**
     * Fills {@code offsets[0..n)} with the next byte offsets and {@code writes[0..n)} with their
     * write flags.
     */
    @Override
    public void next(long[] offsets, boolean[] writes, int n) {
        for (int k = 0; k < n; k++) {
            offsets[k] = nextOffset();
            writes[k] = writeShare > 0 && rnd.nextDouble() < writeShare;
        }
    }

    private long nextOffset() {
        long line = rnd.nextLong(4096 / LINE) * LINE;
        switch (pattern.kind()) {
            case SEQUENTIAL:
                return (i++ * LINE) % bytes;
            case STRIDED:
                return (i++ * (long) pattern.a()) % bytes;
            case ZIPF:
                return (scatter(zipf.next()) << 12) + line;
            case HOTCOLD: {
                long hot = Math.max(1, Math.min(pages, Math.round(pages * pattern.a())));
                boolean inHot = hot == pages || rnd.nextDouble() < pattern.b();
                long page = inHot ? rnd.nextLong(hot) : hot + rnd.nextLong(pages - hot);
                return (page << 12) + line;
            }
            default:
                return (rnd.nextLong(pages) << 12) + line;
        }
    }

    /** A bijection of [0, pages): Zipf's scatter over the next power of two, cycle-walked back into range. */
    private long scatter(long rank) {
        long x = rank;
        do {
            x = Zipf.scatter(x, scatterBits);
        } while (x >= pages);
        return x;
    }
}
