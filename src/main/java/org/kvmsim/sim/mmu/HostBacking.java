package org.kvmsim.sim.mmu;

/**
 * What the host side offers one VM's MMU: the machine frame behind each guest-physical address
 * (QEMU's RAM mapping, faulted in on first use) and host pages for the VMM's own tables (EPT/NPT
 * and shadow tables live in host memory and show up as SecPageTables in meminfo).
 */
public interface HostBacking {

    /** The host-physical address backing {@code gpa}, faulting the host page in if needed. */
    long hpa(long gpa);

    /**
     * Faults the host page behind {@code gpa} in if it is not present (KVM's __kvm_faultin_pfn()
     * through GUP) and returns the bytes the host allocated and zeroed for it: 4 KiB
     * (do_anonymous_page()), 2 MiB (a THP, or a 2 MiB hugetlbfs page) or 1 GiB; 0 if the page was
     * present (preallocated, touched before, or still there after a zap of the nested entry).
     */
    long faultIn(long gpa);

    /**
     * Whether the host page behind {@code gpa} is present now, without faulting it in: what
     * KVM's spte prefetch asks (kvm_prefetch_pages() pins only pages already mapped, through
     * get_user_pages_fast_only() with FOLL_WRITE, so a page that maps the zero page is not
     * present here: see {@link #mapZero}). A backing that cannot tell says no, and nothing is
     * prefetched.
     */
    default boolean present(long gpa) {
        return false;
    }

    /**
     * A read fault (GUP without FOLL_WRITE, as KVM's hva_to_pfn_slow() makes for a read): where
     * the page was never written, maps the shared zero page (do_anonymous_page()) or, in a range
     * that could take a THP, the huge zero page (do_huge_pmd_anonymous_page() with
     * use_zero_page), and returns that mapping's log2 size, 12 or 21; {@link #hpa} then gives the
     * zero page's frame. Returns 0, with nothing done, when the page is present or the read has
     * to fault it in as a write does ({@link #faultIn}: hugetlbfs memory has no zero page). The
     * nested leaf or spte over a zero page is read-only: a write faults again.
     */
    default int mapZero(long gpa) {
        return 0;
    }

    /** Whether {@code gpa} maps the zero page or the huge zero page ({@link #mapZero}). */
    default boolean zeroMapped(long gpa) {
        return false;
    }

    /**
     * log2 of the host page that backs {@code gpa}: 12 (anonymous 4 KiB), 21 (THP or 2 MiB
     * hugetlbfs) or 30 (1 GiB hugetlbfs). A nested leaf is never larger than this.
     */
    int backingPageShift(long gpa);

    /**
     * log2 of the largest nested leaf (or spte) KVM may install at {@code gpa}: the host page,
     * unless that page would cross the edge of a memslot (KVM's disallow_lpage).
     */
    default int maxLeafShift(long gpa) {
        return backingPageShift(gpa);
    }

    /** A fresh, zeroed 4 KiB host page for a nested or shadow table; returns its HPA. */
    long allocTablePage();

    /** Returns a table page obtained from {@link #allocTablePage()} (shadow pages are zapped). */
    default void freeTablePage(long hpa) {
    }
}
