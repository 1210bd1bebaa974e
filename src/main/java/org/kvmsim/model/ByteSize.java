package org.kvmsim.model;

import java.util.Locale;

/** A size in bytes, printed in the largest binary unit that divides it exactly. */
public record ByteSize(long bytes) implements Comparable<ByteSize> {

    public static final long KIB = 1L << 10, MIB = 1L << 20, GIB = 1L << 30, TIB = 1L << 40;
    public static final ByteSize PAGE_4K = new ByteSize(4 * KIB);
    public static final ByteSize PAGE_2M = new ByteSize(2 * MIB);
    public static final ByteSize PAGE_1G = new ByteSize(GIB);

    public long pages4k() {
        return bytes >>> 12;
    }

    @Override
    public int compareTo(ByteSize o) {
        return Long.compare(bytes, o.bytes);
    }

    @Override
    public String toString() {
        String[] units = {"TiB", "GiB", "MiB", "KiB"};
        long[] sizes = {TIB, GIB, MIB, KIB};
        for (int i = 0; i < units.length; i++) {
            if (bytes != 0 && bytes % sizes[i] == 0) return String.format(Locale.ROOT, "%d %s", bytes / sizes[i], units[i]);
        }
        return bytes + " B";
    }
}
