package org.kvmsim.model;

import java.util.Locale;

/** How a VM's guest-virtual addresses reach host memory: the declaration's word and the MMU's mode. */
public enum Paging {
    /** No virtualization: the guest page tables are the machine's (the baseline). */
    NATIVE,
    /** Intel EPT: hardware two-dimensional walk over guest and nested tables. */
    EPT,
    /** AMD NPT: the same mechanism as EPT under AMD's name. */
    NPT,
    /** KVM shadow paging: the VMM keeps GVA -> HPA tables the hardware walks. */
    SHADOW;

    /** The word the language writes and tables print ("ept"), whatever the user's locale. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The mode a word names ("ept"), whatever the user's locale. */
    public static Paging of(String word) {
        return valueOf(word.trim().toUpperCase(Locale.ROOT));
    }

    public boolean nested() {
        return this == EPT || this == NPT;
    }
}
