package org.kvmsim.model;

import java.util.Locale;

/** /sys/kernel/mm/transparent_hugepage/enabled. */
public enum ThpMode {
    ALWAYS, MADVISE, NEVER;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
