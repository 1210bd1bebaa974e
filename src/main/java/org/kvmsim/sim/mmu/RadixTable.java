package org.kvmsim.sim.mmu;

import org.kvmsim.sim.view.TableStats;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.LongConsumer;

/**
 * One x86-64 radix page table (4 or 5 levels, 9 index bits a level, 12-bit offset) kept in
 * primitive arrays. The same storage serves guest tables (GVA -> GPA), nested EPT/NPT tables
 * (GPA -> HPA) and KVM shadow tables (GVA -> HPA).
 *
 * <p>Data structures. Tables are numbered; each table page is a run of 512 slots in a slab.
 * Upper tables (levels 2..5: PD, PDPT, PML4, PML5) live in one {@code long[]} slab; an entry is
 * either a pointer to a child table ({@code childId << 12 | P | W}) or a large leaf (2 MiB at the
 * PD, 1 GiB at the PDPT: {@code physBase | P | PS | W | A | D}, x86 bit positions). Level-1 tables
 * (PT, 4 KiB leaves) live in an {@code int[]} slab as {@code frame << 4 | P | W | A | D}, which
 * is what keeps a mapped 4 KiB page at 4 bytes of Java heap per table kind: a guest page mapped by
 * guest and nested tables costs about 8 bytes, well inside the 16-byte budget. Every table page
 * also has a simulated 4 KiB page at an address handed out by the owner's allocator (GPA for guest
 * tables, HPA for nested and shadow tables), so walks report real-looking table and entry addresses.
 *
 * <p>Differences from hardware: a pointer entry stores the child's table id, not its address
 * (the address is kept beside the table, {@link #upperAddress}/{@link #leafAddress}); level-1
 * frames are limited to 28 bits (physical addresses below 1 TiB); only P/W/A/D/PS are modelled
 * (no U/S, NX, PAT, global). Tables emptied by unmapping are kept, as Linux mostly does.
 */
final class RadixTable {

    static final int ENTRIES = 512;
    static final int SHIFT_4K = 12;
    static final int SHIFT_2M = 21;
    static final int SHIFT_1G = 30;

    static final long P = 1L;
    static final long W = 1L << 1;
    static final long A = 1L << 5;
    static final long D = 1L << 6;
    static final long PS = 1L << 7;
    static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;

    static final int LP = 1;
    static final int LW = 2;
    static final int LA = 4;
    static final int LD = 8;
    static final long MAX_LEAF_FRAME = (1L << 28) - 1;

    /** Returned by {@link #lookup} when nothing maps the address. */
    static final long NOT_MAPPED = -1L;

    /** Notified of every entry the table writes (the guest's PTE writes, for shadow paging). */
    interface WriteListener {
        void onEntryWrite(RadixTable table, int level, long tableAddress, int index);
    }

    final int levels;
    private final TablePageAllocator alloc;
    private final LongConsumer free;

    long[] up = new long[ENTRIES * 8];
    long[] upAddr = new long[8];
    byte[] upLevel = new byte[8];
    short[] upUsed = new short[8];
    int[] upParent = new int[8];
    private int upTop;
    private int[] upFree = new int[4];
    private int upFreeN;

    int[] lf = new int[ENTRIES * 8];
    long[] lfAddr = new long[8];
    short[] lfUsed = new short[8];
    int[] lfParent = new int[8];
    private int lfTop;
    private int[] lfFree = new int[4];
    private int lfFreeN;

    final int root;
    private final long[] tables = new long[6];
    private final long[] entries = new long[6];

    RadixTable(int levels, TablePageAllocator alloc, LongConsumer free) {
        if (levels != 4 && levels != 5) {
            throw new IllegalArgumentException("page tables have 4 or 5 levels, not " + levels);
        }
        this.levels = levels;
        this.alloc = alloc;
        this.free = free;
        this.root = newUpper(levels, -1);
    }

    static int index(long va, int level) {
        return (int) (va >>> (SHIFT_4K + 9 * (level - 1))) & (ENTRIES - 1);
    }

    static int shiftOfLevel(int level) {
        return SHIFT_4K + 9 * (level - 1);
    }

    static int levelOfShift(int shift) {
        switch (shift) {
            case SHIFT_4K: return 1;
            case SHIFT_2M: return 2;
            case SHIFT_1G: return 3;
            default: throw new IllegalArgumentException("page size must be 4 KiB, 2 MiB or 1 GiB (shift " + shift + ")");
        }
    }

    static int childOf(long entry) {
        return (int) (entry >>> 12);
    }

    long rootAddress() {
        return upAddr[root];
    }

    long upperAddress(int id) {
        return upAddr[id];
    }

    long leafAddress(int id) {
        return lfAddr[id];
    }

    // ---- table allocation ------------------------------------------------------------------

    /**
     * The next capacity of the table slabs: an eighth more (at least 8 tables), so that unused
     * capacity stays under an eighth of the heap a mapped page costs (the 16-byte budget).
     */
    private static int grown(int tables) {
        return tables + Math.max(8, tables >> 3);
    }

    private int newUpper(int level, int parentSlot) {
        int id;
        if (upFreeN > 0) {
            id = upFree[--upFreeN];
        } else {
            id = upTop++;
            if (id >= upAddr.length) {
                int n = grown(upAddr.length);
                upAddr = Arrays.copyOf(upAddr, n);
                upLevel = Arrays.copyOf(upLevel, n);
                upUsed = Arrays.copyOf(upUsed, n);
                upParent = Arrays.copyOf(upParent, n);
                up = Arrays.copyOf(up, n * ENTRIES);
            }
        }
        upAddr[id] = alloc.allocate();
        upLevel[id] = (byte) level;
        upUsed[id] = 0;
        upParent[id] = parentSlot;
        tables[level]++;
        return id;
    }

    private int newLeaf(int parentSlot) {
        int id;
        if (lfFreeN > 0) {
            id = lfFree[--lfFreeN];
        } else {
            id = lfTop++;
            if (id >= lfAddr.length) {
                int n = grown(lfAddr.length);
                lfAddr = Arrays.copyOf(lfAddr, n);
                lfUsed = Arrays.copyOf(lfUsed, n);
                lfParent = Arrays.copyOf(lfParent, n);
                lf = Arrays.copyOf(lf, n * ENTRIES);
            }
        }
        lfAddr[id] = alloc.allocate();
        lfUsed[id] = 0;
        lfParent[id] = parentSlot;
        tables[1]++;
        return id;
    }

    /** Whether {@code test} holds for the address of every table page in use. */
    boolean allTablePages(java.util.function.LongPredicate test) {
        boolean[] freeUp = new boolean[upTop];
        for (int i = 0; i < upFreeN; i++) {
            freeUp[upFree[i]] = true;
        }
        for (int id = 0; id < upTop; id++) {
            if (!freeUp[id] && !test.test(upAddr[id])) {
                return false;
            }
        }
        boolean[] freeLf = new boolean[lfTop];
        for (int i = 0; i < lfFreeN; i++) {
            freeLf[lfFree[i]] = true;
        }
        for (int id = 0; id < lfTop; id++) {
            if (!freeLf[id] && !test.test(lfAddr[id])) {
                return false;
            }
        }
        return true;
    }

    // ---- mapping -----------------------------------------------------------------------------

    /**
     * Maps the page of 2^shift bytes containing {@code va} to {@code pa}, creating intermediate
     * tables as needed. Replacing an existing leaf of the same size is allowed, and so is a large
     * leaf over a table that has been emptied (the table is freed; the result is then true);
     * mapping over other differently sized mappings is an error (the caller unmaps first, as an OS
     * would).
     */
    boolean map(long va, long pa, int shift, boolean writable, WriteListener listener) {
        int leafLevel = levelOfShift(shift);
        long mask = (1L << shift) - 1;
        if ((pa & mask) != 0) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "physical address 0x%x is not aligned to the %d-byte page", pa, 1L << shift));
        }
        int t = root;
        for (int l = levels; l > leafLevel; l--) {
            int idx = index(va, l);
            int slot = t * ENTRIES + idx;
            long e = up[slot];
            if (e == 0) {
                int child = l - 1 == 1 ? newLeaf(slot) : newUpper(l - 1, slot);
                up[slot] = ((long) child << 12) | P | W;
                upUsed[t]++;
                entries[l]++;
                if (listener != null) {
                    listener.onEntryWrite(this, l, upAddr[t], idx);
                }
                e = up[slot];
            } else if ((e & PS) != 0) {
                throw new IllegalStateException(String.format("0x%x is already mapped by a larger page", va));
            }
            t = childOf(e);
        }
        int idx = index(va, leafLevel);
        boolean replaced = false;
        if (leafLevel == 1) {
            long frame = pa >>> SHIFT_4K;
            if (frame > MAX_LEAF_FRAME) {
                throw new IllegalArgumentException(String.format("physical address 0x%x is beyond the simulated 1 TiB", pa));
            }
            int slot = t * ENTRIES + idx;
            if (lf[slot] == 0) {
                lfUsed[t]++;
                entries[1]++;
            }
            lf[slot] = (int) (frame << 4) | LP | (writable ? LW : 0);
            if (listener != null) {
                listener.onEntryWrite(this, 1, lfAddr[t], idx);
            }
            return false;
        }
        int slot = t * ENTRIES + idx;
        long e = up[slot];
        if (e != 0 && (e & PS) == 0) {
            // a huge page replacing a table the OS has emptied (khugepaged's collapse) frees it
            int child = childOf(e);
            boolean empty = leafLevel - 1 == 1 ? lfUsed[child] == 0 : upUsed[child] == 0;
            if (!empty) {
                throw new IllegalStateException(String.format("0x%x is already mapped by smaller pages", va));
            }
            zapSlot(slot, null);
            e = 0;
            replaced = true;
        }
        if (e == 0) {
            upUsed[t]++;
            entries[leafLevel]++;
        }
        up[slot] = pa | P | PS | (writable ? W : 0);
        if (listener != null) {
            listener.onEntryWrite(this, leafLevel, upAddr[t], idx);
        }
        return replaced;
    }

    /** Clears the leaf mapping {@code va}; returns what {@link #lookup} returned before. */
    long unmap(long va, WriteListener listener) {
        int t = root;
        for (int l = levels; l >= 1; l--) {
            int idx = index(va, l);
            int slot = t * ENTRIES + idx;
            if (l == 1) {
                int e = lf[slot];
                if (e == 0) {
                    return NOT_MAPPED;
                }
                lf[slot] = 0;
                lfUsed[t]--;
                entries[1]--;
                if (listener != null) {
                    listener.onEntryWrite(this, 1, lfAddr[t], idx);
                }
                return ((long) (e >>> 4) << SHIFT_4K) | 1;
            }
            long e = up[slot];
            if (e == 0) {
                return NOT_MAPPED;
            }
            if ((e & PS) != 0) {
                up[slot] = 0;
                upUsed[t]--;
                entries[l]--;
                if (listener != null) {
                    listener.onEntryWrite(this, l, upAddr[t], idx);
                }
                return (e & ADDR_MASK) | l;
            }
            t = childOf(e);
        }
        return NOT_MAPPED;
    }

    /**
     * The leaf mapping {@code va}: {@code pageBase | leafLevel} (leaf level 1, 2 or 3 in the low
     * bits; the page base is aligned to the page), or {@link #NOT_MAPPED}.
     */
    long lookup(long va) {
        int t = root;
        for (int l = levels; l > 1; l--) {
            long e = up[t * ENTRIES + index(va, l)];
            if (e == 0) {
                return NOT_MAPPED;
            }
            if ((e & PS) != 0) {
                return (e & ADDR_MASK) | l;
            }
            t = childOf(e);
        }
        int e = lf[t * ENTRIES + index(va, 1)];
        return e == 0 ? NOT_MAPPED : ((long) (e >>> 4) << SHIFT_4K) | 1;
    }

    /**
     * Whether nothing is mapped in the 2 MiB around {@code va}: no PD entry, or a page table with
     * no entries (pmd_none() for a huge page fault, or a table the OS emptied).
     */
    boolean unmapped2m(long va) {
        int t = root;
        for (int l = levels; l > 2; l--) {
            long e = up[t * ENTRIES + index(va, l)];
            if (e == 0) {
                return true;
            }
            if ((e & PS) != 0) {
                return false;
            }
            t = childOf(e);
        }
        long e = up[t * ENTRIES + index(va, 2)];
        return e == 0 || ((e & PS) == 0 && lfUsed[childOf(e)] == 0);
    }

    /**
     * Reads the entry that maps {@code va} without decoding it: used to pull the leaf's cache line
     * in ahead of the simulated walk that will need it (Java has no prefetch instruction).
     */
    long peek(long va) {
        int t = root;
        for (int l = levels; l > 1; l--) {
            long e = up[t * ENTRIES + index(va, l)];
            if (e == 0 || (e & PS) != 0) {
                return e;
            }
            t = childOf(e);
        }
        return lf[t * ENTRIES + index(va, 1)];
    }

    static int leafEntry(long pa, boolean writable) {
        long frame = pa >>> SHIFT_4K;
        if (frame > MAX_LEAF_FRAME) {
            throw new IllegalArgumentException(String.format("physical address 0x%x is beyond the simulated 1 TiB", pa));
        }
        return (int) (frame << 4) | LP | (writable ? LW : 0);
    }

    static long leafFrameAddress(int entry) {
        return (long) (entry >>> 4) << SHIFT_4K;
    }

    static int leafLevel(long lookup) {
        return (int) (lookup & 3);
    }

    static long pageBase(long lookup) {
        return lookup & ~0xFFFL;
    }

    /** Translates a full address through a successful {@link #lookup} result. */
    static long resolve(long lookup, long va) {
        int shift = shiftOfLevel(leafLevel(lookup));
        return pageBase(lookup) | (va & ((1L << shift) - 1));
    }

    /** Sets the accessed (and on a write the dirty) bit of the leaf mapping {@code va}, if any. */
    void touch(long va, boolean write) {
        int t = root;
        for (int l = levels; l > 1; l--) {
            int slot = t * ENTRIES + index(va, l);
            long e = up[slot];
            if (e == 0) {
                return;
            }
            if ((e & PS) != 0) {
                up[slot] = e | A | (write ? D : 0);
                return;
            }
            up[slot] = e | A;
            t = childOf(e);
        }
        int slot = t * ENTRIES + index(va, 1);
        if (lf[slot] != 0) {
            lf[slot] |= LA | (write ? LD : 0);
        }
    }

    /**
     * The child table under slot {@code idx} of upper table {@code table} (at {@code level}),
     * created if absent; {@code -1} if the slot holds a large leaf. Used by the shadow MMU, which
     * builds its tables level by level beside the guest's.
     */
    int ensureChild(int table, int level, int idx) {
        int slot = table * ENTRIES + idx;
        long e = up[slot];
        if (e == 0) {
            int child = level - 1 == 1 ? newLeaf(slot) : newUpper(level - 1, slot);
            up[slot] = ((long) child << 12) | P | W;
            upUsed[table]++;
            entries[level]++;
            return child;
        }
        return (e & PS) != 0 ? -1 : childOf(e);
    }

    /** Writes a large leaf into an empty slot of an upper table. */
    void setLargeLeaf(int table, int level, int idx, long pa, boolean writable) {
        int slot = table * ENTRIES + idx;
        if (up[slot] == 0) {
            upUsed[table]++;
            entries[level]++;
        }
        up[slot] = pa | P | PS | (writable ? W : 0);
    }

    // ---- freeing (shadow pages are zapped) ---------------------------------------------------

    /** Clears the pointer in slot {@code parentSlot} of an upper table and frees the subtree below. */
    void zapSlot(int parentSlot, ZapListener listener) {
        long e = up[parentSlot];
        if (e == 0) {
            return;
        }
        int parent = parentSlot / ENTRIES;
        int level = upLevel[parent];
        up[parentSlot] = 0;
        upUsed[parent]--;
        entries[level]--;
        if ((e & PS) == 0) {
            if (level - 1 == 1) {
                freeLeaf(childOf(e), listener);
            } else {
                freeUpper(childOf(e), listener);
            }
        } else if (listener != null) {
            listener.onLargeLeaf(level, parentSlot, e);
        }
    }

    /**
     * Called for every table freed by a zap (a level-1 table still holds its entries then), so
     * owners can drop their per-table metadata, and for every large leaf a zap clears.
     */
    interface ZapListener {
        void onFree(int level, int id);

        default void onLargeLeaf(int level, int slot, long entry) {
        }
    }

    private void freeUpper(int id, ZapListener listener) {
        int level = upLevel[id];
        int base = id * ENTRIES;
        for (int i = 0; i < ENTRIES && upUsed[id] > 0; i++) {
            if (up[base + i] != 0) {
                zapSlot(base + i, listener);
            }
        }
        if (listener != null) {
            listener.onFree(level, id);
        }
        free.accept(upAddr[id]);
        tables[level]--;
        if (upFreeN == upFree.length) {
            upFree = Arrays.copyOf(upFree, upFreeN * 2);
        }
        upFree[upFreeN++] = id;
    }

    private void freeLeaf(int id, ZapListener listener) {
        int base = id * ENTRIES;
        if (listener != null) {
            listener.onFree(1, id);
        }
        entries[1] -= lfUsed[id];
        Arrays.fill(lf, base, base + ENTRIES, 0);
        lfUsed[id] = 0;
        free.accept(lfAddr[id]);
        tables[1]--;
        if (lfFreeN == lfFree.length) {
            lfFree = Arrays.copyOf(lfFree, lfFreeN * 2);
        }
        lfFree[lfFreeN++] = id;
    }

    /** Clears one level-1 entry (shadow resync / invlpg drops a stale spte). */
    void clearLeafSlot(int slot) {
        if (lf[slot] != 0) {
            lf[slot] = 0;
            lfUsed[slot / ENTRIES]--;
            entries[1]--;
        }
    }

    /** Writes one level-1 entry directly (shadow resync updates a stale spte). */
    void setLeafSlot(int slot, int value) {
        if (lf[slot] == 0 && value != 0) {
            lfUsed[slot / ENTRIES]++;
            entries[1]++;
        }
        lf[slot] = value;
    }

    // ---- accounting ------------------------------------------------------------------------

    long tableCount() {
        long n = 0;
        for (long t : tables) {
            n += t;
        }
        return n;
    }

    /** Simulated bytes of all table pages (4 KiB each). */
    long bytes() {
        return tableCount() * 4096L;
    }

    List<TableStats> stats(String kind) {
        List<TableStats> out = new ArrayList<>();
        for (int l = levels; l >= 1; l--) {
            out.add(new TableStats(kind, l, tables[l], entries[l], tables[l] * 4096L));
        }
        return out;
    }

    /** Java heap held by the slabs and per-table arrays (for the memory budget test). */
    long heapBytes() {
        return 8L * up.length + 4L * lf.length
                + (8L + 1 + 2 + 4) * upAddr.length + (8L + 2 + 4) * lfAddr.length
                + 4L * (upFree.length + lfFree.length);
    }
}
