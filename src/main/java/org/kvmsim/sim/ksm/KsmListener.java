package org.kvmsim.sim.ksm;

/**
 * What ksmd did to pages' backing frames, for the engine's frame accounting: which KSM pages
 * (stable nodes, by id) exist, which pages map them, and when a KSM page is freed. Copy-on-write
 * breaks caused by guest writes are not reported here: {@link Ksmd#onWrite} returns them (and a
 * KSM page that loses its last mapping there is reported through {@link #kpageFreed}).
 *
 * <p>The calls follow mm/ksm.c. A merge of two unstable-tree pages is
 * try_to_merge_two_pages(): the page being scanned is write-protected and becomes the KSM page
 * itself, then the tree page is replaced by it, then stable_tree_insert() gives it a stable node:
 * here {@link #kpageCreated}, then {@link #merged} for the scanned page (the engine lets it
 * become the KSM page: its own frame is the one the KSM page occupies) and for the tree page. A
 * stable-tree hit is try_to_merge_with_ksm_page() then stable_tree_append(): one {@link #merged}.
 * A KSM page is freed with its last mapping (the folio's last put: a COW break in do_wp_page(),
 * zap at exit, break_ksm() of run = 2); its stable node lingers until a tree walk finds it stale
 * (ksm_get_folio() -> remove_node_from_stable_tree()), which needs no call here.
 */
public interface KsmListener {
    /** The kpage id of the kernel's shared zero page (use_zero_pages): it has no frame of its own. */
    int ZERO_PAGE = 0;

    /** A new KSM page (stable node {@code kpage}, ids from 1); the next {@link #merged} of it becomes it. */
    default void kpageCreated(int kpage) {}

    /**
     * The page now maps KSM page {@code kpage} (or {@link #ZERO_PAGE}): replace_page() freed its
     * private frame, except for the first page merged into a new KSM page, whose frame became it.
     */
    default void merged(int slot, int page, int kpage) {}

    /**
     * Whether try_to_merge_two_pages() of the scanned page with an unstable-tree page fails
     * because both lie in one THP: the reference ksmd holds on the tree page (get_mergeable_page())
     * is one more than can_split_folio() allows, so try_to_merge_one_page()'s split_folio() fails
     * (thp_split_page_failed) and nothing merges; cmp_and_merge_page() then, the tree page's
     * reference dropped, splits the THP without merging (split_huge_page(): thp_split_page).
     * mm/ksm.c cmp_and_merge_page() since Linux 4.17 (commit 77da2ba0648a, "If both pages we
     * tried to merge belong to the same compound page..."), folio-converted and kept through 6.18.
     * The engine does both splits' accounting.
     */
    default boolean splitFailsOnMerge(int slot, int page, int treeSlot, int treePage) {
        return false;
    }

    /** KSM page {@code kpage} lost its last mapping: its frame is freed. */
    default void kpageFreed(int kpage) {}

    /** ksmd broke copy-on-write itself (run = 2, break_ksm()): the page has a private frame again. */
    default void unmerged(int slot, int page) {}

    KsmListener NONE = new KsmListener() {};
}
