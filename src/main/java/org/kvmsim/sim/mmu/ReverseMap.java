package org.kvmsim.sim.mmu;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * KVM's rmap for one shadow table: for every guest frame (gfn), the shadow entries (sptes) that
 * translate it, so that when the host frame behind a gfn changes (KSM merges it or breaks
 * copy-on-write, khugepaged collapses its range) exactly those sptes are dropped, as
 * kvm_unmap_gfn_range() does through the rmap heads of the memslot (arch/x86/kvm/mmu/mmu.c:
 * kvm_zap_rmap(), pte_list_add()/pte_list_remove()).
 *
 * <p>Data structures. An spte is named by its slot in the shadow table's slabs (level-1 slot for
 * 4 KiB sptes, upper slot for 2 MiB/1 GiB ones). 4 KiB sptes: a paged {@code int} array by gfn
 * (pages of 512 gfns, made on first use) holds {@code slot + 1}, the common case of one spte
 * per gfn, at 4 bytes a gfn; a gfn that more than one spte maps (two guest addresses aliasing
 * one page) holds {@link #MULTI} and its slots are listed in a hash map, as KVM's rmap head turns
 * into a pte_list_desc. Large sptes are rare (one per 2 MiB or 1 GiB) and live in a hash map
 * keyed by level and the large frame's first gfn.
 *
 * <p>Differences from KVM: one map per shadow table (address space) rather than per memslot;
 * KVM's rmap also serves dirty logging and write protection, which are not modelled.
 */
final class ReverseMap {

    /** 512 gfns (2 KiB) a page: a small VM or a sparse range wastes little. */
    private static final int PAGE_BITS = 9;
    private static final int PAGE_MASK = (1 << PAGE_BITS) - 1;
    private static final int MULTI = -1;
    private static final int[] NONE = new int[0];

    private int[][] pages = new int[16][];
    private int pageCount;
    private final Map<Long, int[]> multi = new HashMap<>();
    private final Map<Long, int[]> large = new HashMap<>();

    /** Records that the level-1 spte at {@code slot} translates {@code gfn}. */
    void add(long gfn, int slot) {
        int[] page = page(gfn, true);
        int i = (int) gfn & PAGE_MASK;
        int cur = page[i];
        if (cur == 0) {
            page[i] = slot + 1;
        } else if (cur == MULTI) {
            multi.merge(gfn, new int[] {slot}, ReverseMap::concat);
        } else {
            page[i] = MULTI;
            multi.put(gfn, new int[] {cur - 1, slot});
        }
    }

    /** Forgets that the level-1 spte at {@code slot} translates {@code gfn}. */
    void remove(long gfn, int slot) {
        int[] page = page(gfn, false);
        int i = (int) gfn & PAGE_MASK;
        if (page == null || page[i] == 0) {
            throw new IllegalStateException("rmap: gfn 0x" + Long.toHexString(gfn) + " has no spte");
        }
        if (page[i] != MULTI) {
            if (page[i] != slot + 1) {
                throw new IllegalStateException("rmap: gfn 0x" + Long.toHexString(gfn) + " is mapped by another spte");
            }
            page[i] = 0;
            return;
        }
        int[] left = without(multi.get(gfn), slot);
        if (left.length == 1) {
            multi.remove(gfn);
            page[i] = left[0] + 1;
        } else {
            multi.put(gfn, left);
        }
    }

    /** The level-1 slots whose sptes translate {@code gfn} (a copy: callers may zap while iterating). */
    int[] slots(long gfn) {
        int[] page = page(gfn, false);
        if (page == null) {
            return NONE;
        }
        int v = page[(int) gfn & PAGE_MASK];
        if (v == 0) {
            return NONE;
        }
        return v == MULTI ? multi.get(gfn).clone() : new int[] {v - 1};
    }

    /** Records a large spte (level 2 or 3) at upper {@code slot} translating the frame from {@code gfn}. */
    void addLarge(int level, long gfn, int slot) {
        large.merge(largeKey(level, gfn), new int[] {slot}, ReverseMap::concat);
    }

    void removeLarge(int level, long gfn, int slot) {
        long key = largeKey(level, gfn);
        int[] left = without(large.get(key), slot);
        if (left.length == 0) {
            large.remove(key);
        } else {
            large.put(key, left);
        }
    }

    /** The upper slots of large sptes at {@code level} whose frame contains {@code gfn} (a copy). */
    int[] largeSlots(int level, long gfn) {
        int[] s = large.get(largeKey(level, gfn));
        return s == null ? NONE : s.clone();
    }

    /** Large sptes recorded at {@code level}, for tests. */
    long largeSize(int level) {
        long n = 0;
        for (Map.Entry<Long, int[]> e : large.entrySet()) {
            n += (e.getKey() >>> 56) == level ? e.getValue().length : 0;
        }
        return n;
    }

    /** Level-1 sptes recorded, for tests: every gfn's slot count summed. */
    long size() {
        long n = 0;
        for (int p = 0; p < pages.length; p++) {
            if (pages[p] == null) {
                continue;
            }
            for (int i = 0; i <= PAGE_MASK; i++) {
                int v = pages[p][i];
                n += v == 0 ? 0 : v == MULTI ? multi.get(((long) p << PAGE_BITS) | i).length : 1;
            }
        }
        return n;
    }

    long heapBytes() {
        // a hash-map entry with its boxed key and a small int[]: about 80 bytes
        return 8L * pages.length + (16L + (4L << PAGE_BITS)) * pageCount + 80L * (multi.size() + large.size());
    }

    private static long largeKey(int level, long gfn) {
        return ((long) level << 56) | (gfn >>> (9 * (level - 1)));
    }

    private int[] page(long gfn, boolean create) {
        long p = gfn >>> PAGE_BITS;
        if (p >= pages.length) {
            if (!create) {
                return null;
            }
            pages = Arrays.copyOf(pages, (int) Math.max(p + 1, 2L * pages.length));
        }
        int[] page = pages[(int) p];
        if (page == null && create) {
            page = new int[1 << PAGE_BITS];
            pages[(int) p] = page;
            pageCount++;
        }
        return page;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static int[] without(int[] a, int slot) {
        if (a == null) {
            throw new IllegalStateException("rmap: no spte list");
        }
        for (int i = 0; i < a.length; i++) {
            if (a[i] == slot) {
                int[] c = new int[a.length - 1];
                System.arraycopy(a, 0, c, 0, i);
                System.arraycopy(a, i + 1, c, i, a.length - i - 1);
                return c;
            }
        }
        throw new IllegalStateException("rmap: spte not listed");
    }
}
