package org.kvmsim.model;

import java.util.Locale;

/**
 * What backs a VM's RAM in the host: anonymous memory (QEMU's default), anonymous memory with
 * transparent hugepages, or a hugetlbfs pool (-mem-path /dev/hugepages).
 */
public record Backing(Kind kind, String pool) {

    public enum Kind { ANONYMOUS, THP, HUGEPAGES }

    public static final Backing ANONYMOUS = new Backing(Kind.ANONYMOUS, null);
    public static final Backing THP = new Backing(Kind.THP, null);

    public static Backing hugepages(String pool) {
        return new Backing(Kind.HUGEPAGES, pool);
    }

    @Override
    public String toString() {
        return kind == Kind.HUGEPAGES ? "hugepages " + pool : kind.name().toLowerCase(Locale.ROOT);
    }
}
