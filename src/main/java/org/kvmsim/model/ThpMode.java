package org.kvmsim.model;

import java.util.Locale;

/** /sys/kernel/mm/transparent_hugepage/enabled. */
public enum ThpMode {
    /** Every anonymous mapping may get THPs. */
    ALWAYS,
    /** Only madvise(MADV_HUGEPAGE) regions, which QEMU applies to guest RAM. */
    MADVISE,
    /** No THP at fault time, and khugepaged collapses nothing. */
    NEVER;

    /** The word sysfs shows and the language writes ("madvise"). */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The mode a word names ("madvise"), whatever the user's locale. */
    public static ThpMode of(String word) {
        return valueOf(word.toUpperCase(Locale.ROOT));
    }
}
