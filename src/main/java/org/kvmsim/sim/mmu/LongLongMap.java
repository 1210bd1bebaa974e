package org.kvmsim.sim.mmu;

import java.util.Arrays;

/**
 * Open-addressing map from non-negative long keys to long values (linear probing, backward-shift
 * deletion), so reverse maps over millions of frames cost two longs a slot, not a boxed entry.
 */
public final class LongLongMap {

    public static final long ABSENT = Long.MIN_VALUE;
    private static final long FREE = -1L;

    private long[] keys;
    private long[] vals;
    private int size;
    private int mask;

    public LongLongMap() {
        keys = new long[16];
        vals = new long[16];
        Arrays.fill(keys, FREE);
        mask = 15;
    }

    private static int hash(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    public long get(long key) {
        int i = hash(key) & mask;
        while (true) {
            long k = keys[i];
            if (k == key) {
                return vals[i];
            }
            if (k == FREE) {
                return ABSENT;
            }
            i = (i + 1) & mask;
        }
    }

    public void put(long key, long value) {
        if (key < 0) {
            throw new IllegalArgumentException("negative key");
        }
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        int i = hash(key) & mask;
        while (true) {
            long k = keys[i];
            if (k == key) {
                vals[i] = value;
                return;
            }
            if (k == FREE) {
                keys[i] = key;
                vals[i] = value;
                size++;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    void remove(long key) {
        int i = hash(key) & mask;
        while (true) {
            long k = keys[i];
            if (k == FREE) {
                return;
            }
            if (k == key) {
                break;
            }
            i = (i + 1) & mask;
        }
        // backward-shift deletion keeps probe chains intact without tombstones
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            long k = keys[j];
            if (k == FREE) {
                break;
            }
            int home = hash(k) & mask;
            boolean between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
            if (!between) {
                keys[hole] = k;
                vals[hole] = vals[j];
                hole = j;
            }
        }
        keys[hole] = FREE;
        size--;
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] ok = keys;
        long[] ov = vals;
        keys = new long[ok.length * 2];
        vals = new long[ok.length * 2];
        Arrays.fill(keys, FREE);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < ok.length; i++) {
            if (ok[i] != FREE) {
                put(ok[i], ov[i]);
            }
        }
    }
}
