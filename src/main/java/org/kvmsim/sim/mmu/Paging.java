package org.kvmsim.sim.mmu;

import java.util.Locale;

/** How a VM's guest-virtual addresses reach machine memory. */
public enum Paging {
    /** No virtualization: the guest page tables are the machine's (the baseline). */
    NATIVE,
    /** Intel EPT: hardware two-dimensional walk over guest and nested tables. */
    EPT,
    /** AMD NPT: the same mechanism as EPT under AMD's name. */
    NPT,
    /** KVM shadow paging: the VMM keeps GVA -> HPA tables the hardware walks. */
    SHADOW;

    public boolean nested() {
        return this == EPT || this == NPT;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Paging parse(String s) {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
    }
}
