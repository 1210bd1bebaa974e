package org.kvmsim.sim.ksm;

/**
 * What ksmd did to a page's backing frame, for the engine's frame accounting. Copy-on-write
 * breaks caused by guest writes are not reported here: {@link Ksmd#onWrite} returns them.
 */
public interface KsmListener {
    /** The page's private frame was freed: it now maps a KSM page (or the zero page). */
    default void merged(int slot, int page) {}

    /** ksmd broke copy-on-write itself (run = 2): the page has a private frame again. */
    default void unmerged(int slot, int page) {}

    KsmListener NONE = new KsmListener() {};
}
