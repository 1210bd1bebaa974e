package org.kvmsim.sim.mmu;

import java.util.Arrays;
import java.util.function.LongUnaryOperator;

/**
 * A set-associative cache of translation tags with true LRU replacement, used for every
 * translation structure the CPU has: L1 DTLBs, the STLB, paging-structure caches and the nested
 * TLB. It stores tags (and one long of payload where a structure needs it, e.g. the table a
 * paging-structure cache entry points at), not translations: the simulator only needs to know
 * whether the hardware would hit, the translation itself comes from the tables.
 *
 * <p>Data structures: {@code tags[set * ways + i]} and, where a payload is needed, a parallel
 * {@code values[]}. Each set is kept in recency order, most recently used at {@code i = 0}
 * (a move-to-front list), so the LRU way is always the last one: a hit at position i moves
 * entries 0..i-1 down one place and puts the key first (nothing to do at position 0, the
 * common case for hot pages), a fill drops the last entry and puts the new one first. Nothing
 * else is kept: no recency words or stamps to update, and lookups, fills and the LRU choice
 * touch one contiguous run of at most {@code ways} longs. Empty entries ({@link #EMPTY}) stay
 * at the end of their set, so they are filled first and a lookup may stop at the first one.
 * The set is chosen by the low bits of the page number (sets must be a power of two), like
 * hardware's index bits; ways may be any number (12 for Skylake's STLB, 64 for a fully
 * associative Zen 2 L1). Physical way numbers are not modelled: which hardware way holds an
 * entry has no observable effect under LRU.
 *
 * <p>Where a miss is always followed by a fill of the same key (a page walk fills the TLBs and
 * walk caches it missed in), {@link #probeOrInsert}/{@link #getOrInsert} do both in one pass and
 * {@link #undoInsert} takes the fill back exactly if the miss ends otherwise; the property test
 * holds all of it against a textbook LRU.
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
    private final long[] values;
    private int live;
    /** What the last missed {@link #probeOrInsert} or {@link #getOrInsert} pushed out (EMPTY if nothing), and its payload. */
    private long evicted;
    private long evictedValue;

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
        int slots = Math.max(1, entries);
        this.tags = new long[slots];
        this.values = withValues ? new long[slots] : null;
        Arrays.fill(tags, EMPTY);
    }

    /**
     * Moves the entry at {@code i} (in the set starting at {@code base}) to the front, shifting
     * the more recent ones down one place.
     */
    private void toFront(int base, int i, long key) {
        long[] t = tags;
        for (int j = i; j > base; j--) {
            t[j] = t[j - 1];
        }
        t[base] = key;
        long[] v = values;
        if (v != null) {
            long value = v[i];
            for (int j = i; j > base; j--) {
                v[j] = v[j - 1];
            }
            v[base] = value;
        }
    }

    /** The slot of {@code key}, now the front of its set (a hit moves it there), or -1 on a miss. */
    private int lookup(long page, long key) {
        int base = (int) (page & setMask) * ways;
        long[] t = tags;
        if (t[base] == key) {
            return base;
        }
        for (int i = base + 1, end = base + ways; i < end; i++) {
            long x = t[i];
            if (x == key) {
                toFront(base, i, key);
                return base;
            }
            if (x == EMPTY) {
                return -1;
            }
        }
        return -1;
    }

    /** True, refreshing LRU, if {@code key} is cached in the set chosen by {@code page}. */
    boolean probe(long page, long key) {
        return entries != 0 && lookup(page, key) >= 0;
    }

    /** The cached payload for {@code key}, refreshing LRU, or {@link #MISS}. */
    long get(long page, long key) {
        if (entries == 0) {
            return MISS;
        }
        int slot = lookup(page, key);
        if (slot < 0) {
            return MISS;
        }
        return values == null ? 0 : values[slot];
    }

    /**
     * Moves {@code key} to the front of the set at {@code base} if present and returns its old
     * slot; otherwise inserts it at the front (payload 0), remembers what fell off the end in
     * {@link #evicted} and returns -1. One pass over the set, payloads moved along.
     */
    private int frontOrInsert(int base, long key) {
        long[] t = tags;
        long carry = t[base];
        if (carry == key) {
            return base;
        }
        t[base] = key;
        long[] v = values;
        if (v == null) {
            for (int i = base + 1, end = base + ways; i < end; i++) {
                long x = t[i];
                t[i] = carry;
                if (x == key) {
                    return i;
                }
                carry = x;
            }
        } else {
            long carried = v[base];
            for (int i = base + 1, end = base + ways; i < end; i++) {
                long x = t[i];
                long y = v[i];
                t[i] = carry;
                v[i] = carried;
                if (x == key) {
                    v[base] = y;
                    return i;
                }
                carry = x;
                carried = y;
            }
            v[base] = 0;
            evictedValue = carried;
        }
        // a set that was not full pushes out one of its empty ways (they are last)
        if (carry == EMPTY) {
            live++;
        }
        evicted = carry;
        return -1;
    }

    /**
     * {@link #probe} and, on a miss, at once the {@link #put} the caller would make after
     * resolving it (one pass over the set instead of two). What the insertion pushed out is kept
     * so that {@link #undoInsert} can take it back, exactly, when the miss ends otherwise (a
     * fault, a larger page); the caller must not touch this cache in between.
     */
    boolean probeOrInsert(long page, long key) {
        if (entries == 0) {
            return false;
        }
        int base = (int) (page & setMask) * ways;
        return frontOrInsert(base, key) >= 0;
    }

    /**
     * As {@link #probeOrInsert}: the payload on a hit, or {@link #MISS} with the key inserted
     * (payload 0 until {@link #setFront}).
     */
    long getOrInsert(long page, long key) {
        if (entries == 0) {
            return MISS;
        }
        int base = (int) (page & setMask) * ways;
        if (frontOrInsert(base, key) < 0) {
            return MISS;
        }
        return values == null ? 0 : values[base];
    }

    /** Sets the payload of the entry a missed {@link #getOrInsert} on {@code page} just inserted. */
    void setFront(long page, long value) {
        if (entries != 0 && values != null) {
            values[(int) (page & setMask) * ways] = value;
        }
    }

    /** Takes back the insertion of the last missed {@link #probeOrInsert} on {@code page}. */
    void undoInsert(long page) {
        if (entries == 0) {
            return;
        }
        int base = (int) (page & setMask) * ways;
        int last = base + ways - 1;
        long[] t = tags;
        for (int j = base; j < last; j++) {
            t[j] = t[j + 1];
        }
        t[last] = evicted;
        if (evicted == EMPTY) {
            live--;
        }
        long[] v = values;
        if (v != null) {
            for (int j = base; j < last; j++) {
                v[j] = v[j + 1];
            }
            v[last] = evicted == EMPTY ? 0 : evictedValue;
        }
    }

    /**
     * Inserts {@code key}, which the caller has just missed on, into the set's empty or least
     * recently used way.
     */
    void put(long page, long key, long value) {
        if (entries == 0) {
            return;
        }
        int base = (int) (page & setMask) * ways;
        int last = base + ways - 1;
        long[] t = tags;
        if (t[last] == EMPTY) {
            live++;
        }
        for (int j = last; j > base; j--) {
            t[j] = t[j - 1];
        }
        t[base] = key;
        long[] v = values;
        if (v != null) {
            for (int j = last; j > base; j--) {
                v[j] = v[j - 1];
            }
            v[base] = value;
        }
    }

    /** Removes the entry at {@code i} of the set at {@code base}; the rest close up, EMPTY goes last. */
    private void remove(int base, int i) {
        int last = base + ways - 1;
        long[] t = tags;
        for (int j = i; j < last; j++) {
            t[j] = t[j + 1];
        }
        t[last] = EMPTY;
        if (values != null) {
            for (int j = i; j < last; j++) {
                values[j] = values[j + 1];
            }
            values[last] = 0;
        }
        live--;
    }

    /** Drops {@code key} if cached. */
    void invalidate(long page, long key) {
        if (entries == 0) {
            return;
        }
        int base = (int) (page & setMask) * ways;
        for (int i = base, end = base + ways; i < end; i++) {
            if (tags[i] == key) {
                remove(base, i);
                return;
            }
        }
    }

    /**
     * Keeps, in each set, only the entries {@code keep} accepts (rewritten by it), in their
     * recency order; the freed ways become empty at the end of the set.
     */
    private void filter(LongUnaryOperator keep) {
        long[] t = tags;
        for (int base = 0; base < entries; base += ways) {
            int w = base;
            for (int i = base, end = base + ways; i < end; i++) {
                long k = t[i];
                if (k == EMPTY) {
                    break;
                }
                long kept = keep.applyAsLong(k);
                if (kept != EMPTY) {
                    t[w] = kept;
                    if (values != null) {
                        values[w] = values[i];
                    }
                    w++;
                } else {
                    live--;
                }
            }
            for (int i = w, end = base + ways; i < end && t[i] != EMPTY; i++) {
                t[i] = EMPTY;
            }
        }
    }

    /** Drops every entry whose tag bits (the low {@code tagBits}) equal {@code tag}. */
    void flushTag(long tag, int tagBits) {
        flushMasked(tag, (1L << tagBits) - 1);
    }

    /**
     * Drops every entry whose key, masked by {@code mask}, equals {@code tag}: a flush of part of
     * the tag (a vCPU's VPID over all its PCIDs).
     */
    void flushMasked(long tag, long mask) {
        if (live == 0) {
            return;
        }
        filter(k -> (k & mask) == tag ? EMPTY : k);
    }

    /**
     * Copies {@code other}'s entries carrying {@code tag} in their low {@code tagBits}, retagged 0,
     * with their LRU order, so LRU continues exactly (other tags are dropped).
     */
    void copyFrom(AssocCache other, long tag, int tagBits) {
        copyMasked(other, tag, (1L << tagBits) - 1);
    }

    /**
     * Copies {@code other}'s entries whose key masked by {@code mask} equals {@code tag}, with
     * those bits cleared (the rest of the key, a PCID among them, kept), in their LRU order.
     */
    void copyMasked(AssocCache other, long tag, long mask) {
        if (other.entries != entries || other.ways != ways) {
            throw new IllegalArgumentException("geometry differs");
        }
        System.arraycopy(other.tags, 0, tags, 0, tags.length);
        if (values != null && other.values != null) {
            System.arraycopy(other.values, 0, values, 0, values.length);
        }
        live = other.live;
        filter(k -> (k & mask) == tag ? k & ~mask : EMPTY);
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
