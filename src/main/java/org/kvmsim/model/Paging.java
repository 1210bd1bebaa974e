package org.kvmsim.model;

import java.util.Locale;

/** How guest virtual addresses reach host memory. */
public enum Paging {
    /** Intel EPT: hardware 2D walk through guest and nested tables. */
    EPT,
    /** AMD NPT: the same two-dimensional walk, AMD's name. */
    NPT,
    /** KVM's shadow page tables (GVA -> HPA), maintained in software. */
    SHADOW,
    /** No virtualization: the baseline. */
    NATIVE;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean nested() {
        return this == EPT || this == NPT;
    }
}
