package org.kvmsim.sim.mmu;

import java.util.Arrays;

/**
 * A set-associative cache of translation tags with true LRU replacement, used for every
 * translation structure the CPU has: L1 DTLBs, the STLB, paging-structure caches and the nested
 * TLB. It stores tags (and one long of payload where a structure needs it, e.g. the table a
 * paging-structure cache entry points at), not translations: the simulator only needs to know
 * whether the hardware would hit, the translation itself comes from the tables.
 *
 * <p>Data structures: {@code tags[set * ways + way]}, a parallel {@code stamps[]} of last-use
 * times and a {@code values[]} where a payload is needed. Stamps come from one
 * counter per cache, so LRU is exact and deterministic: a hit writes one stamp, a fill replaces
 * the way with the smallest stamp (an empty way has stamp 0, so it goes first). The set is chosen by the low bits of the page number (sets must be a
 * power of two), like hardware's index bits; ways may be any number (12 for Skylake's STLB).
 *
 * <p>Differences from hardware: real TLBs use pseudo-LRU (tree PLRU or similar); exact LRU is a
 * deterministic stand-in. Keys carry a VPID/ASID tag in their low bits (see {@link Tlbs#key}).
 */
final class AssocCache {

    static final long EMPTY = -1L;
    static final long MISS = Long.MIN_VALUE;

    final int entries;
    final int ways;
    final int setMask;
    private final long[] tags;
    /**
     * Last use of each way as {@code clock << 8 | way}: the smallest value in a set is the LRU
     * way and names itself, so finding a victim is a branch-free min (empty ways: clock 0).
     */
    private final long[] stamps;
    private final long[] values;
    private long clock;
    private int live;

    AssocCache(int entries, int ways) {
        this(entries, ways, true);
    }

    /** {@code withValues} false: a tag-only cache (TLBs), where {@link #get} always returns 0. */
    AssocCache(int entries, int ways, boolean withValues) {
        if (entries == 0) {
            ways = 1;
        }
        if (entries < 0 || ways <= 0 || entries % ways != 0 || Integer.bitCount(Math.max(1, entries / ways)) != 1) {
            throw new IllegalArgumentException("a cache of " + entries + " entries and " + ways
                    + " ways must have a power-of-two number of sets");
        }
        this.entries = entries;
        this.ways = ways;
        this.setMask = entries == 0 ? 0 : entries / ways - 1;
        this.tags = new long[Math.max(1, entries)];
        this.stamps = new long[Math.max(1, entries)];
        this.values = withValues ? new long[Math.max(1, entries)] : null;
        Arrays.fill(tags, EMPTY);
        if (ways > 256) {
            throw new IllegalArgumentException("at most 256 ways");
        }
        resetStamps();
    }

    private void resetStamps() {
        for (int i = 0; i < stamps.length; i++) {
            stamps[i] = i % ways;
        }
    }

    boolean disabled() {
        return entries == 0;
    }

    /** True, refreshing LRU, if {@code key} is cached in the set chosen by {@code page}. */
    boolean probe(long page, long key) {
        int w = ways;
        int base = (int) (page & setMask) * w;
        long[] t = tags;
        for (int i = base, end = base + w; i < end; i++) {
            if (t[i] == key) {
                stamps[i] = (++clock << 8) | (i - base);
                return true;
            }
        }
        return false;
    }

    /** The cached payload for {@code key}, refreshing LRU, or {@link #MISS}. */
    long get(long page, long key) {
        int w = ways;
        int base = (int) (page & setMask) * w;
        long[] t = tags;
        for (int i = base, end = base + w; i < end; i++) {
            if (t[i] == key) {
                stamps[i] = (++clock << 8) | (i - base);
                return values == null ? 0 : values[i];
            }
        }
        return MISS;
    }

    /**
     * Inserts {@code key}, which the caller has just missed on, into the set's empty or least
     * recently used way.
     */
    void put(long page, long key, long value) {
        if (entries == 0) {
            return;
        }
        int w = ways;
        int base = (int) (page & setMask) * w;
        long[] st = stamps;
        long oldest = st[base];
        for (int i = base + 1, end = base + w; i < end; i++) {
            // a branch-free min: the LRU way is random, so a compare-and-branch mispredicts
            // (stamps are non-negative and far below 2^62, so the difference cannot overflow)
            long d = st[i] - oldest;
            oldest += d & (d >> 63);
        }
        int way = (int) (oldest & 0xFF);
        int victim = base + way;
        if (tags[victim] == EMPTY) {
            live++;
        }
        tags[victim] = key;
        st[victim] = (++clock << 8) | way;
        if (values != null) {
            values[victim] = value;
        }
    }

    /** Drops {@code key} if cached. */
    void invalidate(long page, long key) {
        if (entries == 0) {
            return;
        }
        int base = (int) (page & setMask) * ways;
        for (int i = base, end = base + ways; i < end; i++) {
            if (tags[i] == key) {
                tags[i] = EMPTY;
                stamps[i] = i - base;
                live--;
            }
        }
    }

    /** Drops every entry whose tag bits (the low {@code tagBits}) equal {@code tag}. */
    void flushTag(long tag, int tagBits) {
        if (live == 0) {
            return;
        }
        long mask = (1L << tagBits) - 1;
        for (int i = 0; i < entries; i++) {
            if (tags[i] != EMPTY && (tags[i] & mask) == tag) {
                tags[i] = EMPTY;
                stamps[i] = i % ways;
                live--;
            }
        }
    }

    /**
     * Copies {@code other}'s entries carrying {@code tag} in their low {@code tagBits}, retagged 0,
     * with their stamps, so LRU order continues exactly (other tags are dropped).
     */
    void copyFrom(AssocCache other, long tag, int tagBits) {
        if (other.entries != entries || other.ways != ways) {
            throw new IllegalArgumentException("geometry differs");
        }
        long mask = (1L << tagBits) - 1;
        live = 0;
        for (int i = 0; i < entries; i++) {
            long t = other.tags[i];
            if (t != EMPTY && (t & mask) == tag) {
                tags[i] = t & ~mask;
                stamps[i] = other.stamps[i];
                if (values != null && other.values != null) {
                    values[i] = other.values[i];
                }
                live++;
            } else {
                tags[i] = EMPTY;
                stamps[i] = i % ways;
            }
        }
        clock = Math.max(clock, other.clock);
    }

    void flush() {
        if (live != 0) {
            Arrays.fill(tags, EMPTY);
            resetStamps();
            live = 0;
        }
    }

    int live() {
        return live;
    }
}
