package org.kvmsim.sim.mmu;

import java.util.Arrays;

/**
 * A set-associative cache of translation tags with true LRU replacement, used for every
 * translation structure the CPU has: L1 DTLBs, the STLB, paging-structure caches and the nested
 * TLB. It stores tags (and one long of payload where a structure needs it, e.g. the table a
 * paging-structure cache entry points at), not translations: the simulator only needs to know
 * whether the hardware would hit, the translation itself comes from the tables.
 *
 * <p>Data structures: {@code tags[set * ways + way]} and a parallel {@code values[]}, each set
 * kept in recency order (a hit moves its way to the front, a fill evicts the last), so LRU is
 * exact and deterministic, and hot entries are found at the first compare. An empty way holds
 * {@link #EMPTY}; empty ways sit behind all live ones. The set is chosen by the low bits of the page number (sets must be a
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
    private final int setMask;
    /** Per set, ways in recency order: index 0 is the most recently used. */
    private final long[] tags;
    private final long[] values;
    private int live;

    AssocCache(int entries, int ways) {
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
        this.tags = new long[entries];
        this.values = new long[entries];
        Arrays.fill(tags, EMPTY);
    }

    boolean disabled() {
        return entries == 0;
    }

    /** Moves way {@code i} of the set starting at {@code base} to the front (most recent). */
    private void promote(int base, int i) {
        long t = tags[i];
        long v = values[i];
        for (int j = i; j > base; j--) {
            tags[j] = tags[j - 1];
            values[j] = values[j - 1];
        }
        tags[base] = t;
        values[base] = v;
    }

    /** True, refreshing LRU, if {@code key} is cached in the set chosen by {@code page}. */
    boolean probe(long page, long key) {
        if (entries == 0) {
            return false;
        }
        int base = (int) (page & setMask) * ways;
        long[] t = tags;
        if (t[base] == key) {
            return true;
        }
        for (int i = base + 1, end = base + ways; i < end; i++) {
            if (t[i] == key) {
                promote(base, i);
                return true;
            }
        }
        return false;
    }

    /** The cached payload for {@code key}, refreshing LRU, or {@link #MISS}. */
    long get(long page, long key) {
        if (entries == 0) {
            return MISS;
        }
        int base = (int) (page & setMask) * ways;
        long[] t = tags;
        for (int i = base, end = base + ways; i < end; i++) {
            if (t[i] == key) {
                if (i != base) {
                    promote(base, i);
                }
                return values[base];
            }
        }
        return MISS;
    }

    /** Inserts {@code key} as most recent, evicting the least recent way of a full set. */
    void put(long page, long key, long value) {
        if (entries == 0) {
            return;
        }
        int base = (int) (page & setMask) * ways;
        int end = base + ways;
        int at = end - 1;
        for (int i = base; i < end; i++) {
            long t = tags[i];
            if (t == key || t == EMPTY) {
                at = i;
                break;
            }
        }
        if (tags[at] == EMPTY) {
            live++;
        }
        tags[at] = key;
        values[at] = value;
        promote(base, at);
    }

    /** Drops {@code key} if cached (the ways behind it move up, keeping the order). */
    void invalidate(long page, long key) {
        if (entries == 0) {
            return;
        }
        int base = (int) (page & setMask) * ways;
        int end = base + ways;
        for (int i = base; i < end; i++) {
            if (tags[i] == key) {
                removeAt(i, end);
                return;
            }
        }
    }

    private void removeAt(int i, int end) {
        for (int j = i; j < end - 1; j++) {
            tags[j] = tags[j + 1];
            values[j] = values[j + 1];
        }
        tags[end - 1] = EMPTY;
        live--;
    }

    /** Drops every entry whose tag bits (the low {@code tagBits}) equal {@code tag}. */
    void flushTag(long tag, int tagBits) {
        if (live == 0) {
            return;
        }
        long mask = (1L << tagBits) - 1;
        for (int base = 0; base < entries; base += ways) {
            int end = base + ways;
            for (int i = base; i < end; ) {
                if (tags[i] != EMPTY && (tags[i] & mask) == tag) {
                    removeAt(i, end);
                } else {
                    i++;
                }
            }
        }
    }

    void flush() {
        if (live != 0) {
            Arrays.fill(tags, EMPTY);
            live = 0;
        }
    }

    int live() {
        return live;
    }
}
