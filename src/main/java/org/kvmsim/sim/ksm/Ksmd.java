package org.kvmsim.sim.ksm;

import org.kvmsim.sim.view.KsmKnobs;
import org.kvmsim.sim.view.KsmCounters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/*
 * ksmd, Kernel Samepage Merging, as Linux 6.x mm/ksm.c runs it.
 *
 * KSM finds pages with identical contents in memory that was marked mergeable (QEMU marks guest
 * RAM so) and maps them all to one write-protected "KSM page", freeing the copies; a write to
 * it breaks copy-on-write and gives the writer a private copy again.
 *
 * Two trees, both keyed by page content:
 *  - the stable tree holds the KSM pages. They are write-protected, so it can be trusted and it
 *    is never flushed. A node shares its page with at most max_page_sharing mappings; beyond
 *    that more copies ("dups") are made and hang off a "chain" node.
 *  - the unstable tree holds candidate pages that were seen unchanged for one full scan. They
 *    are not protected and may change under the tree, so it is flushed at the start of every
 *    full scan and rebuilt.
 *
 * The scan, one wake-up of ksmd: visit pages_to_scan present pages, one mm_slot (a VM) after
 * the other in the order they registered, each in address order. Every present page gets an
 * rmap_item the first time it is seen (64 bytes, counted in general_profit). For a page that is
 * not a KSM page:
 *  1. checksum it; if the checksum differs from the one recorded at the previous visit (a new
 *     rmap_item starts with 0), record it and stop: the page is volatile. Nothing merges before
 *     the second full scan.
 *  2. use_zero_pages: an all-zero page is replaced by the shared zero page (ksm_zero_pages);
 *     ksmd no longer sees it as present and frees its rmap_item at the next pass.
 *  3. search the stable tree: a node that can take one more sharer absorbs the page.
 *  4. search the unstable tree: on a hit both pages become a new KSM page in the stable tree
 *     (under a chain if full nodes of that content exist); on a miss the page is inserted.
 * A full scan ends at the end of the last mm_slot; the rest of that wake-up's batch is unused.
 * smart_scan: a page that is not a KSM page ages at every visit; from age 3 on it is skipped
 * for 1, then 2, 4 and 8 scans. Skipped pages do not use up pages_to_scan.
 *
 * Knobs (sysfs, default):
 *   run 0 (1 scans, 2 unmerges everything and resets full_scans), pages_to_scan 100,
 *   sleep_millisecs 20, max_page_sharing 256 (>= 2, only while pages_shared = 0),
 *   merge_across_nodes 1 (0: one stable and one unstable tree per NUMA node; only while
 *   pages_shared = 0), use_zero_pages 0, smart_scan 1, stable_node_chains_prune_millisecs 2000,
 *   advisor_mode none|scan-time (advisor_max_cpu 70, advisor_target_scan_time 200 s,
 *   advisor_min_pages_to_scan 500, advisor_max_pages_to_scan 30000; pages_to_scan cannot be
 *   written while the advisor is on).
 *
 * Where the simulation differs from Linux:
 *  - Contents are 64-bit identities, not 4 KiB; the checksum is a 32-bit mix of the identity
 *    (never 0, so a new rmap_item never matches by accident). Both trees are hash tables, which
 *    find the same equal-content node as an rbtree ordered by memcmp would. What the tables do
 *    not reproduce is the walk itself: Linux prunes a stale node, empties or collapses a chain
 *    when any search happens to pass over it in memcmp order. Here a node that may need that
 *    ("dirty": its KSM page was freed, or a chain lost a dup) is pruned at the next stable-tree
 *    search or insert of any content. With few stable nodes Linux's paths cover them within a
 *    scan, so the counters at the end of each full scan agree; mid-scan timing may differ.
 *  - The unstable tree is "corrupted" when a page changes after insertion: a lookup compares the
 *    current content (as memcmp would) and skips a page that no longer matches.
 *  - Stable chain dups are reordered (move to head) only when the chain is walked by a lookup
 *    of its own content or as dirty.
 *  - Pages never fail to merge (no elevated refcounts, locked pages, or allocation failures),
 *    no page migration, no fork. THPs: ksmd scans 4 KiB pages; the engine splits a THP when
 *    one of its pages merges (split_huge_page() in try_to_merge_one_page()), through the
 *    {@link KsmListener} calls that carry every frame change to it.
 *  - Per-VM ksm_merging_pages is corrected lazily for rmap_items of a node pruned as stale (at
 *    their next visit); the global counters are exact.
 *  - ksmd's CPU time is a model: see the COST_ constants.
 */

/**
 * ksmd of one host. The caller drives time: call {@link #wakeUp(long)} every
 * {@code sleep_millisecs} of simulated time while {@link #shouldRun()}; report every guest write
 * to a present page through {@link #onWrite(int, int)}; add a VM's RAM with {@link #addSlot} when
 * it starts and {@link #removeSlot} when it stops.
 */
public final class Ksmd {

    public static final int PAGE_SIZE = 4096;
    /** sizeof(struct ksm_rmap_item) on x86-64, as general_profit counts it. */
    public static final int RMAP_ITEM_SIZE = 64;

    /** Model assumptions for ksmd's CPU time, in nanoseconds. */
    public static final long COST_PAGE_VISIT_NS = 150;   // page-table walk, rmap_item lookup
    public static final long COST_CHECKSUM_NS = 350;     // xxhash of 4 KiB (~12 GB/s)
    public static final long COST_COMPARE_NS = 120;      // one memcmp of two pages in a tree walk
    public static final long COST_MERGE_NS = 2500;       // write-protect, replace pte, TLB flush
    public static final long COST_SKIP_NS = 40;          // smart_scan skip

    // rmap_item state, one int per page
    private static final int HAS_ITEM = 1;
    private static final int STABLE = 1 << 1;      // listed on stable node `ref`
    private static final int UNSTABLE = 1 << 2;    // in the unstable tree; seqnr in SEQ bits
    private static final int MAPS_KSM = 1 << 3;    // the page maps the KSM page of node `ref`
    private static final int ZERO_MAPPED = 1 << 4; // the page maps the zero page (KSM placed)
    private static final int SEQ_SHIFT = 8;
    private static final int AGE_SHIFT = 16;
    private static final int SKIPS_SHIFT = 24;
    private static final int TREE_BITS = STABLE | UNSTABLE;

    /** mm_slots one Ksmd can ever register (the unstable tree packs slot ids in 16 bits). */
    public static final int MAX_SLOTS = 0xFFFF;
    private static final int HEAD = -1;
    private static final int CHAIN = -1024;        // rmap_hlist_len of a chain node, as in Linux
    private static final byte REGULAR = 0, DUP = 1, CHAIN_NODE = 2, DEAD = 3;

    /** One mm_slot: a VM's mergeable RAM and the rmap_items ksmd keeps for it. */
    private static final class Slot {
        final int id;
        final MergeableRegion region;
        final int[] state;
        /** oldchecksum, or the stable node id while STABLE/MAPS_KSM. */
        final int[] ref;
        Slot prev, next;
        boolean exiting, removed;
        long items, merging, zero;

        Slot(int id, MergeableRegion region) {
            this.id = id;
            this.region = region;
            this.state = region == null ? null : new int[region.pages()];
            this.ref = region == null ? null : new int[region.pages()];
        }
    }

    // ---- knobs, from Linux's defaults (KsmSysfs)
    private static final KsmKnobs D = KsmKnobs.DEFAULTS;
    private int run = D.run();
    private int pagesToScan = D.pagesToScan();
    private int sleepMillisecs = D.sleepMillisecs();
    private int maxPageSharing = D.maxPageSharing();
    private boolean mergeAcrossNodes = D.mergeAcrossNodes();
    private boolean useZeroPages = D.useZeroPages();
    private boolean smartScan = D.smartScan();
    private int pruneMillisecs = D.stableNodeChainsPruneMillisecs();
    private boolean advisorOn = !D.advisorMode().equals("none");
    private int advisorMaxCpu = D.advisorMaxCpu();
    private long advisorTargetScanTime = D.advisorTargetScanTime();
    private long advisorMinPagesToScan = D.advisorMinPagesToScan();
    private long advisorMaxPagesToScan = D.advisorMaxPagesToScan();

    // ---- counters
    private long pagesShared, pagesSharing, pagesUnshared, rmapItems, pagesScanned, pagesSkipped;
    private long ksmZeroPages, stableNodeChains, stableNodeDups, seqnr, cpuNanos;
    private long now;

    // ---- advisor state
    private long advisorStartScan, advisorLastScanTime, advisorChange, advisorCpuTime;

    // ---- mm_slots and the scan cursor
    private final Slot head = new Slot(HEAD, null);
    private final List<Slot> slots = new ArrayList<>();
    private Slot cursor = head;
    private int cursorPage;
    private long cursorContent;

    // ---- stable nodes (ids from 1), parallel arrays
    private int nodeCount = 1;
    private long[] nContent = new long[64];
    private int[] nNid = new int[64];
    private int[] nLen = new int[64];          // rmap_hlist_len, CHAIN for chains
    private int[] nMap = new int[64];          // mappings of the KSM page; 0 = freed (stale)
    private byte[] nKind = new byte[64];
    private int[] nChain = new int[64];        // dup: its chain
    private int[] nFirstDup = new int[64];     // chain: first dup (hlist head)
    private int[] nNextDup = new int[64];      // dup: next dup in its chain
    private long[] nPruneTime = new long[64];  // chain: chain_prune_time (ns)
    private final IntTable stable = new IntTable();
    private int[] dirty = new int[16];
    private int dirtyCount;

    // ---- unstable tree for the current full scan
    private final UnstableTable unstable = new UnstableTable();

    private KsmListener listener = KsmListener.NONE;
    private final List<KsmCounters> history = new ArrayList<>();
    private Consumer<KsmCounters> onFullScan = c -> {};

    public Ksmd() {
        head.next = head;
        head.prev = head;
    }

    // =====================================================================================
    // public API: slots, writes, wake-ups
    // =====================================================================================

    /**
     * Registers a VM's RAM (__ksm_enter on MADV_MERGEABLE): inserted just behind the scan cursor
     * (at the end of the list when ksmd is between full scans), ahead of it when run = 2.
     *
     * @return the slot id used by {@link #onWrite} and {@link #removeSlot}
     */
    public int addSlot(MergeableRegion region) {
        if (slots.size() >= MAX_SLOTS) {
            throw new IllegalStateException("more than " + MAX_SLOTS + " mm_slots in one simulation");
        }
        Slot s = new Slot(slots.size(), region);
        slots.add(s);
        // list_add_tail(new, before): just behind the cursor; at the very end when unmerging
        Slot before = (run & 2) != 0 ? head : cursor;
        s.prev = before.prev;
        s.next = before;
        before.prev.next = s;
        before.prev = s;
        return s.id;
    }

    /**
     * The VM stopped (__ksm_exit, then its memory is unmapped): its mappings of KSM pages and of
     * the zero page go at once; its rmap_items stay counted until ksmd next reaches the slot,
     * which is moved right after the cursor.
     */
    public void removeSlot(int slotId) {
        Slot s = slot(slotId);
        if (s.exiting) {
            return;
        }
        for (int p = 0; p < s.state.length; p++) {
            int st = s.state[p];
            if ((st & MAPS_KSM) != 0) {
                unmapKsm(s.ref[p]);
                st &= ~MAPS_KSM;
            } else if ((st & ZERO_MAPPED) != 0) {
                ksmZeroPages--;
                s.zero--;
                st &= ~ZERO_MAPPED;
            }
            s.state[p] = st;
        }
        s.exiting = true;
        if (cursor == s) {
            return;
        }
        unlink(s);
        if (s.items == 0) {
            s.removed = true;
            return;
        }
        // list_move: right after the cursor, so ksmd frees it next
        s.prev = cursor;
        s.next = cursor.next;
        cursor.next.prev = s;
        cursor.next = s;
    }

    /** Copy-on-write outcome of a guest write, for the MMU to price. */
    public enum Cow { NONE, KSM_PAGE, ZERO_PAGE }

    /**
     * A guest write to a present page (the engine changes the content itself, before or after).
     * A page mapping a KSM page or the KSM zero page gets a private copy; the KSM page loses a
     * mapping (and is freed when it had no other). The sysfs counters do not change until ksmd
     * visits the page's rmap_item again, except ksm_zero_pages, which drops at once.
     */
    public Cow onWrite(int slotId, int page) {
        Slot s = slot(slotId);
        int st = s.state[page];
        if ((st & MAPS_KSM) != 0) {
            s.state[page] = st & ~MAPS_KSM;
            unmapKsm(s.ref[page]);
            return Cow.KSM_PAGE;
        }
        if ((st & ZERO_MAPPED) != 0) {
            s.state[page] = st & ~ZERO_MAPPED;
            ksmZeroPages--;
            s.zero--;
            return Cow.ZERO_PAGE;
        }
        return Cow.NONE;
    }

    /** Whether the page currently maps a KSM page or the KSM zero page. */
    public boolean isMerged(int slotId, int page) {
        return (slot(slotId).state[page] & (MAPS_KSM | ZERO_MAPPED)) != 0;
    }

    /** Whether ksmd holds the page in a tree or merged (an rmap_item it will follow up). */
    public boolean holds(int slotId, int page) {
        return (slot(slotId).state[page] & (TREE_BITS | MAPS_KSM | ZERO_MAPPED)) != 0;
    }

    /**
     * Whether the page maps a KSM page that is mapped elsewhere too: folio_maybe_mapped_shared()
     * of a small folio (mapcount above 1), what khugepaged counts against max_ptes_shared.
     */
    public boolean mapsSharedKsmPage(int slotId, int page) {
        Slot s = slot(slotId);
        return (s.state[page] & MAPS_KSM) != 0 && nMap[s.ref[page]] > 1;
    }

    /** ksmd_should_run(): run = 1 and at least one mm_slot. */
    public boolean shouldRun() {
        return (run & 1) != 0 && head.next != head;
    }

    /**
     * One wake-up of ksmd at simulated time {@code nowNanos}: scans up to pages_to_scan pages
     * (ksm_do_scan). Returns the number of pages scanned.
     */
    public int wakeUp(long nowNanos) {
        return scan(nowNanos, pagesToScan);
    }

    /**
     * Part of a wake-up: scans up to {@code pages} pages, so a wake-up of a large pages_to_scan
     * can be made in chunks (the engine looks for an interrupt between them). A wake-up made of
     * chunks that add up to pages_to_scan scans exactly what one call would.
     */
    public int scan(long nowNanos, int pages) {
        now = nowNanos;
        if (!shouldRun()) {
            return 0;
        }
        int scanned = 0;
        for (int budget = pages; budget > 0; budget--) {
            if (!nextItem()) {
                break;
            }
            cmpAndMerge(cursor, cursorPage - 1);
            pagesScanned++;
            scanned++;
        }
        return scanned;
    }

    public void setListener(KsmListener listener) {
        this.listener = listener == null ? KsmListener.NONE : listener;
    }

    /** Called with the counters at the end of every full scan (after {@link #history()} grew). */
    public void onFullScan(Consumer<KsmCounters> consumer) {
        this.onFullScan = consumer == null ? c -> {} : consumer;
    }

    /** The counters at the end of every full scan so far. */
    public List<KsmCounters> history() {
        return List.copyOf(history);
    }

    public KsmCounters counters() {
        long volatilePages = Math.max(0, rmapItems - pagesShared - pagesSharing - pagesUnshared);
        long profit = (pagesSharing + ksmZeroPages) * PAGE_SIZE - rmapItems * RMAP_ITEM_SIZE;
        return new KsmCounters(seqnr, pagesScanned, pagesShared, pagesSharing, pagesUnshared,
                volatilePages, pagesSkipped, ksmZeroPages, stableNodeChains, stableNodeDups, profit,
                rmapItems, now, cpuNanos);
    }

    /** /proc/PID/ksm_stat of one VM: rmap_items, merging pages, KSM zero pages. */
    public long[] slotStat(int slotId) {
        Slot s = slot(slotId);
        return new long[] {s.items, s.merging, s.zero};
    }

    // =====================================================================================
    // knobs, with sysfs's rules
    // =====================================================================================

    public KsmKnobs knobs() {
        return new KsmKnobs(run, pagesToScan, sleepMillisecs, maxPageSharing, mergeAcrossNodes,
                useZeroPages, smartScan, pruneMillisecs, advisorOn ? "scan-time" : "none",
                advisorMaxCpu, advisorTargetScanTime, advisorMinPagesToScan, advisorMaxPagesToScan);
    }

    /** Writes a knob by its sysfs name, as {@code echo value > /sys/kernel/mm/ksm/name} would. */
    public void set(String knob, String value) {
        switch (knob) {
            case "run" -> setRun((int) number(value, 0, 2));
            case "pages_to_scan" -> setPagesToScan((int) number(value, 0, 0xFFFF_FFFFL));
            case "sleep_millisecs" -> sleepMillisecs = (int) number(value, 0, 0xFFFF_FFFFL);
            case "max_page_sharing" -> setMaxPageSharing((int) number(value, Integer.MIN_VALUE, Integer.MAX_VALUE));
            case "merge_across_nodes" -> setMergeAcrossNodes(number(value, 0, 1) == 1);
            case "use_zero_pages" -> useZeroPages = bool(value);
            case "smart_scan" -> smartScan = bool(value);
            case "stable_node_chains_prune_millisecs" -> pruneMillisecs = (int) number(value, 0, 0xFFFF_FFFFL);
            case "advisor_mode" -> setAdvisorMode(value);
            case "advisor_max_cpu" -> advisorMaxCpu = (int) number(value, 0, Integer.MAX_VALUE);
            case "advisor_target_scan_time" -> advisorTargetScanTime = number(value, 1, Long.MAX_VALUE);
            case "advisor_min_pages_to_scan" -> advisorMinPagesToScan = number(value, 0, Long.MAX_VALUE);
            case "advisor_max_pages_to_scan" -> advisorMaxPagesToScan = number(value, 0, Long.MAX_VALUE);
            default -> throw new KsmKnobException("EINVAL", "no KSM knob '" + knob + "'");
        }
    }

    public void setRun(int flags) {
        if (flags < 0 || flags > 2) {
            throw new KsmKnobException("EINVAL", "run must be 0, 1 or 2");
        }
        if (run != flags) {
            run = flags;
            if (flags == 2) {
                unmergeAndRemoveAllRmapItems();
            }
        }
    }

    public void setPagesToScan(int pages) {
        if (advisorOn) {
            throw new KsmKnobException("EINVAL", "pages_to_scan is set by the advisor");
        }
        pagesToScan = pages;
    }

    public void setSleepMillisecs(int ms) {
        sleepMillisecs = ms;
    }

    public void setMaxPageSharing(int knob) {
        if (knob < 2) {
            throw new KsmKnobException("EINVAL", "max_page_sharing must be at least 2");
        }
        if (knob == maxPageSharing) {
            return;
        }
        if (pagesShared != 0 || !removeAllStableNodes()) {
            throw new KsmKnobException("EBUSY", "max_page_sharing cannot change while pages are shared");
        }
        maxPageSharing = knob;
    }

    public void setMergeAcrossNodes(boolean across) {
        if (across == mergeAcrossNodes) {
            return;
        }
        if (pagesShared != 0 || !removeAllStableNodes()) {
            throw new KsmKnobException("EBUSY", "merge_across_nodes cannot change while pages are shared");
        }
        mergeAcrossNodes = across;
    }

    public void setUseZeroPages(boolean on) {
        useZeroPages = on;
    }

    public void setSmartScan(boolean on) {
        smartScan = on;
    }

    public void setStableNodeChainsPruneMillisecs(int ms) {
        pruneMillisecs = ms;
    }

    public void setAdvisorMode(String mode) {
        boolean scanTime = switch (mode.strip()) {
            case "scan-time" -> true;
            case "none" -> false;
            default -> throw new KsmKnobException("EINVAL", "advisor_mode is none or scan-time");
        };
        if (scanTime != advisorOn) {
            advisorOn = scanTime;
            if (scanTime) { // set_advisor_defaults()
                advisorStartScan = 0;
                advisorLastScanTime = 0;
                advisorChange = 0;
                advisorCpuTime = 0;
                pagesToScan = (int) advisorMinPagesToScan;
            } else {
                pagesToScan = 100;
            }
        }
    }

    public void setAdvisorMaxCpu(int pct) {
        advisorMaxCpu = pct;
    }

    public void setAdvisorTargetScanTime(long seconds) {
        if (seconds < 1) {
            throw new KsmKnobException("EINVAL", "advisor_target_scan_time must be at least 1");
        }
        advisorTargetScanTime = seconds;
    }

    public void setAdvisorMinPagesToScan(long pages) {
        advisorMinPagesToScan = pages;
    }

    public void setAdvisorMaxPagesToScan(long pages) {
        advisorMaxPagesToScan = pages;
    }

    private static long number(String v, long min, long max) {
        try {
            long x = Long.parseLong(v.strip());
            if (x < min || x > max) {
                throw new KsmKnobException("EINVAL", "value out of range: " + v);
            }
            return x;
        } catch (NumberFormatException e) {
            throw new KsmKnobException("EINVAL", "not a number: " + v);
        }
    }

    private static boolean bool(String v) {
        return switch (v.strip().toLowerCase(Locale.ROOT)) {
            case "1", "y", "yes", "on", "true" -> true;
            case "0", "n", "no", "off", "false" -> false;
            default -> throw new KsmKnobException("EINVAL", "not a boolean: " + v);
        };
    }

    // =====================================================================================
    // the scan (scan_get_next_rmap_item)
    // =====================================================================================

    /**
     * Advances the cursor to the next present page that is not skipped, creating its rmap_item;
     * leaves cursorPage just past it. Returns false when a full scan ended (or nothing to scan).
     */
    private boolean nextItem() {
        if (head.next == head) {
            return false;
        }
        if (cursor == head) {
            advisorStartScan();
            // the unstable tree of this scan holds at most the rmap_items not in the stable tree
            // (plus pages present for the first time): size it for them now, not by rehashing
            unstable.clear(rmapItems - pagesShared - pagesSharing);
            cursor = head.next;
            cursorPage = 0;
            prefetchNext = 0;
            if (cursor == head) {
                return false;
            }
        }
        while (true) {
            Slot s = cursor;
            if (!s.exiting) {
                MergeableRegion region = s.region;
                int[] state = s.state;
                int n = state.length;
                while (cursorPage < n) {
                    int p = cursorPage++;
                    while (p >= prefetchNext - PREFETCH && prefetchNext < n) {
                        prefetch(s, prefetchNext, Math.min(n, prefetchNext + PREFETCH));
                        prefetchNext += PREFETCH;
                    }
                    int st = state[p];
                    long c = region.content(p);
                    if ((st & ZERO_MAPPED) != 0 || c == MergeableRegion.ABSENT) {
                        if ((st & HAS_ITEM) != 0) {
                            removeFromTree(s, p);
                            freeItem(s, p);
                        }
                        continue;
                    }
                    cpuNanos += COST_PAGE_VISIT_NS;
                    if ((st & HAS_ITEM) == 0) {
                        state[p] = HAS_ITEM;
                        s.ref[p] = 0;
                        s.items++;
                        rmapItems++;
                    }
                    if (smartScan && shouldSkip(s, p)) {
                        continue;
                    }
                    cursorContent = c;
                    return true;
                }
            } else {
                for (int p = 0; p < s.state.length; p++) {
                    if ((s.state[p] & HAS_ITEM) != 0) {
                        removeFromTree(s, p);
                        freeItem(s, p);
                    }
                }
            }
            Slot next = s.next;
            if (s.exiting) {
                unlink(s);
                s.removed = true;
            }
            cursor = next;
            prefetchNext = 0;
            if (cursor != head) {
                cursorPage = 0;
                continue;
            }
            advisorStopScan();
            seqnr++;
            KsmCounters c = counters();
            history.add(c);
            onFullScan.accept(c);
            return false;
        }
    }

    /** Pages a prefetch batch covers, and how far ahead of the cursor it runs. */
    private static final int PREFETCH = 16;
    /** The first page of the cursor's slot not prefetched yet. */
    private int prefetchNext;
    private long prefetchSink;

    /**
     * Touches what pages [from, to) will probe, for every page that will reach the trees (not a
     * KSM page, checksum unchanged), before any of them is processed: its stable-table slot, and
     * then the stable node it names when the slot's fingerprint matches (a merge is coming), else
     * its unstable-table slot (most pages that miss the stable tree go there). The loads are
     * independent across pages, so the CPU overlaps their cache misses instead of taking them one
     * at a time inside the search. Changes nothing (the sum only keeps the JIT from dropping the
     * loads).
     */
    private void prefetch(Slot s, int from, int to) {
        long[] ut = unstable.table;
        int um = ut.length - 1;
        long[] stt = stable.table;
        int sm = stt.length - 1;
        int[] state = s.state;
        int[] ref = s.ref;
        MergeableRegion region = s.region;
        long sink = 0;
        for (int q = from; q < to; q++) {
            if ((state[q] & (MAPS_KSM | ZERO_MAPPED)) != 0) {
                continue;
            }
            long c = region.content(q);
            if (c == MergeableRegion.ABSENT || ref[q] != checksum(c)) {
                continue;
            }
            long h = mix(c, mergeAcrossNodes ? 0 : region.node(q));
            long se = stt[(int) h & sm];
            if (se != 0 && ((se ^ h) & 0xFFFF_FFFF_0000_0000L) == 0) {
                // most likely a stable-tree hit (a merge): its node, not the unstable tree, is next
                sink += nLen[(int) se];
            } else {
                sink += ut[(int) h & um];
            }
        }
        prefetchSink += sink;
    }

    /** should_skip_rmap_item(): smart_scan ageing. */
    private boolean shouldSkip(Slot s, int p) {
        int st = s.state[p];
        if ((st & MAPS_KSM) != 0) {
            return false;
        }
        int age = (st >>> AGE_SHIFT) & 0xFF;
        if (age != 0xFF) {
            st = (st & ~(0xFF << AGE_SHIFT)) | ((age + 1) << AGE_SHIFT);
        }
        if (age < 3) {
            s.state[p] = st;
            return false;
        }
        int skips = (st >>> SKIPS_SHIFT) & 0xFF;
        if (skips == 0) {
            s.state[p] = (st & ~(0xFF << SKIPS_SHIFT)) | (skipAge(age) << SKIPS_SHIFT);
            return false;
        }
        s.state[p] = (st & ~(0xFF << SKIPS_SHIFT)) | ((skips - 1) << SKIPS_SHIFT);
        pagesSkipped++;
        cpuNanos += COST_SKIP_NS;
        removeFromTree(s, p);
        return true;
    }

    private static int skipAge(int age) {
        if (age <= 3) {
            return 1;
        }
        if (age <= 5) {
            return 2;
        }
        return age <= 8 ? 4 : 8;
    }

    private void freeItem(Slot s, int p) {
        s.state[p] &= ZERO_MAPPED | MAPS_KSM;
        s.items--;
        rmapItems--;
    }

    // =====================================================================================
    // cmp_and_merge_page
    // =====================================================================================

    private void cmpAndMerge(Slot s, int p) {
        int st = s.state[p];
        if ((st & MAPS_KSM) != 0) {
            return; // already merged: rmap_item->head is the page's stable node
        }
        removeFromTree(s, p);
        long content = cursorContent;
        int checksum = checksum(content);
        cpuNanos += COST_CHECKSUM_NS;
        if (s.ref[p] != checksum) {
            s.ref[p] = checksum;
            return;
        }
        if (useZeroPages && checksum == ZERO_CHECKSUM && content == MergeableRegion.ZERO) {
            s.state[p] |= ZERO_MAPPED;
            ksmZeroPages++;
            s.zero++;
            cpuNanos += COST_MERGE_NS;
            listener.merged(s.id, p, KsmListener.ZERO_PAGE);
            return;
        }
        int nid = mergeAcrossNodes ? 0 : s.region.node(p);
        int dup = stableTreeSearch(content, nid);
        if (dup != 0) {
            cpuNanos += COST_MERGE_NS;
            nMap[dup]++;
            stableTreeAppend(s, p, dup);
            listener.merged(s.id, p, dup);
            return;
        }
        cpuNanos += COST_COMPARE_NS * depth(unstable.size());
        long treeRef = unstable.searchInsert(content, nid, ((long) s.id << 32) | p);
        if (treeRef < 0) {
            s.state[p] = (s.state[p] & ~(0xFF << SEQ_SHIFT)) | UNSTABLE | (int) ((seqnr & 0xFF) << SEQ_SHIFT);
            pagesUnshared++;
            return;
        }
        Slot ts = slots.get((int) (treeRef >>> 32));
        int tp = (int) treeRef;
        if (listener.splitFailsOnMerge(s.id, p, ts.id, tp)) {
            // try_to_merge_one_page() -> split_folio() failed: nothing merges, the tree page stays
            // in the unstable tree and the scanned page is in no tree (volatile) until its next visit
            cpuNanos += COST_MERGE_NS;
            return;
        }
        cpuNanos += 2 * COST_MERGE_NS;
        removeFromTree(ts, tp);
        int node = stableTreeInsert(content, nid);
        nMap[node] = 2;
        stableTreeAppend(ts, tp, node);
        stableTreeAppend(s, p, node);
        // try_to_merge_two_pages(): the scanned page becomes the KSM page, the tree page maps it
        listener.kpageCreated(node);
        listener.merged(s.id, p, node);
        listener.merged(ts.id, tp, node);
    }

    private boolean unstableValid(long ref, long content, int nid) {
        int sid = (int) (ref >>> 32);
        int p = (int) ref;
        Slot s = slots.get(sid);
        if (s.removed || s.exiting) {
            return false;
        }
        int st = s.state[p];
        if ((st & UNSTABLE) == 0 || ((st >>> SEQ_SHIFT) & 0xFF) != (seqnr & 0xFF)) {
            return false;
        }
        if (s.region.content(p) != content) {
            return false;
        }
        return mergeAcrossNodes || s.region.node(p) == nid;
    }

    /** stable_tree_append(): the rmap_item joins the node's hlist. */
    private void stableTreeAppend(Slot s, int p, int node) {
        if (nLen[node]++ == 0) {
            pagesShared++;
        } else {
            pagesSharing++;
        }
        s.merging++;
        s.state[p] = (s.state[p] & ~(TREE_BITS | (0xFF << SEQ_SHIFT))) | STABLE | MAPS_KSM;
        s.ref[p] = node;
    }

    /** remove_rmap_item_from_tree(). */
    private void removeFromTree(Slot s, int p) {
        int st = s.state[p];
        if ((st & STABLE) != 0) {
            int node = s.ref[p];
            s.state[p] = st & ~STABLE;
            s.ref[p] = checksum(nContent[node]);
            if (nKind[node] == DEAD) {
                s.merging--; // its counters went when the node was pruned
                return;
            }
            if (nMap[node] == 0) { // ksm_get_folio finds the page freed
                s.merging--;
                removeNode(node);
                return;
            }
            if (--nLen[node] > 0) {
                pagesSharing--;
            } else {
                pagesShared--;
            }
            s.merging--;
        } else if ((st & UNSTABLE) != 0) {
            pagesUnshared--;
            s.state[p] = st & ~(UNSTABLE | (0xFF << SEQ_SHIFT));
        }
    }

    /** A page stopped mapping the KSM page of {@code node}; the page is freed with its last mapping. */
    private void unmapKsm(int node) {
        if (--nMap[node] == 0) {
            listener.kpageFreed(node);
            markDirty(nKind[node] == DUP ? nChain[node] : node);
        }
    }

    // =====================================================================================
    // the stable tree
    // =====================================================================================

    private boolean candidate(int node, int offset) {
        return nLen[node] > 0 && nLen[node] + offset < maxPageSharing;
    }

    /** stable_tree_search(): a dup that can take one more sharer, or 0. */
    private int stableTreeSearch(long content, int nid) {
        pruneDirty();
        cpuNanos += COST_COMPARE_NS * depth(stable.size());
        while (true) {
            int top = stable.find(content, nid, nContent, nNid);
            if (top == 0) {
                return 0;
            }
            int dup;
            if (nKind[top] == CHAIN_NODE) {
                dup = stableNodeDup(top, true);
                if (dup == 0) {
                    continue; // chain freed
                }
            } else {
                if (nMap[top] == 0) {
                    removeNode(top);
                    continue;
                }
                dup = top;
            }
            return candidate(dup, 0) ? dup : 0;
        }
    }

    /** stable_tree_insert(): a new node for a new KSM page, under a chain if needed. */
    private int stableTreeInsert(long content, int nid) {
        pruneDirty();
        cpuNanos += COST_COMPARE_NS * depth(stable.size());
        int top;
        while (true) {
            top = stable.find(content, nid, nContent, nNid);
            if (top == 0) {
                break;
            }
            if (nKind[top] == CHAIN_NODE) {
                if (stableNodeDup(top, false) == 0) {
                    continue;
                }
                top = stable.find(content, nid, nContent, nNid); // may have collapsed
                break;
            }
            if (nMap[top] == 0) {
                removeNode(top);
                continue;
            }
            break;
        }
        int node = allocNode(content, nid, REGULAR);
        if (top == 0) {
            stable.insert(node, nContent, nNid);
            return node;
        }
        int chain = top;
        if (nKind[top] != CHAIN_NODE) {
            chain = allocNode(content, nid, CHAIN_NODE);
            nLen[chain] = CHAIN;
            nPruneTime[chain] = now;
            stableNodeChains++;
            stable.replace(top, chain, nContent, nNid);
            chainAddDup(top, chain);
        }
        chainAddDup(node, chain);
        return node;
    }

    /** stable_node_dup(): picks the dup of a chain to share, pruning stale dups on the way. */
    private int stableNodeDup(int chain, boolean prune) {
        if (!prune || now < nPruneTime[chain] + pruneMillisecs * 1_000_000L) {
            prune = false;
        } else {
            nPruneTime[chain] = now;
        }
        int found = 0;
        int foundLen = 0;
        int dup = nFirstDup[chain];
        while (dup != 0) {
            int next = nNextDup[dup];
            if (nMap[dup] == 0) {
                removeNode(dup);
            } else if (found == 0 || (candidate(dup, 0) && (!candidate(found, 0) || nLen[dup] > foundLen))) {
                found = dup;
                foundLen = nLen[dup];
                if (!prune && candidate(found, 0)) {
                    break;
                }
            }
            dup = next;
        }
        if (found == 0) {
            stable.remove(chain, nContent, nNid);
            nKind[chain] = DEAD;
            stableNodeChains--;
            return 0;
        }
        if (nFirstDup[chain] == found && nNextDup[found] == 0) {
            // one dup left: the chain collapses into a regular node
            stable.replace(chain, found, nContent, nNid);
            nKind[chain] = DEAD;
            nKind[found] = REGULAR;
            nFirstDup[chain] = 0;
            stableNodeChains--;
            stableNodeDups--;
        } else if (nFirstDup[chain] != found && candidate(found, 1)) {
            unlinkDup(found, chain);
            nNextDup[found] = nFirstDup[chain];
            nFirstDup[chain] = found;
        }
        return found;
    }

    private void chainAddDup(int dup, int chain) {
        nKind[dup] = DUP;
        nChain[dup] = chain;
        nNextDup[dup] = nFirstDup[chain];
        nFirstDup[chain] = dup;
        stableNodeDups++;
    }

    private void unlinkDup(int dup, int chain) {
        int prev = 0;
        for (int d = nFirstDup[chain]; d != 0; prev = d, d = nNextDup[d]) {
            if (d == dup) {
                if (prev == 0) {
                    nFirstDup[chain] = nNextDup[d];
                } else {
                    nNextDup[prev] = nNextDup[d];
                }
                nNextDup[d] = 0;
                return;
            }
        }
    }

    /** remove_node_from_stable_tree(): the KSM page is gone; all its rmap_items leave. */
    private void removeNode(int node) {
        int len = nLen[node];
        if (len > 0) {
            pagesShared--;
            pagesSharing -= len - 1;
        }
        nLen[node] = 0;
        if (nKind[node] == DUP) {
            int chain = nChain[node];
            unlinkDup(node, chain);
            stableNodeDups--;
            markDirty(chain);
        } else if (nKind[node] == REGULAR) {
            stable.remove(node, nContent, nNid);
        }
        nKind[node] = DEAD;
    }

    private void markDirty(int top) {
        if (dirtyCount == dirty.length) {
            dirty = Arrays.copyOf(dirty, dirtyCount * 2);
        }
        dirty[dirtyCount++] = top;
    }

    /** What Linux's rbtree walks would do to stale nodes and thinned chains (see header). */
    private void pruneDirty() {
        while (dirtyCount > 0) {
            int top = dirty[--dirtyCount];
            byte kind = nKind[top];
            if (kind == REGULAR && nMap[top] == 0) {
                removeNode(top);
            } else if (kind == CHAIN_NODE) {
                stableNodeDup(top, true);
            }
        }
    }

    private boolean removeAllStableNodes() {
        for (int n = 1; n < nodeCount; n++) {
            if (nKind[n] != DEAD && nKind[n] != CHAIN_NODE && nMap[n] > 0) {
                return false;
            }
        }
        for (int n = 1; n < nodeCount; n++) {
            if (nKind[n] == DUP || nKind[n] == REGULAR) {
                removeNode(n);
            }
        }
        for (int n = 1; n < nodeCount; n++) {
            if (nKind[n] == CHAIN_NODE) {
                stable.remove(n, nContent, nNid);
                nKind[n] = DEAD;
                stableNodeChains--;
            }
        }
        dirtyCount = 0;
        return true;
    }

    private int allocNode(long content, int nid, byte kind) {
        if (nodeCount == nContent.length) {
            int cap = nodeCount * 2;
            nContent = Arrays.copyOf(nContent, cap);
            nNid = Arrays.copyOf(nNid, cap);
            nLen = Arrays.copyOf(nLen, cap);
            nMap = Arrays.copyOf(nMap, cap);
            nKind = Arrays.copyOf(nKind, cap);
            nChain = Arrays.copyOf(nChain, cap);
            nFirstDup = Arrays.copyOf(nFirstDup, cap);
            nNextDup = Arrays.copyOf(nNextDup, cap);
            nPruneTime = Arrays.copyOf(nPruneTime, cap);
        }
        int id = nodeCount++;
        nContent[id] = content;
        nNid[id] = nid;
        nKind[id] = kind;
        return id;
    }

    // =====================================================================================
    // run = 2
    // =====================================================================================

    /** unmerge_and_remove_all_rmap_items(): break every merge, free every rmap_item. */
    private void unmergeAndRemoveAllRmapItems() {
        for (Slot s = head.next; s != head; ) {
            Slot next = s.next;
            for (int p = 0; p < s.state.length; p++) {
                int st = s.state[p];
                if ((st & MAPS_KSM) != 0) {
                    s.state[p] = st & ~MAPS_KSM;
                    unmapKsm(s.ref[p]);
                    listener.unmerged(s.id, p);
                } else if ((st & ZERO_MAPPED) != 0) {
                    s.state[p] = st & ~ZERO_MAPPED;
                    ksmZeroPages--;
                    s.zero--;
                    listener.unmerged(s.id, p);
                }
                if ((s.state[p] & HAS_ITEM) != 0) {
                    removeFromTree(s, p);
                    freeItem(s, p);
                }
            }
            if (s.exiting) {
                unlink(s);
                s.removed = true;
            }
            s = next;
        }
        removeAllStableNodes();
        cursor = head;
        seqnr = 0;
    }

    // =====================================================================================
    // advisor (scan-time)
    // =====================================================================================

    private void advisorStartScan() {
        if (advisorOn) {
            advisorStartScan = now;
        }
    }

    /** scan_time_advisor(): adapts pages_to_scan so a full scan takes the target time. */
    private void advisorStopScan() {
        if (!advisorOn) {
            return;
        }
        long scanTime = Math.max(1, (now - advisorStartScan) / 1_000_000_000L);
        long cpuDiffMs = (cpuNanos - advisorCpuTime) / 1_000_000L;
        long cpuPercent = Math.max(1, cpuDiffMs * 100 / (scanTime * 1000));
        long lastScanTime = advisorLastScanTime != 0 ? advisorLastScanTime : scanTime;
        long factor = Math.max(1, advisorTargetScanTime * 100 / scanTime);
        long change = Math.max(1, scanTime * 100 / lastScanTime);
        change = ((100 - 30) * advisorChange + 30 * change) / 100;
        long pages = (long) pagesToScan * 100 / factor;
        pages = pages * change / 100;
        long perPageCost = Math.max(1, pagesToScan / cpuPercent);
        pages = Math.min(pages, perPageCost * advisorMaxCpu);
        pages = Math.max(pages, perPageCost * 10);
        pages = Math.min(pages, advisorMaxPagesToScan);
        advisorChange = change;
        advisorLastScanTime = scanTime;
        advisorCpuTime = cpuNanos;
        pagesToScan = (int) pages;
    }

    // =====================================================================================
    // helpers
    // =====================================================================================

    static final int ZERO_CHECKSUM = checksum(MergeableRegion.ZERO);

    /** The 32-bit checksum of a content identity (xxhash of the page in Linux); never 0. */
    static int checksum(long content) {
        long z = content * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 32)) * 0xD6E8FEB86659FD93L;
        int c = (int) (z ^ (z >>> 32));
        return c == 0 ? 1 : c;
    }

    /** Comparisons of an rbtree walk over n nodes. */
    private static int depth(long n) {
        return 64 - Long.numberOfLeadingZeros(n + 1);
    }

    private Slot slot(int id) {
        Slot s = slots.get(id);
        if (s.removed) {
            throw new IllegalArgumentException("mm_slot " + id + " was removed");
        }
        return s;
    }

    private void unlink(Slot s) {
        s.prev.next = s.next;
        s.next.prev = s.prev;
    }

    long cpuNanos() {
        return cpuNanos;
    }

    // =====================================================================================
    // open-addressing tables
    // =====================================================================================

    static long mix(long content, int nid) {
        long z = (content ^ ((long) nid << 56 | nid)) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 32)) * 0xD6E8FEB86659FD93L;
        return z ^ (z >>> 29);
    }

    /**
     * Stable tree: (content, nid) -> top node id; keys live in the node arrays. An entry packs
     * 32 bits of the key's hash above the node id, so a probe that misses (most pages are in no
     * stable node) reads only the table, never the node arrays. Load at most 1/2.
     */
    static final class IntTable {
        long[] table = new long[64]; // 0 = empty; node ids start at 1
        private int size;

        int size() {
            return size;
        }

        private static long entry(long h, int node) {
            return (h & 0xFFFF_FFFF_0000_0000L) | node;
        }

        int find(long content, int nid, long[] keys, int[] nids) {
            long[] t = table;
            int mask = t.length - 1;
            long h = mix(content, nid);
            long fp = h & 0xFFFF_FFFF_0000_0000L;
            for (int i = (int) h & mask; ; i = (i + 1) & mask) {
                long e = t[i];
                if (e == 0) {
                    return 0;
                }
                if ((e & 0xFFFF_FFFF_0000_0000L) == fp) {
                    int n = (int) e;
                    if (keys[n] == content && nids[n] == nid) {
                        return n;
                    }
                }
            }
        }

        void insert(int node, long[] keys, int[] nids) {
            if ((size + 1) * 2 > table.length) {
                long[] old = table;
                table = new long[old.length * 2];
                for (long e : old) {
                    if (e != 0) {
                        place((int) e, keys, nids);
                    }
                }
            }
            place(node, keys, nids);
            size++;
        }

        private void place(int node, long[] keys, int[] nids) {
            long[] t = table;
            int mask = t.length - 1;
            long h = mix(keys[node], nids[node]);
            int i = (int) h & mask;
            while (t[i] != 0) {
                i = (i + 1) & mask;
            }
            t[i] = entry(h, node);
        }

        void replace(int oldNode, int newNode, long[] keys, int[] nids) {
            int i = indexOf(oldNode, keys, nids);
            table[i] = (table[i] & 0xFFFF_FFFF_0000_0000L) | newNode;
        }

        private int indexOf(int node, long[] keys, int[] nids) {
            long[] t = table;
            int mask = t.length - 1;
            for (int i = (int) mix(keys[node], nids[node]) & mask; ; i = (i + 1) & mask) {
                if (t[i] != 0 && (int) t[i] == node) {
                    return i;
                }
                if (t[i] == 0) {
                    throw new IllegalStateException("stable node " + node + " not in tree");
                }
            }
        }

        /** Removal with backward shift, so no tombstones. */
        void remove(int node, long[] keys, int[] nids) {
            long[] t = table;
            int mask = t.length - 1;
            int i = indexOf(node, keys, nids);
            t[i] = 0;
            size--;
            for (int j = (i + 1) & mask; t[j] != 0; j = (j + 1) & mask) {
                long e = t[j];
                int n = (int) e;
                int home = (int) mix(keys[n], nids[n]) & mask;
                // move n into the hole if its home is not in (i, j]
                if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
                    t[i] = e;
                    t[j] = 0;
                    i = j;
                }
            }
        }
    }

    /**
     * Unstable tree of one full scan: (content, nid) -> rmap_item. An entry packs a 16-bit
     * fingerprint of the key, the slot id (16 bits) and the page (32 bits), so most probes that
     * miss never touch the pages. Keys are the pages' current contents: a page changed since
     * insertion no longer matches, as memcmp would find. Entries are never deleted, only
     * invalidated; the table is emptied when a full scan starts.
     */
    final class UnstableTable {
        long[] table = new long[1024]; // 0 = empty
        private int used;
        private long size;

        long size() {
            return size;
        }

        /**
         * Empties the table for a full scan expected to insert up to {@code expected} pages: the
         * table is grown to the next power of two at or above it (at most 2^30 entries; growing
         * by rehash remains for pages beyond 3/4 of that), or shrunk when four times too large.
         */
        void clear(long expected) {
            long want = Long.highestOneBit(Math.max(1024, Math.min(1L << 30, expected)) - 1) << 1;
            if (want > table.length || want * 4 < table.length) {
                table = new long[(int) want];
            } else if (used > 0) {
                Arrays.fill(table, 0);
            }
            used = 0;
            size = 0;
        }

        /**
         * unstable_tree_search_insert(): the rmap_item (slot << 32 | page) of a valid match, or
         * -1 after inserting {@code ref}, in one probe sequence.
         */
        long searchInsert(long content, int nid, long ref) {
            if ((used + 1L) * 4 > table.length * 3L) {
                grow();
            }
            long[] t = table;
            int mask = t.length - 1;
            long h = mix(content, nid);
            long fp = (h >>> 48) | 1;
            for (int i = (int) h & mask; ; i = (i + 1) & mask) {
                long e = t[i];
                if (e == 0) {
                    t[i] = fp << 48 | ref;
                    used++;
                    size++;
                    return -1;
                }
                if ((e >>> 48) == fp) {
                    long r = e & 0xFFFF_FFFF_FFFFL;
                    if (unstableValid(r, content, nid)) {
                        return r;
                    }
                }
            }
        }

        /**
         * Grows fourfold (fewer rehashes of a table that reaches hundreds of millions of
         * entries), dropping entries no longer in the tree. Entries are rehashed in batches:
         * first every page's content is read, then every target slot touched, then placed, so
         * the cache misses of a batch overlap.
         */
        private void grow() {
            long[] old = table;
            long[] t = new long[old.length * 4];
            table = t;
            used = 0;
            long[] batch = new long[64];
            long[] hashes = new long[64];
            int k = 0;
            for (long e : old) {
                if (e != 0) {
                    batch[k++] = e;
                    if (k == batch.length) {
                        rehash(batch, hashes, k, t);
                        k = 0;
                    }
                }
            }
            rehash(batch, hashes, k, t);
        }

        private void rehash(long[] batch, long[] hashes, int k, long[] t) {
            int mask = t.length - 1;
            for (int j = 0; j < k; j++) {
                long ref = batch[j] & 0xFFFF_FFFF_FFFFL;
                Slot s = slots.get((int) (ref >>> 32));
                int p = (int) ref;
                if (s.removed || (s.state[p] & UNSTABLE) == 0) {
                    batch[j] = 0;
                    continue;
                }
                hashes[j] = mix(s.region.content(p), mergeAcrossNodes ? 0 : s.region.node(p));
            }
            long sink = 0;
            for (int j = 0; j < k; j++) {
                sink += t[(int) hashes[j] & mask];
            }
            prefetchSink += sink;
            for (int j = 0; j < k; j++) {
                if (batch[j] == 0) {
                    continue;
                }
                int i = (int) hashes[j] & mask;
                while (t[i] != 0) {
                    i = (i + 1) & mask;
                }
                t[i] = batch[j];
                used++;
            }
        }
    }
}
