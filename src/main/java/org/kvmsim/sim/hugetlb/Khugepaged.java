package org.kvmsim.sim.hugetlb;

import org.kvmsim.model.ThpMode;
import java.util.ArrayList;
import java.util.List;

/**
 * khugepaged (mm/khugepaged.c): the kernel thread that turns runs of 4 KiB anonymous pages into
 * transparent huge pages after the fact.
 *
 * <p>It keeps one mm_slot per registered mapping, in registration order (khugepaged_enter_vma()
 * adds an mm when a THP-eligible VMA appears; here: when a VM starts). Each wake-up
 * (khugepaged_do_scan()) resumes where the last one stopped and examines PMD ranges in address
 * order; every range examined costs HPAGE_PMD_NR = 512 against {@code pages_to_scan}, a mapping
 * where THP is not enabled costs 1 (khugepaged_scan_mm_slot()). A range of 4 KiB pages with at
 * most {@code max_ptes_none} empty PTEs is collapsed into a freshly allocated order-9 page
 * (hpage_collapse_scan_pmd(), collapse_huge_page()); if that allocation fails the pass ends and the
 * next wake-up comes after {@code alloc_sleep_millisecs} instead of {@code scan_sleep_millisecs}.
 * Finishing the last slot counts a full scan. Counters as in
 * /sys/kernel/mm/transparent_hugepage/khugepaged: pages_collapsed, full_scans.
 *
 * <p>Knobs and defaults (see {@link ThpSettings}): pages_to_scan 4096 (8 ranges a wake-up),
 * scan_sleep_millisecs 10000, alloc_sleep_millisecs 60000, max_ptes_none 511, max_ptes_shared 256.
 *
 * <p>Differs from Linux: the simulated clock drives wake-ups (the engine calls {@link #wake} and
 * then waits {@link #sleepMillis}); ranges holding a KSM-merged page are never collapsed; no
 * max_ptes_swap (no swap); collapse is instantaneous and never fails for reasons other than
 * allocation.
 */
public final class Khugepaged {
    private final ThpSettings settings;
    private final List<ThpMapping> slots = new ArrayList<>();
    private int slot;
    private int region;
    private boolean allocFailed;
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

    /** Adds a mapping's mm_slot at the end of the scan list. */
    public void register(ThpMapping m) {
        slots.add(m);
    }

    /** Removes a mapping (VM stopped); the scan cursor moves on to the next slot if it was there. */
    public void unregister(ThpMapping m) {
        int i = slots.indexOf(m);
        if (i < 0) {
            return;
        }
        slots.remove(i);
        if (i < slot) {
            slot--;
        } else if (i == slot) {
            region = 0;
        }
        if (slot >= slots.size()) {
            slot = 0;
        }
    }

    /** One wake-up: scans up to pages_to_scan; returns the THPs made. */
    public int wake() {
        allocFailed = false;
        int made = 0;
        long progress = 0;
        if (settings.mode == ThpMode.NEVER || slots.isEmpty()) {
            return 0;
        }
        while (progress < settings.pagesToScan) {
            ThpMapping m = slots.get(slot);
            if (!m.thpEnabled() || region >= m.regions()) {
                progress += m.thpEnabled() && m.regions() > 0 ? 0 : 1;
                nextSlot();
                continue;
            }
            ThpMapping.Collapse c = m.collapse(region);
            if (c == ThpMapping.Collapse.ALLOC_FAILED) {
                allocFailed = true;
                break;
            }
            if (c == ThpMapping.Collapse.SUCCEEDED) {
                made++;
                pagesCollapsed++;
                if (listener != null) {
                    // collapse_huge_page() runs mmu_notifier_invalidate_range_start() on the range
                    listener.collapsed(m, region);
                }
            }
            region++;
            progress += ThpMapping.REGION_PAGES;
        }
        return made;
    }

    private void nextSlot() {
        region = 0;
        slot++;
        if (slot >= slots.size()) {
            slot = 0;
            fullScans++;
        }
    }

    /** How long khugepaged sleeps after the last wake-up. */
    public long sleepMillis() {
        return allocFailed ? settings.allocSleepMillis : settings.scanSleepMillis;
    }

    public long pagesCollapsed() {
        return pagesCollapsed;
    }

    public long fullScans() {
        return fullScans;
    }
}
