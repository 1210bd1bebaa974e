package org.kvmsim.sim.hugetlb;

import java.util.Arrays;
import org.kvmsim.sim.mem.HostMemory;

/**
 * One private hugetlbfs mapping (MAP_PRIVATE | MAP_HUGETLB, or QEMU's -mem-path/memory-backend-file
 * with share=off): its huge pages and its reservation, after mm/hugetlb.c.
 *
 * <p>{@link #mmap} is hugetlb_reserve_pages(): unless MAP_NORESERVE, the whole length is reserved
 * at once through hugetlb_acct_memory(), or the mmap fails with ENOMEM. {@link #fault} is
 * hugetlb_no_page(): a private mapping holds a reservation for every page it has not yet faulted
 * (its resv_map records consumed pages, vma_needs_reservation()); a fault without one may still
 * succeed from unreserved free pages or a surplus page, else it is SIGBUS. {@link #munmap} frees
 * the faulted pages (free_huge_folio()) and hands back the unconsumed reservation
 * (hugetlb_vm_op_close(): reserve = pages - region_count(), hugetlb_acct_memory(-reserve)).
 *
 * <p>Page tables: 2 MiB pages are mapped by PMD entries, so the first fault in each 1 GiB takes
 * an order-0 frame for its PMD page (huge_pte_alloc(): pmd_alloc()), counted in PageTables and
 * freed at munmap; 1 GiB pages are PUD entries of the process's PUD page, no page of their own.
 * The engine runs the OOM killer first when no order-0 frame is left ({@link #needsTablePage});
 * should the frame still be missing here, the fault fails as if no huge page were left.
 *
 * <p>Data: one int per huge page (its head frame, -1 until faulted) and a consumed bit per page;
 * 4 bytes per 2 MiB. Differs from Linux: no shared mappings, no fork/copy-on-write of hugetlb
 * pages, no MADV_DONTNEED or hole punching (a page once faulted stays until munmap).
 */
public final class HugetlbMapping {
    private final Hstate pool;
    /** The NUMA node its page-table pages prefer (the process's). */
    private int tableNode;
    private final boolean noreserve;
    private final int[] frames;
    /** Per 1 GiB of a 2 MiB-page mapping, its PMD page's frame + 1 (0: none yet); empty for 1 GiB pages. */
    private final int[] pmdTable;
    private long tablePages;
    private long faulted;
    private boolean unmapped;

    private HugetlbMapping(Hstate pool, long pages, boolean noreserve) {
        this.pool = pool;
        this.noreserve = noreserve;
        this.frames = new int[Math.toIntExact(pages)];
        Arrays.fill(frames, -1);
        long perGiB = (1L << 30) / pool.pageBytes();
        this.pmdTable = new int[perGiB == 1 ? 0 : Math.toIntExact((pages + perGiB - 1) / perGiB)];
    }

    /** Whether a fault of huge page {@code index} would first need a PMD page (an order-0 frame). */
    public boolean needsTablePage(long index) {
        return pmdTable.length > 0 && pmdTable[Math.toIntExact(index) / 512] == 0;
    }

    /** Page-table pages (PMD pages) this mapping holds. */
    public long tablePages() {
        return tablePages;
    }

    /**
     * Maps {@code bytes} (rounded up to the huge page size, as mmap does for MAP_HUGETLB) and
     * reserves it unless {@code noreserve}.
     *
     * @throws HugetlbException ENOMEM when the pool (with overcommit) cannot cover the reservation
     */
    public static HugetlbMapping mmap(Hstate pool, long bytes, boolean noreserve) throws HugetlbException {
        long pages = (bytes + pool.pageBytes() - 1) / pool.pageBytes();
        HugetlbMapping m = new HugetlbMapping(pool, pages, noreserve);
        if (!noreserve && !pool.acct(pages)) {
            throw new HugetlbException(HugetlbException.ENOMEM);
        }
        return m;
    }

    public long pages() {
        return frames.length;
    }

    /** Sets the NUMA node its page-table pages prefer. */
    public void tableNode(int node) {
        tableNode = node;
    }

    public long faultedPages() {
        return faulted;
    }

    public boolean noreserve() {
        return noreserve;
    }

    public Hstate pool() {
        return pool;
    }

    /** The head frame backing huge page {@code index}, or -1 if it was never faulted. */
    public int frameOf(long index) {
        return frames[Math.toIntExact(index)];
    }

    /**
     * Touches huge page {@code index}. Returns true if it is (now) present, false when the kernel
     * would deliver SIGBUS (no reservation and no free or surplus page).
     */
    public boolean fault(long index) {
        checkMapped();
        int i = Math.toIntExact(index);
        if (frames[i] >= 0) {
            return true;
        }
        if (pmdTable.length > 0) {
            int g = i / 512;
            if (pmdTable[g] == 0) {
                int t = pool.mem().alloc(0, tableNode);
                if (t < 0) {
                    return false;
                }
                pmdTable[g] = t + 1;
                tablePages++;
                pool.mem().add(HostMemory.Counter.PAGE_TABLES, 1);
            }
        }
        int f = pool.allocForFault(!noreserve);
        if (f < 0) {
            return false;
        }
        frames[i] = f;
        faulted++;
        return true;
    }

    /** Unmaps everything: frees the faulted pages, returns the unused reservation. */
    public void munmap() {
        checkMapped();
        for (int i = 0; i < frames.length; i++) {
            if (frames[i] >= 0) {
                pool.freePage(frames[i]);
                frames[i] = -1;
            }
        }
        if (!noreserve) {
            pool.acct(-(frames.length - faulted));
        }
        for (int g = 0; g < pmdTable.length; g++) {
            if (pmdTable[g] != 0) {
                pool.mem().free(pmdTable[g] - 1, 0);
                pmdTable[g] = 0;
            }
        }
        pool.mem().add(HostMemory.Counter.PAGE_TABLES, -tablePages);
        tablePages = 0;
        unmapped = true;
    }

    private void checkMapped() {
        if (unmapped) {
            throw new IllegalStateException("mapping already unmapped");
        }
    }
}
