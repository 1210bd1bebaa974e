package org.kvmsim.sim.view;

/**
 * What ksmd holds of one VM's mergeable RAM (its mm_slot): rmap_items, pages mapping a KSM page
 * (the KSM page itself included) and pages mapping the zero page (use_zero_pages).
 */
public record KsmSlotState(long rmapItems, long ksmMapped, long zeroMapped) {

    /** Pages of this VM that are merged: they map a KSM page or the zero page. */
    public long merged() {
        return ksmMapped + zeroMapped;
    }
}
