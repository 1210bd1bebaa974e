package org.kvmsim.sim.guest;

import java.util.Arrays;

/**
 * The contents of one guest's RAM: a 64-bit content identity per present 4 KiB page, not 4 KiB of
 * bytes. Two pages with the same identity are identical (what KSM compares); {@link #ZERO} is a
 * zero-filled page; {@link #ABSENT} marks a page never touched.
 *
 * <p>Storage is sparse: one long[512] chunk per 2 MiB of guest-physical memory, allocated on the
 * first touch in it, so declared but untouched RAM costs 8 bytes per 2 MiB (the chunk directory)
 * and a present page 8 bytes.
 */
public final class GuestMemory {

    public static final long ZERO = 0;
    public static final long ABSENT = Long.MIN_VALUE;
    static final int CHUNK_SHIFT = 9;
    static final int CHUNK = 1 << CHUNK_SHIFT;

    private final long pages;
    private final long[][] chunks;
    private long present;

    public GuestMemory(long pages) {
        this.pages = pages;
        this.chunks = new long[Math.toIntExact((pages + CHUNK - 1) >>> CHUNK_SHIFT)][];
    }

    public long pages() {
        return pages;
    }

    public long presentPages() {
        return present;
    }

    public long content(long page) {
        long[] c = chunks[(int) (page >>> CHUNK_SHIFT)];
        return c == null ? ABSENT : c[(int) (page & (CHUNK - 1))];
    }

    public boolean isPresent(long page) {
        return content(page) != ABSENT;
    }

    /** Sets a page's content; returns true if the page was not present before (a first touch). */
    public boolean set(long page, long content) {
        int ci = (int) (page >>> CHUNK_SHIFT);
        long[] c = chunks[ci];
        if (c == null) {
            c = new long[CHUNK];
            Arrays.fill(c, ABSENT);
            chunks[ci] = c;
        }
        int i = (int) (page & (CHUNK - 1));
        boolean first = c[i] == ABSENT;
        c[i] = content;
        if (first) present++;
        return first;
    }

    /** The page is no longer present (its host page went; it reads as never touched). */
    public void clear(long page) {
        long[] c = chunks[(int) (page >>> CHUNK_SHIFT)];
        if (c == null || c[(int) (page & (CHUNK - 1))] == ABSENT) return;
        c[(int) (page & (CHUNK - 1))] = ABSENT;
        present--;
    }

    // --- content identities

    /** splitmix64's finalizer: a bijection, so distinct inputs give distinct identities. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static long avoidSentinels(long id) {
        return id == ZERO || id == ABSENT ? id + 1 : id;
    }

    /** `same N`: identical wherever N is used, in any VM. */
    public static long same(long tag) {
        return avoidSentinels(mix(0x5a3e000000000000L ^ mix(tag)));
    }

    /** Page {@code index} of image {@code imageName}: identical in every VM booted from it. */
    public static long image(String imageName, long index) {
        return avoidSentinels(mix(mix(0x1a9e000000000000L ^ imageName.hashCode()) + index));
    }

    /** A content no other page has: {@code serial} comes from a per-engine counter. */
    public static long unique(long serial) {
        return avoidSentinels(mix(0x0e1c000000000000L + serial * 0x9e3779b97f4a7c15L));
    }
}
