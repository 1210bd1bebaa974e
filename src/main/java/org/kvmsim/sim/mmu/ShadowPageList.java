package org.kvmsim.sim.mmu;

import java.util.Arrays;

/**
 * KVM's active_mmu_pages for one VM (arch/x86/kvm/mmu/mmu.c): every shadow page of all its
 * address spaces, in the order they were made, so that kvm_mmu_zap_oldest_mmu_pages() can take
 * the oldest when the VM reaches its limit. A page is named by its address space, level and table
 * id, and stamped with its birth: a page freed some other way (a zap from above, write flooding)
 * leaves a stale entry that no longer matches its table's stamp and is skipped, and dropped when
 * stale entries outnumber the live ones.
 */
final class ShadowPageList {

    /** Whether the entry for page {@code key} born at {@code born} still names a live page. */
    interface Live {
        boolean test(long key, long born);
    }

    private long[] keys = new long[64];
    private long[] births = new long[64];
    private int head;
    private int tail;
    private long clock;

    static long key(int space, int level, int id) {
        return ((long) space << 40) | ((long) level << 32) | (id & 0xFFFF_FFFFL);
    }

    static int space(long key) {
        return (int) (key >>> 40);
    }

    static int level(long key) {
        return (int) (key >>> 32) & 0xFF;
    }

    static int id(long key) {
        return (int) key;
    }

    /** A new page, the youngest; returns its birth stamp. */
    long add(long key) {
        append(key, ++clock);
        return clock;
    }

    /** Puts a page that was passed over back at the young end, keeping its stamp. */
    void requeue(long key, long born) {
        append(key, born);
    }

    private void append(long key, long born) {
        if (tail == keys.length) {
            if (head >= keys.length / 2) {
                System.arraycopy(keys, head, keys, 0, tail - head);
                System.arraycopy(births, head, births, 0, tail - head);
                tail -= head;
                head = 0;
            } else {
                keys = Arrays.copyOf(keys, keys.length * 2);
                births = Arrays.copyOf(births, births.length * 2);
            }
        }
        keys[tail] = key;
        births[tail++] = born;
    }

    int size() {
        return tail - head;
    }

    long oldestKey() {
        return keys[head];
    }

    long oldestBirth() {
        return births[head];
    }

    void removeOldest() {
        head++;
    }

    /** Drops the stale entries, keeping the order of the others. */
    void retain(Live live) {
        int n = 0;
        for (int i = head; i < tail; i++) {
            if (live.test(keys[i], births[i])) {
                keys[n] = keys[i];
                births[n++] = births[i];
            }
        }
        head = 0;
        tail = n;
    }

    long heapBytes() {
        return 16L * keys.length;
    }
}
