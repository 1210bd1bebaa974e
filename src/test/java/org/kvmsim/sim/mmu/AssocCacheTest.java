package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link AssocCache} against the textbook model of an LRU set-associative cache: per set, a list
 * in recency order. Random mixes of every operation (lookups, fills, fused lookup-and-fill with
 * and without taking it back, payload updates, invalidation, tag flushes, copies) on random
 * geometries must give the same hits, payloads and occupancy after every step.
 */
class AssocCacheTest {

    /** The reference: per set, entries most recent first; payload per key. */
    private static final class Reference {
        final int ways;
        final int sets;
        final List<List<long[]>> set = new ArrayList<>();

        Reference(int entries, int ways) {
            this.ways = ways;
            this.sets = entries / ways;
            for (int i = 0; i < sets; i++) {
                set.add(new ArrayList<>());
            }
        }

        List<long[]> of(long page) {
            return set.get((int) (page & (sets - 1)));
        }

        int find(List<long[]> s, long key) {
            for (int i = 0; i < s.size(); i++) {
                if (s.get(i)[0] == key) {
                    return i;
                }
            }
            return -1;
        }

        /** Lookup with LRU refresh: payload or null. */
        Long get(long page, long key) {
            List<long[]> s = of(page);
            int i = find(s, key);
            if (i < 0) {
                return null;
            }
            long[] e = s.remove(i);
            s.add(0, e);
            return e[1];
        }

        void put(long page, long key, long value) {
            List<long[]> s = of(page);
            if (s.size() == ways) {
                s.remove(ways - 1);
            }
            s.add(0, new long[] {key, value});
        }

        void invalidate(long page, long key) {
            List<long[]> s = of(page);
            int i = find(s, key);
            if (i >= 0) {
                s.remove(i);
            }
        }

        void flushTag(long tag, long mask) {
            for (List<long[]> s : set) {
                s.removeIf(e -> (e[0] & mask) == tag);
            }
        }

        int live() {
            int n = 0;
            for (List<long[]> s : set) {
                n += s.size();
            }
            return n;
        }

        Reference copyRetagged(long tag, long mask) {
            Reference r = new Reference(sets * ways, ways);
            for (int i = 0; i < sets; i++) {
                for (long[] e : set.get(i)) {
                    if ((e[0] & mask) == tag) {
                        r.set.get(i).add(new long[] {e[0] & ~mask, e[1]});
                    }
                }
            }
            return r;
        }
    }

    private static final int TAG_BITS = 2;

    @Property(tries = 300, seed = "20261126")
    void behavesAsTheTextbookLru(@ForAll @IntRange(min = 0, max = 3) int setsLog, @ForAll @IntRange(min = 1, max = 20) int ways,
            @ForAll @IntRange(min = 1, max = 40) int keySpace, @ForAll long seed) {
        int entries = (1 << setsLog) * ways;
        AssocCache c = new AssocCache(entries, ways);
        Reference r = new Reference(entries, ways);
        SplittableRandom rnd = new SplittableRandom(seed);
        long mask = (1L << TAG_BITS) - 1;
        for (int step = 0; step < 400; step++) {
            long page = rnd.nextInt(keySpace);
            long tag = rnd.nextInt(1 << TAG_BITS);
            long key = Tlbs.key(page, 0, (int) tag);
            long value = rnd.nextLong(1, 1000);
            int op = rnd.nextInt(100);
            String where = "step " + step + " op " + op;
            if (op < 25) {
                Long want = r.get(page, key);
                assertEquals(want == null ? AssocCache.MISS : want, c.get(page, key), where);
            } else if (op < 35) {
                if (r.find(r.of(page), key) < 0) {
                    r.put(page, key, value);
                    c.put(page, key, value);
                }
            } else if (op < 70) {
                // the walk's pattern: look up and fill at once, set the payload, or take it back
                Long want = r.get(page, key);
                long got = c.getOrInsert(page, key);
                assertEquals(want == null ? AssocCache.MISS : want, got, where);
                if (want == null) {
                    if (rnd.nextBoolean()) {
                        c.setFront(page, value);
                        r.put(page, key, value);
                    } else {
                        c.undoInsert(page);
                    }
                }
            } else if (op < 85) {
                Long want = r.get(page, key);
                assertEquals(want != null, c.probe(page, key), where);
            } else if (op < 93) {
                r.invalidate(page, key);
                c.invalidate(page, key);
            } else if (op < 97) {
                r.flushTag(tag, mask);
                c.flushTag(tag, TAG_BITS);
            } else {
                AssocCache copy = new AssocCache(entries, ways);
                copy.copyFrom(c, tag, TAG_BITS);
                Reference rc = r.copyRetagged(tag, mask);
                assertEquals(rc.live(), copy.live(), where);
                for (long p = 0; p < keySpace; p++) {
                    long k = Tlbs.key(p, 0, 0);
                    Long want = rc.get(p, k);
                    assertEquals(want == null ? AssocCache.MISS : want, copy.get(p, k), where + " copy");
                }
            }
            assertEquals(r.live(), c.live(), where + " live");
        }
        // the final contents, in LRU order: probing every key from the reference's LRU end
        for (long p = 0; p < keySpace; p++) {
            for (long tg = 0; tg <= mask; tg++) {
                long k = Tlbs.key(p, 0, (int) tg);
                Long want = r.get(p, k);
                assertEquals(want == null ? AssocCache.MISS : want, c.get(p, k), "final");
            }
        }
    }

    @Property(tries = 50, seed = "7")
    void probeOrInsertIsProbeThenPut(@ForAll @IntRange(min = 1, max = 16) int ways, @ForAll long seed) {
        AssocCache fused = new AssocCache(4 * ways, ways, false);
        AssocCache plain = new AssocCache(4 * ways, ways, false);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 2000; i++) {
            long page = rnd.nextInt(6 * ways);
            long key = page << 18;
            boolean hit = plain.probe(page, key);
            assertEquals(hit, fused.probeOrInsert(page, key), "access " + i);
            if (!hit) {
                if (rnd.nextInt(4) == 0) {
                    // the miss ended in a fault: taken back, as if no fill had followed the miss
                    fused.undoInsert(page);
                } else {
                    plain.put(page, key, 0);
                }
            }
            assertEquals(plain.live(), fused.live(), "access " + i);
        }
    }
}
