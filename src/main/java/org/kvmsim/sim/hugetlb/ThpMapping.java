package org.kvmsim.sim.hugetlb;

import java.util.Arrays;
import org.kvmsim.sim.mem.HostMemory;

/**
 * An anonymous mapping (QEMU's guest RAM without hugetlbfs) populated on first touch, with
 * transparent huge pages: the host side of "anonymous" and "THP" backing.
 *
 * <p>The mapping is cut into 2 MiB regions (PMD ranges; the mapping starts 2 MiB aligned, as QEMU
 * aligns guest RAM). A region is EMPTY (pmd_none), SMALL (a page table of 4 KiB pages), HUGE (one
 * PMD-mapped THP) or HUGE_ZERO (the huge zero page, mapped read-only by a read fault). A fault in an EMPTY region that lies wholly inside the mapping, with THP enabled
 * for the mapping, allocates an order-9 block and maps the whole region (do_huge_pmd_anonymous_page()
 * in mm/huge_memory.c: thp_fault_alloc); if no order-9 block is free it falls back to a 4 KiB page
 * (thp_fault_fallback). Other faults allocate one order-0 frame (do_anonymous_page() in mm/memory.c).
 * {@link #split} is split_huge_page(): the THP becomes 512 order-0 pages in place (AnonHugePages
 * drops, nothing is freed); KSM needs it before merging a page inside a THP.
 * {@link Khugepaged} collapses SMALL regions through {@link #collapse}.
 *
 * <p>Reads of never-written memory ({@link #readFault}) map the shared zero page, read-only:
 * do_anonymous_page() without FAULT_FLAG_WRITE maps my_zero_pfn() in a PTE (a SMALL region's
 * entry holds {@link #ZERO_PTE}), and do_huge_pmd_anonymous_page() in an EMPTY THP-eligible region
 * with use_zero_page maps the huge zero page (HUGE_ZERO). Neither is resident: no frame of the
 * mapping's own, not in {@link #presentPages} (RSS), AnonPages or AnonHugePages; both take the
 * region's page tables as a fault that allocates would. A later {@link #fault} (a write) allocates:
 * a 4 KiB page for a zero PTE (wp_page_copy()), a THP for a HUGE_ZERO region
 * (do_huge_zero_wp_pmd() in 6.x: oracle O3, fixtures/thp/zeropage-64.jsonl), or when no order-9
 * block is free the huge zero PMD is split into zero PTEs and one 4 KiB page is allocated.
 *
 * <p>Data, per region: a state byte, a present count, the THP's head frame, and for SMALL regions
 * an int[512] of frames allocated on the first 4 KiB fault (frame + 1, 0 = not present; negative
 * = a frame owned by someone else, e.g. a KSM page). So a touched 4 KiB page costs 4 bytes, a THP
 * 2 MiB costs ~10 bytes, and untouched memory costs 10 bytes per 2 MiB.
 *
 * <p>Page tables: the first fault in a region allocates its PTE page, and the first fault in a
 * 1 GiB range its PMD page, order-0 frames counted in PageTables, kept until the mapping goes
 * (Linux frees page tables at munmap or exit, not when pages are zapped). A THP region holds one
 * too: do_huge_pmd_anonymous_page() deposits a preallocated PTE page with the huge PMD
 * (pgtable_trans_huge_deposit()) for a later split, and collapse_huge_page() deposits the old
 * one. Measured on this machine's kernel (6.18): touching 1 GiB of anonymous memory, THP or
 * not, adds 2052 kB to VmPTE: 512 PTE pages and one PMD page (fixtures/pagetables).
 *
 * <p>Accounting kept in the host: AnonPages (+1 per 4 KiB page, +512 per THP), AnonHugePages
 * (+512 per THP), PageTables (+1 per table page). Differs from Linux: no defrag/direct compaction (a THP fault succeeds only if an order-9 block is already free),
 * no deferred split or shrinker of underused THPs, no swap.
 */
public final class ThpMapping {
    public static final int REGION_PAGES = 512;
    public static final byte EMPTY = 0;
    public static final byte SMALL = 1;
    public static final byte HUGE = 2;
    public static final byte HUGE_ZERO = 3;
    /** A SMALL region's entry for a page that maps the zero page (not a frame of its own). */
    static final int ZERO_PTE = Integer.MIN_VALUE;
    /** {@link #readFault}: the page is (now) mapped by the zero page, or by the huge zero page. */
    public static final int MAPS_ZERO = 12;
    public static final int MAPS_HUGE_ZERO = 21;

    private final HostMemory mem;
    private final ThpSettings settings;
    private final long pages;
    private final boolean madvised;
    private final int node;
    private final byte[] state;
    private final short[] present;
    private final short[] foreign;
    private final int[] hugeBase;
    private final int[][] small;
    /** Per region, its PTE page's frame + 1 (0: none yet); per 1 GiB, its PMD page's. */
    private final int[] pteTable;
    private final int[] pmdTable;
    private long tablePages;
    private long presentPages;
    private long hugeRegions;
    private long thpFaultAlloc;
    private long thpFaultFallback;
    private long thpSplit;
    private boolean released;
    /** On khugepaged's list (MMF_VM_HUGEPAGE); set by {@link Khugepaged}. */
    boolean registered;
    private Runnable enterKhugepaged = () -> { };
    private ForeignPages foreignPages = ForeignPages.SHARED;

    /**
     * What khugepaged must know of a page that maps a frame owned elsewhere (a KSM page or the
     * zero page), and what a collapse does to it. The engine gives one per mapping that KSM scans.
     */
    public interface ForeignPages {
        /** Whether the page maps the zero page (is_zero_pfn(): counts as none). */
        boolean isZero(long page);

        /** Whether it maps a page mapped elsewhere too (folio_maybe_mapped_shared()). */
        boolean isShared(long page);

        /** A collapse copied the page into the new THP and dropped its mapping of the frame. */
        void dropped(long page);

        /** Every foreign page shared; a drop tells no one (a mapping no KSM scans has none). */
        ForeignPages SHARED = new ForeignPages() {
            public boolean isZero(long page) {
                return false;
            }

            public boolean isShared(long page) {
                return true;
            }

            public void dropped(long page) {
            }
        };
    }

    public void setForeignPages(ForeignPages pages) {
        this.foreignPages = pages;
    }

    /**
     * What a fault in an empty PMD range with THP enabled does first when the mapping is not on
     * khugepaged's list: khugepaged_enter_vma() in do_huge_pmd_anonymous_page().
     */
    public void onKhugepagedEnter(Runnable enter) {
        this.enterKhugepaged = enter;
    }

    /** Whether the mapping is on khugepaged's list. */
    public boolean registered() {
        return registered;
    }

    /**
     * @param pages    size in 4 KiB pages
     * @param madvised whether MADV_HUGEPAGE was applied (QEMU does so for guest RAM)
     * @param node     preferred NUMA node for allocations
     */
    public ThpMapping(HostMemory mem, ThpSettings settings, long pages, boolean madvised, int node) {
        this.mem = mem;
        this.settings = settings;
        this.pages = pages;
        this.madvised = madvised;
        this.node = node;
        int regions = Math.toIntExact((pages + REGION_PAGES - 1) / REGION_PAGES);
        state = new byte[regions];
        present = new short[regions];
        foreign = new short[regions];
        hugeBase = new int[regions];
        small = new int[regions][];
        pteTable = new int[regions];
        pmdTable = new int[(regions + REGION_PAGES - 1) / REGION_PAGES];
    }

    /** Page-table pages (PTE and PMD) this mapping holds. */
    public long tablePages() {
        return tablePages;
    }

    /**
     * A page-table page for region {@code r} (its PMD page first, if its 1 GiB has none):
     * __pmd_alloc() and __pte_alloc() in the fault path. False if no frame is free.
     */
    private boolean tablesFor(int r) {
        if (pteTable[r] != 0) {
            return true;
        }
        int g = r / REGION_PAGES;
        if (pmdTable[g] == 0 && (pmdTable[g] = newTablePage()) == 0) {
            return false;
        }
        return (pteTable[r] = newTablePage()) != 0;
    }

    /** An order-0 frame for a page table, counted in PageTables: its frame + 1, or 0 if none is free. */
    private int newTablePage() {
        int f = mem.alloc(0, node);
        if (f < 0) {
            return 0;
        }
        tablePages++;
        mem.add(HostMemory.Counter.PAGE_TABLES, 1);
        return f + 1;
    }

    public long pages() {
        return pages;
    }

    public int regions() {
        return state.length;
    }

    public byte regionState(int region) {
        return state[region];
    }

    /** Present 4 KiB pages of a region (512 for a THP). */
    public int regionPresent(int region) {
        return present[region];
    }

    public boolean madvised() {
        return madvised;
    }

    /** Pages present (resident), THPs counted as 512. */
    public long presentPages() {
        return presentPages;
    }

    /** THPs currently mapped (this mapping's AnonHugePages in smaps is 2048 kB each). */
    public long hugeRegions() {
        return hugeRegions;
    }

    public long thpFaultAlloc() {
        return thpFaultAlloc;
    }

    public long thpFaultFallback() {
        return thpFaultFallback;
    }

    public long thpSplit() {
        return thpSplit;
    }

    /** Whether THP is allowed here now (mode and madvise). */
    public boolean thpEnabled() {
        return settings.enabledFor(madvised);
    }

    /** The frame backing a page, or -1 when it is not present. */
    public int frameOf(long page) {
        int r = (int) (page >>> 9);
        byte s = state[r];
        if (s == HUGE) {
            return hugeBase[r] + (int) (page & (REGION_PAGES - 1));
        }
        if (s == EMPTY || s == HUGE_ZERO) {
            return -1;
        }
        int v = small[r][(int) (page & (REGION_PAGES - 1))];
        return v > 0 ? v - 1 : v < 0 && v != ZERO_PTE ? -v - 1 : -1;
    }

    /** Whether a page maps the zero page or the huge zero page (read, never written). */
    public boolean isZeroMapped(long page) {
        int r = (int) (page >>> 9);
        return state[r] == HUGE_ZERO || state[r] == SMALL && small[r][(int) (page & (REGION_PAGES - 1))] == ZERO_PTE;
    }

    /** Whether a page's region maps the huge zero page. */
    public boolean isHugeZero(long page) {
        return state[(int) (page >>> 9)] == HUGE_ZERO;
    }

    /**
     * A read fault (no FAULT_FLAG_WRITE) on a page: if it is not present, maps the huge zero page
     * over its region (an EMPTY region that could take a THP, with use_zero_page) or the zero page
     * in its PTE, as do_huge_pmd_anonymous_page() and do_anonymous_page() do, and returns
     * {@link #MAPS_HUGE_ZERO} or {@link #MAPS_ZERO}; also when it already maps one. Returns 0, with
     * nothing done, when the page is present or a read must allocate as a write does (a
     * THP-eligible region without use_zero_page gets a THP: {@link #fault}); -1 when no frame was
     * free for a page table.
     */
    public int readFault(long page) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a mapping of " + pages);
        }
        int r = (int) (page >>> 9);
        int i = (int) (page & (REGION_PAGES - 1));
        byte s = state[r];
        if (s == HUGE_ZERO) {
            return MAPS_HUGE_ZERO;
        }
        if (s == HUGE) {
            return 0;
        }
        if (s == EMPTY && thpEnabled() && wholeRegion(r)) {
            // do_huge_pmd_anonymous_page() registers the mapping with khugepaged before it
            // looks at the fault's kind (khugepaged_enter_vma())
            if (!registered) {
                enterKhugepaged.run();
            }
            if (!settings.useZeroPage) {
                return 0;
            }
            // the huge zero PMD takes a deposited PTE page as a THP does (set_huge_zero_folio())
            if (!tablesFor(r)) {
                return -1;
            }
            state[r] = HUGE_ZERO;
            return MAPS_HUGE_ZERO;
        }
        int[] frames = small[r];
        if (frames != null && frames[i] != 0) {
            return frames[i] == ZERO_PTE ? MAPS_ZERO : 0;
        }
        if (!tablesFor(r)) {
            return -1;
        }
        if (frames == null) {
            frames = new int[REGION_PAGES];
            small[r] = frames;
            state[r] = SMALL;
        }
        frames[i] = ZERO_PTE;
        return MAPS_ZERO;
    }

    public boolean isHuge(long page) {
        return state[(int) (page >>> 9)] == HUGE;
    }

    /**
     * Touches a page; returns its frame. Returns -1 when the host has no free frame at all (the
     * engine then runs the OOM killer and retries); nothing changes in that case but page-table
     * pages already allocated, which stay (Linux keeps a populated table too).
     */
    public int fault(long page) {
        return fault(page, true);
    }

    /**
     * A fault that maps a 4 KiB page even where a THP could go: how a region the real host held
     * as small pages is laid out again from a dump (its THP fault had fallen back, or the
     * pages came before THP was enabled). Returns as {@link #fault}.
     */
    public int faultSmall(long page) {
        return fault(page, false);
    }

    /**
     * Regions that lie across the edge of what the mapping stands for (a RAM block shorter than
     * 2 MiB, the gap to the next block): never a THP, never collapsed, as a VMA that does not
     * cover the aligned 2 MiB cannot take one (thp_vma_suitable_order()).
     */
    public void noHugeIn(int region) {
        if (noHuge == null) noHuge = new boolean[state.length];
        noHuge[region] = true;
    }

    private boolean[] noHuge;

    private int fault(long page, boolean mayHuge) {
        if (page < 0 || page >= pages) {
            throw new IndexOutOfBoundsException("page " + page + " outside a mapping of " + pages);
        }
        int r = (int) (page >>> 9);
        int i = (int) (page & (REGION_PAGES - 1));
        byte s = state[r];
        if (s == HUGE) {
            return hugeBase[r] + i;
        }
        boolean hugeZero = s == HUGE_ZERO;
        if (hugeZero || mayHuge && s == EMPTY && thpEnabled() && wholeRegion(r)) {
            // a write to the huge zero PMD: do_huge_zero_wp_pmd() allocates a THP (6.x), keeping
            // the deposited PTE page; a fault in an empty range first registers the mapping
            // with khugepaged (do_huge_pmd_anonymous_page(); the huge zero page's read fault did)
            if (!hugeZero && !registered) {
                enterKhugepaged.run();
            }
            int f = mem.alloc(9, node);
            if (f >= 0 && !tablesFor(r)) {
                // __do_huge_pmd_anonymous_page(): no page for the deposit, VM_FAULT_OOM
                mem.free(f, 9);
                return -1;
            }
            if (f >= 0) {
                state[r] = HUGE;
                hugeBase[r] = f;
                present[r] = REGION_PAGES;
                presentPages += REGION_PAGES;
                hugeRegions++;
                thpFaultAlloc++;
                mem.count(HostMemory.Event.THP_FAULT_ALLOC);
                mem.add(HostMemory.Counter.ANON_PAGES, REGION_PAGES);
                mem.add(HostMemory.Counter.ANON_HUGE_PAGES, REGION_PAGES);
                return f + i;
            }
            thpFaultFallback++;
            if (hugeZero) {
                // VM_FAULT_FALLBACK: the huge zero PMD is split, then the write copies one zero PTE
                splitZero(r);
            }
        }
        int[] frames = small[r];
        if (frames != null && frames[i] != 0 && frames[i] != ZERO_PTE) {
            return frames[i] > 0 ? frames[i] - 1 : -frames[i] - 1;
        }
        // do_anonymous_page(): the PTE page first (pte_alloc()), then the page
        if (!tablesFor(r)) {
            return -1;
        }
        int f = mem.alloc(0, node);
        if (f < 0) {
            return -1;
        }
        if (frames == null) {
            frames = new int[REGION_PAGES];
            small[r] = frames;
            state[r] = SMALL;
        }
        frames[i] = f + 1;
        present[r]++;
        presentPages++;
        mem.add(HostMemory.Counter.ANON_PAGES, 1);
        return f;
    }

    /** __split_huge_zero_page_pmd(): a HUGE_ZERO region becomes 512 zero PTEs. */
    private void splitZero(int r) {
        int[] zeros = new int[REGION_PAGES];
        Arrays.fill(zeros, ZERO_PTE);
        small[r] = zeros;
        state[r] = SMALL;
    }

    /** Which pages hold only zeroes (the engine knows contents); none by default. */
    private java.util.function.LongPredicate zeroFilled = p -> false;
    /** Told of each page a split mapped to the zero page, so the guest's view follows. */
    private java.util.function.LongConsumer zeroRemapped = p -> {};

    /** The engine's view of contents, for the zero-page remap of {@link #replace}'s split. */
    public void setZeroFilled(java.util.function.LongPredicate zeroFilled, java.util.function.LongConsumer zeroRemapped) {
        this.zeroFilled = zeroFilled;
        this.zeroRemapped = zeroRemapped;
    }

    /**
     * The split of an anonymous THP by split_huge_page() maps every zero-filled subpage to the
     * shared zero page and frees it (Linux 6.12+, mm/huge_memory.c __split_huge_page() ->
     * remap_page(..., RMP_USE_SHARED_ZEROPAGE) -> try_to_map_unused_to_zeropage() in
     * mm/migrate.c). KSM splits so before a merge (try_to_merge_one_page()): {@link #splitForMerge}.
     * The page being merged, {@code keep}, is left to the merge (in Linux, when it is itself zero-filled, it too maps the zero page and
     * that merge fails: the model merges it, one page per split THP).
     */
    public void splitForMerge(long page) {
        int r = (int) (page >>> 9);
        if (state[r] != HUGE) {
            return;
        }
        split(r);
        remapZeroSubpages(r, (int) (page & (REGION_PAGES - 1)));
    }

    /**
     * split_huge_page() of the THP around {@code page} with no merge after it: cmp_and_merge_page()
     * does so when try_to_merge_two_pages() failed because the scanned page and the unstable-tree
     * page lie in this one THP (see {@link org.kvmsim.sim.ksm.KsmListener#splitFailsOnMerge}).
     * Every zero-filled subpage maps the zero page, the scanned one too.
     */
    public void splitUnmerged(long page) {
        int r = (int) (page >>> 9);
        if (state[r] != HUGE) {
            return;
        }
        split(r);
        remapZeroSubpages(r, -1);
    }

    private void remapZeroSubpages(int r, int keep) {
        int[] frames = small[r];
        long first = (long) r * REGION_PAGES;
        for (int i = 0; i < REGION_PAGES; i++) {
            if (i == keep || frames[i] <= 0 || !zeroFilled.test(first + i)) {
                continue;
            }
            mem.free(frames[i] - 1, 0);
            mem.add(HostMemory.Counter.ANON_PAGES, -1);
            frames[i] = ZERO_PTE;
            present[r]--;
            presentPages--;
            zeroRemapped.accept(first + i);
        }
    }

    /** split_huge_page(): a THP becomes 512 4 KiB pages on the same frames. No-op otherwise. */
    public void split(int region) {
        if (state[region] != HUGE) {
            return;
        }
        int base = hugeBase[region];
        int[] frames = new int[REGION_PAGES];
        for (int i = 0; i < REGION_PAGES; i++) {
            frames[i] = base + i + 1;
        }
        small[region] = frames;
        state[region] = SMALL;
        hugeRegions--;
        thpSplit++;
        mem.count(HostMemory.Event.THP_SPLIT_PAGE);
        mem.add(HostMemory.Counter.ANON_HUGE_PAGES, -REGION_PAGES);
    }

    /**
     * Maps a page onto a frame owned elsewhere (a KSM page): splits the THP around it if any,
     * frees the page's own frame (AnonPages -1), records the foreign frame. The owner of the
     * foreign frame keeps its accounting.
     */
    public void replace(long page, int foreignFrame) {
        int r = (int) (page >>> 9);
        int i = (int) (page & (REGION_PAGES - 1));
        split(r);
        int[] frames = small[r];
        if (frames == null) {
            frames = new int[REGION_PAGES];
            small[r] = frames;
            state[r] = SMALL;
        }
        int v = frames[i];
        if (v > 0) {
            mem.free(v - 1, 0);
            mem.add(HostMemory.Counter.ANON_PAGES, -1);
        } else if (v == 0 || v == ZERO_PTE) {
            present[r]++;
            presentPages++;
        } else {
            foreign[r]--;
        }
        frames[i] = -(foreignFrame + 1);
        foreign[r]++;
    }

    /**
     * Unmaps one page (MADV_DONTNEED, balloon): splits a THP around it, frees the page's own
     * frame. Returns the frame it was mapped to (own or foreign), or -1 if it was not present.
     */
    public int unmap(long page) {
        int r = (int) (page >>> 9);
        int i = (int) (page & (REGION_PAGES - 1));
        if (state[r] == EMPTY) {
            return -1;
        }
        if (state[r] == HUGE_ZERO) {
            // the huge zero PMD is split into zero PTEs (__split_huge_zero_page_pmd()), then one goes
            splitZero(r);
        }
        split(r);
        int v = small[r][i];
        if (v == 0 || v == ZERO_PTE) {
            small[r][i] = 0;
            return -1;
        }
        small[r][i] = 0;
        present[r]--;
        presentPages--;
        if (v > 0) {
            mem.free(v - 1, 0);
            mem.add(HostMemory.Counter.ANON_PAGES, -1);
            return v - 1;
        }
        foreign[r]--;
        return -v - 1;
    }

    /** Frees every frame this mapping owns (munmap at VM stop). Foreign frames are left alone. */
    public void release() {
        if (released) {
            return;
        }
        released = true;
        long anon = 0;
        for (int r = 0; r < state.length; r++) {
            if (state[r] == HUGE) {
                mem.free(hugeBase[r], 9);
                anon += REGION_PAGES;
                mem.add(HostMemory.Counter.ANON_HUGE_PAGES, -REGION_PAGES);
            } else if (state[r] == SMALL) {
                for (int v : small[r]) {
                    if (v > 0) {
                        mem.free(v - 1, 0);
                        anon++;
                    }
                }
            }
            state[r] = EMPTY;
            small[r] = null;
            present[r] = 0;
            foreign[r] = 0;
        }
        mem.add(HostMemory.Counter.ANON_PAGES, -anon);
        for (int[] tables : new int[][] {pteTable, pmdTable}) {
            for (int i = 0; i < tables.length; i++) {
                if (tables[i] != 0) {
                    mem.free(tables[i] - 1, 0);
                    tables[i] = 0;
                }
            }
        }
        mem.add(HostMemory.Counter.PAGE_TABLES, -tablePages);
        tablePages = 0;
        presentPages = 0;
        hugeRegions = 0;
    }

    /** PMD ranges wholly inside the mapping (what khugepaged scans: hstart .. hend). */
    int wholeRegions() {
        return (int) (pages / REGION_PAGES);
    }

    boolean wholeRegion(int r) {
        return (long) (r + 1) * REGION_PAGES <= pages && (noHuge == null || !noHuge[r]);
    }

    /** Outcome of one collapse attempt, named after khugepaged's scan results. */
    enum Collapse { SUCCEEDED, NOT_SMALL, EXCEED_NONE, EXCEED_SHARED, ALLOC_FAILED }

    /**
     * hpage_collapse_scan_pmd() and collapse_huge_page(): replaces a SMALL region's pages by one
     * THP, if at most max_ptes_none of its PTEs are empty or map the zero page, at most
     * max_ptes_shared map a shared page, and an order-9 block is free. The pages are copied
     * (__collapse_huge_page_copy()): own frames are freed, and a page that mapped a KSM page or the
     * zero page drops that mapping through {@link ForeignPages#dropped}, which un-merges it (the
     * KSM page loses a mapping, as in a copy-on-write break; ksm_might_unmap_zero_page()).
     *
     * <p>A PTE a read fault pointed at the zero page ({@link #ZERO_PTE}) is not present and not
     * foreign: it counts as none (is_zero_pfn() in hpage_collapse_scan_pmd() counts toward
     * max_ptes_none, as for a KSM-merged zero page), and the copy leaves zeroes in the THP with
     * nothing to free or un-merge. A HUGE_ZERO region is PMD-mapped, so NOT_SMALL
     * (find_pmd_or_thp_or_none(): SCAN_PMD_MAPPED); a write gives it a THP of its own.
     */
    Collapse collapse(int r) {
        if (state[r] != SMALL || !wholeRegion(r)) {
            return Collapse.NOT_SMALL;
        }
        int none = REGION_PAGES - present[r];
        int shared = 0;
        int[] frames = small[r];
        if (foreign[r] > 0) {
            long first = (long) r * REGION_PAGES;
            for (int i = 0; i < REGION_PAGES; i++) {
                if (frames[i] < 0 && frames[i] != ZERO_PTE) {
                    if (foreignPages.isZero(first + i)) {
                        none++;
                    } else if (foreignPages.isShared(first + i)) {
                        shared++;
                    }
                }
            }
        }
        if (none > settings.maxPtesNone) {
            return Collapse.EXCEED_NONE;
        }
        if (shared > settings.maxPtesShared) {
            return Collapse.EXCEED_SHARED;
        }
        int f = mem.alloc(9, node);
        if (f < 0) {
            return Collapse.ALLOC_FAILED;
        }
        int own = 0;
        small[r] = null;
        state[r] = HUGE;
        hugeBase[r] = f;
        for (int i = 0; i < REGION_PAGES; i++) {
            int v = frames[i];
            if (v > 0) {
                mem.free(v - 1, 0);
                own++;
            } else if (v < 0 && v != ZERO_PTE) {
                foreignPages.dropped((long) r * REGION_PAGES + i);
            }
        }
        foreign[r] = 0;
        presentPages += REGION_PAGES - present[r];
        present[r] = REGION_PAGES;
        hugeRegions++;
        mem.add(HostMemory.Counter.ANON_PAGES, REGION_PAGES - own);
        mem.add(HostMemory.Counter.ANON_HUGE_PAGES, REGION_PAGES);
        return Collapse.SUCCEEDED;
    }
}
