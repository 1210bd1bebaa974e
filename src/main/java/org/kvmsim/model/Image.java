package org.kvmsim.model;

import org.kvmsim.pages.PageImage;

/**
 * A guest image: what a booted guest has touched, and how much of it every guest shares; or,
 * with {@code from}, real guest memory read from a page file ({@code pages}, kept by reference:
 * it is never changed once read). {@code footprint} is then the most pages any of its guests
 * held, for the heap estimate.
 */
public record Image(String name, long footprint, double sharedPct, double zeroPct, String from, PageImage pages,
                    String dump) implements Declaration {

    public Image(String name, long footprint, double sharedPct, double zeroPct) {
        this(name, footprint, sharedPct, zeroPct, null, null, null);
    }

    /** The dump a VM booted from this image takes for guest {@code guest}: the one tagged {@code dump}, else the latest. */
    public PageImage.Dump dumpOf(int guest) {
        if (dump == null) return pages.latest(guest);
        for (PageImage.Dump d : pages.dumpsOf(guest)) if (d.tag().equals(dump)) return d;
        throw new IllegalStateException("guest " + guest + " has no dump '" + dump + "' (the checker refuses such an image)");
    }
}
