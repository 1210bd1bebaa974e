package org.kvmsim.sim.mmu;

import static org.kvmsim.sim.mmu.RadixTable.ADDR_MASK;
import static org.kvmsim.sim.mmu.RadixTable.ENTRIES;
import static org.kvmsim.sim.mmu.RadixTable.PS;
import static org.kvmsim.sim.mmu.RadixTable.SHIFT_2M;
import static org.kvmsim.sim.mmu.RadixTable.childOf;
import static org.kvmsim.sim.mmu.RadixTable.index;
import static org.kvmsim.sim.mmu.RadixTable.shiftOfLevel;

import java.util.Arrays;

/**
 * KVM's shadow page table for one guest address space (Documentation/virt/kvm/x86/mmu.rst):
 * GVA -> HPA tables the hardware walks instead of the guest's, built level by level on page
 * faults, each shadow page mirroring one guest table page ("gfn") at the same level.
 *
 * <p>What it keeps per shadow page (arrays indexed by the shadow table's id): the guest table it
 * shadows ({@code gfn}, or {@link #DIRECT} for the tables KVM adds under a guest huge page backed
 * by smaller host pages, which shadow nothing), the guest table's id, the write-flooding count of
 * upper pages, whether a leaf page is unsync, and its birth in the VM's list of shadow pages. Every shadowed gfn is in the VM-wide
 * {@code shadowed} map: those guest pages are write-protected.
 *
 * <p>Mechanisms, as KVM (arch/x86/kvm/mmu/mmu.c):
 * <ul>
 * <li>Guest write to a shadowed leaf (level-1) table: the write faults once, the shadow page
 * becomes unsync and writable for the guest (mmu_try_to_unsync_pages()); it may go stale.</li>
 * <li>Guest write to a shadowed upper table: emulated (kvm_mmu_pte_write()), the shadow entry
 * under it is dropped; detect_write_flooding() zaps the whole shadow page once its count reaches
 * {@value #WRITE_FLOOD_THRESHOLD} ({@code write_flooding_count >= 3}; level-1 pages are exempt, and so is the root here: KVM
 * would invalidate it and reload the MMU);
 * a fault walking through the page resets the count (as KVM's fetch path does).</li>
 * <li>CR3 load: every unsync page is resynced from its guest table and write-protected again
 * (kvm_mmu_sync_roots()); INVLPG resyncs one entry (the spte for that address). Resyncing an
 * spte whose guest entry now names another page drops it (the next access faults it in), and
 * one whose page stayed takes the guest entry's access rights (FNAME(sync_spte)).</li>
 * <li>Host frame changes (KSM merge, copy-on-write break, THP collapse): the MMU notifier drops
 * every spte that translates the gfn, found through the rmap ({@link ReverseMap},
 * kvm_unmap_gfn_range()); the next access faults the new frame in.</li>
 * <li>Spte prefetch: a fault that installs a 4 KiB spte also fills the empty slots of its aligned
 * block of {@value #PREFETCH} whose guest entry is present and whose host page is present
 * already (FNAME(pte_prefetch), __direct_pte_prefetch()); see {@link #prefetch}.</li>
 * <li>Recycling: every page but the root is in the VM's {@link ShadowPageList}; the MMU zaps the
 * oldest at its shadow page limit ({@link #zapIfChildless}, make_mmu_pages_available()).</li>
 * </ul>
 *
 * <p>An spte here records the gfn it translates (what KVM keeps beside it in the shadow page's
 * shadowed_translation array) rather than the host frame: the frame is looked up through the
 * host mapping when asked for ({@link #hpaOf}), and stays in step because every change of it
 * drops the spte. That costs nothing per page beyond the 4 bytes of the spte and the rmap's 4.
 *
 * <p>Differences from KVM: the shadow is a tree (KVM shares shadow pages among parents and keeps
 * zapped ones on a hash for reuse; here a zap frees the subtree); one role per gfn; no A/D-bit
 * emulation (KVM maps clean pages read-only to catch the first write, prefetched ones too; here
 * only the zero page is mapped read-only, and the MMU takes the write fault on it); a KSM
 * page is not mapped read-only (writes reach the host's copy-on-write through the engine, not
 * through a write fault on the spte); recycling passes over pages with shadow pages below them.
 */
final class ShadowTable {

    /** KVM's detect_write_flooding() threshold (arch/x86/kvm/mmu/mmu.c). */
    static final int WRITE_FLOOD_THRESHOLD = 3;

    /** Outcomes of {@link #guestWrite}. */
    static final int NO_EXIT = 0;
    static final int UNSYNCED = 1;
    static final int EMULATED = 2;
    static final int EMULATED_AND_ZAPPED = 3;
    /** Or'ed into an outcome when present shadow entries were dropped (TLBs must be flushed). */
    static final int DROPPED = 4;

    private static final long UNREG = -2L;
    private static final long DIRECT = -1L;

    final int spaceId;
    final RadixTable guest;
    final RadixTable table;
    private final HostBacking host;
    private final LongLongMap shadowed;
    private final ReverseMap rmap = new ReverseMap();
    private final ShadowPageList pages;

    private long[] upGfn = filled(8);
    private int[] upGuest = new int[8];
    private long[] upBorn = new long[8];
    private byte[] upFlood = new byte[8];
    private long[] lfGfn = filled(8);
    private int[] lfGuest = new int[8];
    private long[] lfBorn = new long[8];
    private boolean[] lfUnsync = new boolean[8];
    private int[] unsync = new int[8];
    private int unsyncN;

    ShadowTable(int spaceId, RadixTable guest, HostBacking host, LongLongMap shadowed, ShadowPageList pages) {
        this.spaceId = spaceId;
        this.guest = guest;
        this.host = host;
        this.shadowed = shadowed;
        this.pages = pages;
        this.table = new RadixTable(guest.levels, host::allocTablePage, host::freeTablePage);
        register(guest.levels, table.root, guest.rootAddress(), guest.root);
    }

    /** The owner of a {@code shadowed} map value. */
    static int spaceOf(long ref) {
        return (int) (ref >>> 40);
    }

    private static long[] filled(int n) {
        long[] a = new long[n];
        Arrays.fill(a, UNREG);
        return a;
    }

    private void ensureUpper(int id) {
        if (id >= upGfn.length) {
            int n = Math.max(id + 1, upGfn.length * 2);
            int old = upGfn.length;
            upGfn = Arrays.copyOf(upGfn, n);
            Arrays.fill(upGfn, old, n, UNREG);
            upGuest = Arrays.copyOf(upGuest, n);
            upFlood = Arrays.copyOf(upFlood, n);
            upBorn = Arrays.copyOf(upBorn, n);
        }
    }

    private void ensureLeaf(int id) {
        if (id >= lfGfn.length) {
            int n = Math.max(id + 1, lfGfn.length * 2);
            int old = lfGfn.length;
            lfGfn = Arrays.copyOf(lfGfn, n);
            Arrays.fill(lfGfn, old, n, UNREG);
            lfGuest = Arrays.copyOf(lfGuest, n);
            lfUnsync = Arrays.copyOf(lfUnsync, n);
            lfBorn = Arrays.copyOf(lfBorn, n);
        }
    }

    private void register(int level, int shadowId, long gfnAddr, int guestId) {
        // the root is never recycled: it is every vCPU's root in use here
        long born = level == guest.levels ? 0 : pages.add(ShadowPageList.key(spaceId, level, shadowId));
        if (level == 1) {
            ensureLeaf(shadowId);
            lfBorn[shadowId] = born;
        } else {
            ensureUpper(shadowId);
            upBorn[shadowId] = born;
        }
        if (level == 1) {
            ensureLeaf(shadowId);
            lfGfn[shadowId] = gfnAddr;
            lfGuest[shadowId] = guestId;
            lfUnsync[shadowId] = false;
        } else {
            ensureUpper(shadowId);
            upGfn[shadowId] = gfnAddr;
            upGuest[shadowId] = guestId;
            upFlood[shadowId] = 0;
        }
        if (gfnAddr >= 0) {
            shadowed.put(gfnAddr >>> 12, ((long) spaceId << 40) | ((long) level << 32) | shadowId);
        }
    }

    private void unregister(int level, int id) {
        long gfn;
        if (level == 1) {
            gfn = lfGfn[id];
            lfGfn[id] = UNREG;
            lfUnsync[id] = false;
        } else {
            gfn = upGfn[id];
            upGfn[id] = UNREG;
        }
        if (gfn >= 0) {
            shadowed.remove(gfn >>> 12);
        }
    }

    private boolean registered(int level, int id) {
        if (level == 1) {
            ensureLeaf(id);
            return lfGfn[id] != UNREG;
        }
        ensureUpper(id);
        return upGfn[id] != UNREG;
    }

    /**
     * KVM's page-fault path: builds the shadow path for {@code gva} from the guest tables,
     * shadowing (write-protecting) each guest table on the way; false if the guest maps nothing
     * there (the fault is the guest's own). A read ({@code write} false) of memory never written
     * maps the zero page, read-only ({@link HostBacking#mapZero}).
     */
    boolean fill(long gva, boolean write) {
        faultedInBytes = 0;
        zeroFaulted = false;
        mappedZero = false;
        RadixTable g = guest;
        RadixTable s = table;
        int gt = g.root;
        int st = s.root;
        for (int l = g.levels; l >= 1; l--) {
            int idx = index(gva, l);
            if (l == 1) {
                int ge = g.lf[gt * ENTRIES + idx];
                if (ge == 0) {
                    return false;
                }
                long gfnAddr = RadixTable.leafFrameAddress(ge);
                // KVM's fault path looks the host page up, faulting it in (__kvm_faultin_pfn())
                boolean zero = !write && mapZero(gfnAddr) > 0;
                if (!zero) {
                    faultedInBytes = host.faultIn(gfnAddr);
                }
                setSpte(st * ENTRIES + idx, RadixTable.leafEntry(gfnAddr, !zero && (ge & RadixTable.LW) != 0));
                // also after a read that mapped the zero page (FNAME(fetch) prefetches after any
                // 4 KiB spte); the neighbours get sptes only over pages of their own
                prefetch(st, gt, idx);
                return true;
            }
            upFlood[st] = 0;
            long ge = g.up[gt * ENTRIES + idx];
            if (ge == 0) {
                return false;
            }
            if ((ge & PS) != 0) {
                fillUnderHugePage(gva, l, ge, st, write);
                return true;
            }
            int gchild = childOf(ge);
            int schild = s.ensureChild(st, l, idx);
            if (!registered(l - 1, schild)) {
                register(l - 1, schild, l - 1 == 1 ? g.lfAddr[gchild] : g.upAddr[gchild], gchild);
            }
            gt = gchild;
            st = schild;
        }
        return false;
    }

    /** A guest huge page: mapped as large as the host page allows, with direct tables below. */
    private void fillUnderHugePage(long gva, int level, long ge, int st, boolean write) {
        RadixTable s = table;
        int gShift = shiftOfLevel(level);
        long gpa = (ge & ADDR_MASK) | (gva & ((1L << gShift) - 1));
        // the host page is faulted in first, as KVM does (a THP may come with it), then sized
        int zeroShift = write ? 0 : mapZero(gpa & ~0xFFFL);
        if (zeroShift == 0) {
            faultedInBytes = host.faultIn(gpa & ~0xFFFL);
        }
        int maxShift = host.maxLeafShift(gpa);
        int shift = Math.min(gShift, zeroShift > 0 ? Math.min(zeroShift, maxShift) : maxShift);
        // the direct page's access is the guest huge page's (its prefetched sptes have it); only
        // the spte over the zero page is read-only
        boolean gw = (ge & RadixTable.W) != 0;
        boolean w = zeroShift == 0 && gw;
        int leafLevel = RadixTable.levelOfShift(shift);
        for (int lv = level; lv > leafLevel; lv--) {
            int child = s.ensureChild(st, lv, index(gva, lv));
            if (child < 0) {
                return;
            }
            if (!registered(lv - 1, child)) {
                register(lv - 1, child, DIRECT, -1);
            }
            st = child;
        }
        long frame = gpa & ~((1L << shift) - 1);
        if (leafLevel == 1) {
            setSpte(st * ENTRIES + index(gva, 1), RadixTable.leafEntry(frame, w));
            prefetchDirect(st, index(gva, 1), gpa & ~((1L << SHIFT_2M) - 1), gw);
        } else {
            int slot = st * ENTRIES + index(gva, leafLevel);
            if (s.up[slot] != 0) {
                // the host page grew (a THP now backs what 4 KiB pages did): KVM's mmu_set_spte()
                // drops the smaller table for the large spte and flushes (walk caches may still
                // point at that table)
                droppedOnFill |= (s.up[slot] & PS) == 0;
                s.zapSlot(slot, zaps);
            }
            s.setLargeLeaf(st, leafLevel, index(gva, leafLevel), frame, w);
            rmap.addLarge(leafLevel, frame >>> 12, slot);
        }
    }

    /**
     * A read fault's host side: the zero page where the page was never written (see
     * {@link HostBacking#mapZero}); its log2 size, or 0 when the page has to be faulted in.
     */
    private int mapZero(long gpa) {
        boolean was = host.zeroMapped(gpa);
        int shift = host.mapZero(gpa);
        if (shift > 0) {
            mappedZero = true;
            zeroFaulted = !was;
        }
        return shift;
    }

    /** Whether the last {@link #fill} mapped the zero page (read-only), and whether that was a new host mapping. */
    boolean mappedZero;
    boolean zeroFaulted;

    /**
     * KVM's FNAME(pte_prefetch) (arch/x86/kvm/mmu/paging_tmpl.h) after a fault installed the
     * 4 KiB spte at {@code idx} of leaf shadow page {@code st}: the other entries of its aligned
     * block of {@value #PREFETCH} get sptes too, in order, from the guest entries of the same guest
     * table {@code gt} (read with the faulting one, FNAME(gpte_changed)). A slot with an spte is
     * skipped; the first guest entry that is not present (FNAME(prefetch_invalid_gpte); a present
     * one counts as accessed: x86 Linux sets _PAGE_ACCESSED in new user PTEs) or whose host page
     * is not present (kvm_prefetch_pages() never faults one in) ends the prefetch.
     */
    private void prefetch(int st, int gt, int idx) {
        int base = idx & -PREFETCH;
        for (int i = base; i < base + PREFETCH; i++) {
            int slot = st * ENTRIES + i;
            if (i == idx || table.lf[slot] != 0) {
                continue;
            }
            int ge = guest.lf[gt * ENTRIES + i];
            if (ge == 0) {
                return;
            }
            long gfnAddr = RadixTable.leafFrameAddress(ge);
            if (!host.present(gfnAddr)) {
                return;
            }
            setSpte(slot, RadixTable.leafEntry(gfnAddr, (ge & RadixTable.LW) != 0));
            prefetched++;
        }
    }

    /**
     * The same for a direct leaf page under a guest huge page (mmu.c __direct_pte_prefetch()):
     * each run of empty slots in the block around {@code idx} is prefetched from its start for as
     * long as the host pages are present (kvm_prefetch_pages() of the run); a run whose first page
     * is not present ends it. Entry i of the page maps {@code gpa2m} + i * 4 KiB.
     */
    private void prefetchDirect(int st, int idx, long gpa2m, boolean w) {
        int base = idx & -PREFETCH;
        int start = -1;
        for (int i = base; i <= base + PREFETCH; i++) {
            boolean end = i == base + PREFETCH || i == idx || table.lf[st * ENTRIES + i] != 0;
            if (!end) {
                if (start < 0) {
                    start = i;
                }
                continue;
            }
            if (start < 0) {
                continue;
            }
            int n = 0;
            for (int j = start; j < i && host.present(gpa2m + ((long) j << 12)); j++, n++) {
                setSpte(st * ENTRIES + j, RadixTable.leafEntry(gpa2m + ((long) j << 12), w));
                prefetched++;
            }
            if (n == 0) {
                return;
            }
            start = -1;
        }
    }

    /** KVM's PTE_PREFETCH_NUM: the aligned block of sptes a 4 KiB fault fills. */
    static final int PREFETCH = 8;
    /** Sptes installed by prefetch, not by their own fault (for tests; KVM has no such stat). */
    long prefetched;

    /** Set when a fill replaced a table by a large spte; the MMU flushes the VM's TLBs. */
    boolean droppedOnFill;
    /** Bytes the host zeroed faulting in the page of the last {@link #fill} (0: it was present). */
    long faultedInBytes;

    /**
     * The guest wrote entry {@code index} of the shadowed table page {@code ref} names (a value of
     * the {@code shadowed} map); returns what KVM does about it (an outcome, maybe | DROPPED).
     */
    int guestWrite(long ref, int index) {
        int level = (int) (ref >>> 32) & 0xFF;
        int id = (int) ref;
        if (level == 1) {
            if (lfUnsync[id]) {
                return NO_EXIT;
            }
            lfUnsync[id] = true;
            if (unsyncN == unsync.length) {
                unsync = Arrays.copyOf(unsync, unsyncN * 2);
            }
            unsync[unsyncN++] = id;
            return UNSYNCED;
        }
        RadixTable s = table;
        if (upFlood[id] < WRITE_FLOOD_THRESHOLD) {
            upFlood[id]++;
        }
        boolean zap = upFlood[id] >= WRITE_FLOOD_THRESHOLD && id != s.root;
        int slot = zap ? s.upParent[id] : id * ENTRIES + index;
        int outcome = zap ? EMULATED_AND_ZAPPED : EMULATED;
        if (s.up[slot] != 0) {
            s.zapSlot(slot, zaps);
            outcome |= DROPPED;
        }
        return outcome;
    }

    /** CR3 load: resyncs every unsync page and write-protects it again; returns how many. */
    int resyncAll() {
        int n = 0;
        for (int i = 0; i < unsyncN; i++) {
            int id = unsync[i];
            if (lfUnsync[id]) {
                int gid = lfGuest[id];
                for (int e = 0; e < ENTRIES; e++) {
                    syncSlot(id * ENTRIES + e, gid * ENTRIES + e);
                }
                lfUnsync[id] = false;
                n++;
            }
        }
        unsyncN = 0;
        return n;
    }

    /** INVLPG: resyncs the one entry mapping {@code gva} if its shadow page is unsync. */
    void syncOne(long gva) {
        RadixTable s = table;
        int st = s.root;
        for (int l = s.levels; l > 1; l--) {
            long e = s.up[st * ENTRIES + index(gva, l)];
            if (e == 0 || (e & PS) != 0) {
                return;
            }
            st = childOf(e);
        }
        if (st < lfUnsync.length && lfUnsync[st]) {
            int i = index(gva, 1);
            syncSlot(st * ENTRIES + i, lfGuest[st] * ENTRIES + i);
        }
    }

    private void syncSlot(int sslot, int gslot) {
        int se = table.lf[sslot];
        if (se == 0) {
            return;
        }
        int ge = guest.lf[gslot];
        if (ge == 0) {
            clearSpte(sslot);
            return;
        }
        long gfnAddr = RadixTable.leafFrameAddress(ge);
        if (RadixTable.leafFrameAddress(se) != gfnAddr) {
            // the guest entry now names another page: KVM's FNAME(sync_spte) drops the spte,
            // the next access faults the new translation in
            clearSpte(sslot);
            return;
        }
        int want = RadixTable.leafEntry(gfnAddr, (ge & RadixTable.LW) != 0);
        if ((se & ~(RadixTable.LA | RadixTable.LD)) != want) {
            // same page, other access rights (e.g. made read-only): the spte follows them
            table.setLeafSlot(sslot, want | (se & (RadixTable.LA | RadixTable.LD)));
        }
    }

    // ---- sptes and the reverse map ----------------------------------------------------------

    /** Writes a level-1 spte ({@code entry} names the gfn) and keeps the rmap in step. */
    private void setSpte(int slot, int entry) {
        int old = table.lf[slot];
        long gfn = entry >>> 4;
        if (old != 0 && (old >>> 4) != gfn) {
            rmap.remove(old >>> 4, slot);
            old = 0;
        }
        table.setLeafSlot(slot, entry);
        if (old == 0) {
            rmap.add(gfn, slot);
        }
    }

    private void clearSpte(int slot) {
        int old = table.lf[slot];
        if (old != 0) {
            rmap.remove(old >>> 4, slot);
            table.clearLeafSlot(slot);
        }
    }

    /** Tables a zap frees drop their registration and their sptes' rmap entries; so do large sptes. */
    private final RadixTable.ZapListener zaps = new RadixTable.ZapListener() {
        @Override
        public void onFree(int level, int id) {
            if (level == 1) {
                int[] lf = table.lf;
                for (int slot = id * ENTRIES, end = slot + ENTRIES; slot < end; slot++) {
                    if (lf[slot] != 0) {
                        rmap.remove(lf[slot] >>> 4, slot);
                    }
                }
            }
            unregister(level, id);
        }

        @Override
        public void onLargeLeaf(int level, int slot, long entry) {
            rmap.removeLarge(level, (entry & ADDR_MASK) >>> 12, slot);
        }
    };

    /**
     * The host changed the frame behind guest frame {@code gfn}: drops every spte that translates
     * it, large ones included (kvm_unmap_gfn_range()); the next access faults the new frame in.
     * Returns how many were dropped: the caller flushes the TLBs if any.
     */
    int zapGfn(long gfn) {
        int n = 0;
        for (int slot : rmap.slots(gfn)) {
            clearSpte(slot);
            n++;
        }
        for (int level = 2; level <= 3; level++) {
            for (int slot : rmap.largeSlots(level, gfn)) {
                table.zapSlot(slot, zaps);
                n++;
            }
        }
        return n;
    }

    /** Whether shadow page {@code id} at {@code level} is the one born at {@code born}, still there. */
    boolean alive(int level, int id, long born) {
        return registered(level, id) && (level == 1 ? lfBorn[id] : upBorn[id]) == born;
    }

    /**
     * Zaps shadow page {@code id} at {@code level} (make_mmu_pages_available() recycling it) unless
     * shadow pages hang below it: in KVM a zapped upper page leaves its children allocated and
     * unlinked until their own turn, which this tree cannot keep. True if it was zapped.
     */
    boolean zapIfChildless(int level, int id) {
        if (level > 1) {
            long[] up = table.up;
            for (int slot = id * ENTRIES, end = slot + ENTRIES; slot < end; slot++) {
                if (up[slot] != 0 && (up[slot] & PS) == 0) {
                    return false;
                }
            }
        }
        table.zapSlot(level == 1 ? table.lfParent[id] : table.upParent[id], zaps);
        return true;
    }

    /**
     * The HPA an spte's entry leads to: sptes name the gfn, the host mapping gives its frame. For
     * tests: asking the engine's host backing may fault the page in.
     */
    long hpaOf(long lookup, long gva) {
        return host.hpa(RadixTable.resolve(lookup, gva));
    }

    /** For tests: the rmap holds exactly the present level-1 sptes, each under its gfn. */
    void checkRmap() {
        long present = 0;
        int[] lf = table.lf;
        for (int slot = 0; slot < lf.length; slot++) {
            if (lf[slot] != 0) {
                present++;
                boolean found = false;
                for (int s : rmap.slots(lf[slot] >>> 4)) {
                    found |= s == slot;
                }
                if (!found) {
                    throw new AssertionError("spte at slot " + slot + " is not in the rmap");
                }
            }
        }
        if (present != rmap.size()) {
            throw new AssertionError("rmap lists " + rmap.size() + " sptes, the table has " + present);
        }
        long[] large = new long[4];
        long[] up = table.up;
        for (int slot = 0; slot < up.length; slot++) {
            long e = up[slot];
            if (e != 0 && (e & PS) != 0) {
                int level = table.upLevel[slot / ENTRIES];
                large[level]++;
                boolean found = false;
                for (int s : rmap.largeSlots(level, (e & ADDR_MASK) >>> 12)) {
                    found |= s == slot;
                }
                if (!found) {
                    throw new AssertionError("large spte at slot " + slot + " is not in the rmap");
                }
            }
        }
        for (int level = 2; level <= 3; level++) {
            if (large[level] != rmap.largeSize(level)) {
                throw new AssertionError("rmap lists " + rmap.largeSize(level) + " large sptes at level " + level
                        + ", the table has " + large[level]);
            }
        }
    }

    /** Java heap of the shadow table and its metadata. */
    long heapBytes() {
        return table.heapBytes() + 21L * (upGfn.length + lfGfn.length) + 4L * unsync.length + rmap.heapBytes();
    }
}
