package org.kvmsim.sim.view;

import java.util.Locale;

/**
 * One memory reference made by the page walker. {@code tableAddress} and {@code entryAddress} are
 * guest-physical for the guest dimension under nested paging and host-physical otherwise
 * (for native paging they are the machine's physical addresses, i.e. the GPA).
 * {@code translating} is the address this dimension is translating (the GVA for guest and
 * shadow references; for nested ones the GPA of a guest table or of the data). What the entry
 * holds: {@code next} is the next table's address or, for a leaf, the page's base address
 * ({@code pageSize} bytes), or -1 when the entry is not present.
 */
public record WalkRef(int step, Dimension dimension, int level, long tableAddress, int index, long entryAddress,
                      long translating, long next, long pageSize) {

    public enum Dimension {
        GUEST, NESTED, SHADOW;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Whether the entry maps a page (a leaf) rather than pointing at the next table. */
    public boolean leaf() {
        return pageSize != 0;
    }
}
