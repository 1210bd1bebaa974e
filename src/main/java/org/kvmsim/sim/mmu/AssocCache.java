package org.kvmsim.sim.mmu;

import java.util.Arrays;

/**
 * A set-associative cache of translation tags with true LRU replacement, used for every
 * translation structure the CPU has: L1 DTLBs, the STLB, paging-structure caches and the nested
 * TLB. It stores tags (and one long of payload where a structure needs it, e.g. the table a
 * paging-structure cache entry points at), not translations: the simulator only needs to know
 * whether the hardware would hit, the translation itself comes from the tables.
 *
 * <p>Data structures: {@code tags[set * ways + way]} and, where a payload is needed, a parallel
 * {@code values[]}. The LRU order of a set of at most 16 ways is one long, {@code order[set]}:
 * 4-bit way numbers, most recently used in the low nibble, least recently used in nibble
 * ways-1. A hit moves its way's nibble to the bottom (nothing to do when it is already there,
 * the common case for hot pages; otherwise a few shifts and masks), a fill takes the way in the
 * top nibble and rotates it to the bottom, so neither scans the set a second time nor touches a
 * second array beyond one long per set. Empty ways ({@link #EMPTY}) are kept at the LRU end,
 * so they are filled first. Wider sets (fully associative arrays of more than 16 entries) use
 * per-way stamps {@code clock << 8 | way} instead: the smallest is the LRU way (empty ways have
 * stamp {@code way}). Both are exact, deterministic LRU. The set is chosen by the low bits of
 * the page number (sets must be a power of two), like hardware's index bits; ways may be any
 * number (12 for Skylake's STLB).
 *
 * <p>Differences from hardware: real TLBs use pseudo-LRU (tree PLRU or similar); exact LRU is a
 * deterministic stand-in. Keys carry a VPID/ASID tag in their low bits (see {@link Tlbs#key}).
 */
final class AssocCache {

    static final long EMPTY = -1L;
    static final long MISS = Long.MIN_VALUE;
    private static final long NIBBLES = 0x1111_1111_1111_1111L;

    final int entries;
    final int ways;
    final int setMask;
    private final long[] tags;
    private final long[] values;
    /** Per set, the ways in recency order, a nibble each (ways <= 16); null for wider sets. */
    private final long[] order;
    /** The order of an empty set: way 0 at the LRU end, so it is filled first. */
    private final long emptyOrder;
    private final int lruShift;
    private final long orderMask;
    /** Wider sets only: last use of each way as {@code clock << 8 | way}. */
    private final long[] stamps;
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
        if (ways > 256) {
            throw new IllegalArgumentException("at most 256 ways");
        }
        this.entries = entries;
        this.ways = ways;
        this.setMask = entries == 0 ? 0 : entries / ways - 1;
        int slots = Math.max(1, entries);
        this.tags = new long[slots];
        this.values = withValues ? new long[slots] : null;
        Arrays.fill(tags, EMPTY);
        this.lruShift = 4 * (ways - 1);
        this.orderMask = ways >= 16 ? -1L : (1L << (4 * ways)) - 1;
        long o = 0;
        for (int w = 0; w < Math.min(ways, 16); w++) {
            o = (o << 4) | w;
        }
        this.emptyOrder = o;
        if (ways <= 16) {
            this.order = new long[slots / ways];
            this.stamps = null;
        } else {
            this.order = null;
            this.stamps = new long[slots];
        }
        resetLru();
    }

    private void resetLru() {
        if (order != null) {
            Arrays.fill(order, emptyOrder);
        } else {
            for (int i = 0; i < stamps.length; i++) {
                stamps[i] = i % ways;
            }
        }
    }

    boolean disabled() {
        return entries == 0;
    }

    /** Way of the set at {@code base} holding {@code key}, or -1. */
    private int find(int base, long key) {
        long[] t = tags;
        for (int i = base, end = base + ways; i < end; i++) {
            if (t[i] == key) {
                return i - base;
            }
        }
        return -1;
    }

    /** Marks {@code way} of {@code set} most recently used. */
    private void touch(int set, int way) {
        long[] ord = order;
        if (ord != null) {
            long o = ord[set];
            if ((o & 15) != way) {
                ord[set] = moveToBottom(o, way);
            }
        } else {
            stamps[set * ways + way] = (++clock << 8) | way;
        }
    }

    /** Nibble position of {@code way} in an order word (it is there exactly once). */
    private static int position(long o, int way) {
        long x = o ^ (NIBBLES * way);
        // lowest zero nibble of x (borrows only create false hits above the first true one)
        long z = (x - NIBBLES) & ~x & (NIBBLES << 3);
        return Long.numberOfTrailingZeros(z) >>> 2;
    }

    private static long moveToBottom(long o, int way) {
        int pos = position(o, way);
        long below = o & ((1L << (4 * pos)) - 1);
        long above = pos == 15 ? 0 : o & (-1L << (4 * pos + 4));
        return above | (below << 4) | way;
    }

    /** Moves {@code way} to the LRU end of the order word (it was emptied). */
    private long moveToTop(long o, int way) {
        int pos = position(o, way);
        long below = o & ((1L << (4 * pos)) - 1);
        long above = pos == 15 ? 0 : o & (-1L << (4 * pos + 4));
        return below | (above >>> 4) | ((long) way << lruShift);
    }

    /** True, refreshing LRU, if {@code key} is cached in the set chosen by {@code page}. */
    boolean probe(long page, long key) {
        int set = (int) (page & setMask);
        int way = find(set * ways, key);
        if (way < 0) {
            return false;
        }
        touch(set, way);
        return true;
    }

    /** The cached payload for {@code key}, refreshing LRU, or {@link #MISS}. */
    long get(long page, long key) {
        int set = (int) (page & setMask);
        int way = find(set * ways, key);
        if (way < 0) {
            return MISS;
        }
        touch(set, way);
        return values == null ? 0 : values[set * ways + way];
    }

    /**
     * Inserts {@code key}, which the caller has just missed on, into the set's empty or least
     * recently used way.
     */
    void put(long page, long key, long value) {
        if (entries == 0) {
            return;
        }
        int set = (int) (page & setMask);
        int base = set * ways;
        int way;
        long[] ord = order;
        if (ord != null) {
            long o = ord[set];
            way = (int) (o >>> lruShift) & 15;
            ord[set] = ((o << 4) & orderMask) | way;
        } else {
            long[] st = stamps;
            long oldest = st[base];
            for (int i = base + 1, end = base + ways; i < end; i++) {
                // a branch-free min (stamps are non-negative and far below 2^62)
                long d = st[i] - oldest;
                oldest += d & (d >> 63);
            }
            way = (int) (oldest & 0xFF);
            st[base + way] = (++clock << 8) | way;
        }
        int victim = base + way;
        if (tags[victim] == EMPTY) {
            live++;
        }
        tags[victim] = key;
        if (values != null) {
            values[victim] = value;
        }
    }

    /** Empties {@code way} of {@code set}, which then goes first. */
    private void empty(int set, int way) {
        tags[set * ways + way] = EMPTY;
        live--;
        if (order != null) {
            order[set] = moveToTop(order[set], way);
        } else {
            stamps[set * ways + way] = way;
        }
    }

    /** Drops {@code key} if cached. */
    void invalidate(long page, long key) {
        if (entries == 0) {
            return;
        }
        int set = (int) (page & setMask);
        int base = set * ways;
        for (int i = 0; i < ways; i++) {
            if (tags[base + i] == key) {
                empty(set, i);
            }
        }
    }

    /** Drops every entry whose tag bits (the low {@code tagBits}) equal {@code tag}. */
    void flushTag(long tag, int tagBits) {
        if (live == 0) {
            return;
        }
        long mask = (1L << tagBits) - 1;
        for (int set = 0, base = 0; base < entries; set++, base += ways) {
            for (int i = 0; i < ways; i++) {
                long k = tags[base + i];
                if (k != EMPTY && (k & mask) == tag) {
                    empty(set, i);
                }
            }
        }
    }

    /**
     * Copies {@code other}'s entries carrying {@code tag} in their low {@code tagBits}, retagged 0,
     * with their LRU order, so LRU continues exactly (other tags are dropped).
     */
    void copyFrom(AssocCache other, long tag, int tagBits) {
        if (other.entries != entries || other.ways != ways) {
            throw new IllegalArgumentException("geometry differs");
        }
        long mask = (1L << tagBits) - 1;
        System.arraycopy(other.tags, 0, tags, 0, tags.length);
        if (values != null && other.values != null) {
            System.arraycopy(other.values, 0, values, 0, values.length);
        }
        if (order != null) {
            System.arraycopy(other.order, 0, order, 0, order.length);
        } else {
            System.arraycopy(other.stamps, 0, stamps, 0, stamps.length);
            clock = Math.max(clock, other.clock);
        }
        live = other.live;
        for (int set = 0, base = 0; base < entries; set++, base += ways) {
            for (int i = 0; i < ways; i++) {
                long k = tags[base + i];
                if (k == EMPTY) {
                    continue;
                }
                if ((k & mask) == tag) {
                    tags[base + i] = k & ~mask;
                } else {
                    empty(set, i);
                }
            }
        }
    }

    void flush() {
        if (live != 0) {
            Arrays.fill(tags, EMPTY);
            resetLru();
            live = 0;
        }
    }

    int live() {
        return live;
    }
}
