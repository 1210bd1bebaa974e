package org.kvmsim.sim.hugetlb;

import org.kvmsim.model.ThpMode;
import java.util.ArrayList;
import java.util.List;

/**
 * khugepaged (mm/khugepaged.c): the kernel thread that turns runs of 4 KiB anonymous pages into
 * transparent huge pages after the fact.
 *
 * <p>It keeps one mm_slot per registered mapping, in registration order. A mapping registers
 * (khugepaged_enter_vma() -> __khugepaged_enter()) when it becomes THP-eligible: QEMU's
 * MADV_HUGEPAGE of guest RAM (hugepage_madvise()), an anonymous mapping created under
 * thp = always, or its first fault in an empty PMD range with THP enabled
 * (do_huge_pmd_anonymous_page()). {@link #register} reports whether the list was empty, for which
 * __khugepaged_enter() wakes the thread at once; the engine (sim/Daemons) owns the thread's sleeps.
 *
 * <p>A pass (khugepaged_do_scan()) reads pages_to_scan once and calls khugepaged_scan_mm_slot()
 * until that much progress is made. Each call costs 1, resumes where the last stopped, and examines
 * PMD ranges in address order; every range examined costs HPAGE_PMD_NR = 512 whatever the outcome,
 * a mapping where THP is not enabled costs 1 more. A collapse attempt drops mmap_lock, which ends
 * the call (the next one resumes after that range). Passing the list head (the cursor at no slot)
 * a second time ends the pass (pass_through_head < 2); finishing the last slot counts a full scan.
 * hpage_collapse_scan_pmd() collapses a range with at most max_ptes_none empty or zero-page PTEs
 * and at most max_ptes_shared PTEs mapping a shared page (folio_maybe_mapped_shared(): a KSM page
 * with more than one mapping is one; the copy un-merges it, see {@link ThpMapping#collapse}).
 * collapse_huge_page() allocates the order-9 page; the first failure in a pass makes the thread
 * sleep alloc_sleep_millisecs inside the pass and go on ({@link PassEnd#ALLOC_SLEEP}), the second
 * ends the pass. Counters as in /sys/kernel/mm/transparent_hugepage/khugepaged: pages_collapsed,
 * full_scans.
 *
 * <p>Knobs and defaults (see {@link ThpSettings}; ranges as the sysfs store functions accept):
 * pages_to_scan 4096 (8 ranges a pass; 1 .. UINT_MAX), scan_sleep_millisecs 10000 and
 * alloc_sleep_millisecs 60000 (0 .. UINT_MAX), max_ptes_none 511, max_ptes_swap 64,
 * max_ptes_shared 256 (0 .. HPAGE_PMD_NR - 1 = 511), defrag 1 (0 or 1).
 *
 * <p>Differs from Linux: the simulated clock drives wake-ups; collapse is instantaneous and fails
 * only on allocation (no compaction, so defrag changes nothing); every present page counts as
 * young (no SCAN_LACK_REFERENCED_PAGE); no swap, so max_ptes_swap is stored and never binds; a
 * mapping's VM is one VMA (QEMU's other mappings are not scanned); a stopped VM's slot leaves the
 * list at once (Linux collects it at its next visit).
 */
public final class Khugepaged {
    /** How a (part of a) pass ended. */
    public enum PassEnd { DONE, ALLOC_SLEEP }

    private final ThpSettings settings;
    private final List<ThpMapping> slots = new ArrayList<>();
    /** khugepaged_scan.mm_slot as an index, -1 at the list head; {@code region} its address. */
    private int slot = -1;
    private int region;
    /** The pass under way (its pages, progress, pass_through_head, wait), or null. */
    private long passPages = -1;
    private long progress;
    private int throughHead;
    private boolean mayWait;
    private ThpMapping.Collapse last;
    private int collapsedSinceTaken;
    private long pagesCollapsed;
    private long fullScans;
    private CollapseListener listener;

    /** Told of every collapse: the frames behind the range changed (the MMU notifier's job). */
    public interface CollapseListener {
        void collapsed(ThpMapping mapping, int region);
    }

    public Khugepaged(ThpSettings settings) {
        this.settings = settings;
    }

    public void setListener(CollapseListener listener) {
        this.listener = listener;
    }

    /**
     * __khugepaged_enter(): adds a mapping's mm_slot at the end of the scan list, once
     * (MMF_VM_HUGEPAGE). True when the list was empty, the case in which Linux wakes the thread.
     */
    public boolean register(ThpMapping m) {
        if (m.registered) {
            return false;
        }
        m.registered = true;
        boolean wasEmpty = slots.isEmpty();
        slots.add(m);
        return wasEmpty;
    }

    /** Removes a mapping (VM stopped); the scan cursor moves on to the next slot if it was there. */
    public void unregister(ThpMapping m) {
        int i = slots.indexOf(m);
        if (i < 0) {
            return;
        }
        m.registered = false;
        slots.remove(i);
        if (i < slot) {
            slot--;
        } else if (i == slot) {
            region = 0;
            if (slot >= slots.size()) {
                slot = -1;
                fullScans++;
            }
        }
    }

    /** khugepaged_has_work(): a registered mm, and THP not disabled. */
    public boolean hasWork() {
        return !slots.isEmpty() && settings.mode != ThpMode.NEVER;
    }

    /**
     * khugepaged_do_scan(): starts a pass, or goes on with the one an allocation failure put to
     * sleep. Returns {@link PassEnd#ALLOC_SLEEP} when the thread must now sleep
     * alloc_sleep_millisecs and call again.
     */
    public PassEnd scan() {
        if (passPages < 0) {
            passPages = settings.pagesToScan;
            progress = 0;
            throughHead = 0;
            mayWait = true;
        }
        while (true) {
            last = null;
            if (slot < 0) {
                throughHead++;
            }
            if (hasWork() && throughHead < 2) {
                progress += scanSlot(passPages - progress);
            } else {
                progress = passPages;
            }
            if (progress >= passPages) {
                break;
            }
            if (last == ThpMapping.Collapse.ALLOC_FAILED) {
                if (!mayWait) {
                    break;
                }
                mayWait = false;
                return PassEnd.ALLOC_SLEEP;
            }
        }
        passPages = -1;
        return PassEnd.DONE;
    }

    /** Drops the pass under way (the thread was stopped: thp = never). */
    public void abandonPass() {
        passPages = -1;
    }

    /** khugepaged_scan_mm_slot(): the progress it made. */
    private long scanSlot(long pages) {
        if (slot < 0) {
            slot = 0;
            region = 0;
        }
        ThpMapping m = slots.get(slot);
        long made = 1;
        if (m.thpEnabled()) {
            int end = m.wholeRegions();
            while (region < end) {
                ThpMapping.Collapse c = m.collapse(region);
                int r = region++;
                made += ThpMapping.REGION_PAGES;
                if (c == ThpMapping.Collapse.SUCCEEDED || c == ThpMapping.Collapse.ALLOC_FAILED) {
                    // collapse_huge_page() returns with mmap_lock released: the call ends here
                    last = c;
                    if (c == ThpMapping.Collapse.SUCCEEDED) {
                        collapsedSinceTaken++;
                        pagesCollapsed++;
                        if (listener != null) {
                            // collapse_huge_page() runs mmu_notifier_invalidate_range_start() on the range
                            listener.collapsed(m, r);
                        }
                    }
                    return made;
                }
                if (made >= pages) {
                    return made;
                }
            }
        } else {
            made++;
        }
        region = 0;
        if (slot + 1 < slots.size()) {
            slot++;
        } else {
            slot = -1;
            fullScans++;
        }
        return made;
    }

    /** THPs collapsed since the last call. */
    public int takeCollapsed() {
        int n = collapsedSinceTaken;
        collapsedSinceTaken = 0;
        return n;
    }

    /** One whole pass with its sleep after an allocation failure skipped: the THPs made. */
    public int wake() {
        while (scan() == PassEnd.ALLOC_SLEEP) {
            // the in-pass sleep takes no simulated time here
        }
        return takeCollapsed();
    }

    public long pagesCollapsed() {
        return pagesCollapsed;
    }

    public long fullScans() {
        return fullScans;
    }
}
