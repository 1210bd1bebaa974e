package org.kvmsim.sim.ksm;

import java.util.Arrays;

/**
 * The page layout of /work/shared/tools/ksm_probe.c, rebuilt as content identities: one
 * process's anonymous region. Contents are derived from the same words the probe writes
 * (word 0, word 1, word 2 of the page; the rest is zero), so pages the probe makes identical
 * are identical here and no others.
 */
final class ProbeLayout implements MergeableRegion {
    final long[] content;
    final long[] word0;
    final long[] word1;
    final int volatileStart;
    private final int pid;

    ProbeLayout(int pages, int groups, int perGroup, int zeros, int imagePages, int volatilePages, int pid) {
        this.pid = pid;
        content = new long[pages];
        word0 = new long[pages];
        word1 = new long[pages];
        int p = 0;
        for (int g = 0; g < groups; g++) {
            for (int k = 0; k < perGroup && p < pages; k++, p++) {
                word0[p] = 0xD0D0000000000000L + g + 1;
            }
        }
        for (int z = 0; z < zeros && p < pages; z++, p++) {
            word0[p] = 0;
        }
        for (int i = 0; i < imagePages && p < pages; i++, p++) {
            word0[p] = 0xBEEF000000000000L + i;
        }
        for (; p < pages; p++) {
            word0[p] = 0xABCD000000000000L + p;
            word1[p] = pid;
        }
        volatileStart = pages - volatilePages;
        for (int q = 0; q < pages; q++) {
            content[q] = identity(word0[q], word1[q], 0);
        }
    }

    static long identity(long w0, long w1, long w2) {
        if (w0 == 0 && w1 == 0 && w2 == 0) {
            return MergeableRegion.ZERO;
        }
        long h = w0 * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
        h = (h ^ (h >>> 31)) * 0xBF58476D1CE4E5B9L + w1;
        h = (h ^ (h >>> 29)) * 0x94D049BB133111EBL + w2;
        h ^= h >>> 32;
        return h == MergeableRegion.ZERO || h == MergeableRegion.ABSENT ? 1 : h;
    }

    /** The probe's volatile tick: word 2 of every volatile page. */
    void tick(long tick) {
        for (int p = volatileStart; p < content.length; p++) {
            content[p] = identity(word0[p], word1[p], tick);
        }
    }

    /** The probe's write after scan N: word 1 of the first pages becomes 0x77. */
    void write(int pages, Ksmd ksmd, int slot) {
        for (int p = 0; p < pages && p < content.length; p++) {
            word1[p] = 0x77;
            content[p] = identity(word0[p], 0x77, 0);
            ksmd.onWrite(slot, p);
        }
    }

    @Override
    public int pages() {
        return content.length;
    }

    @Override
    public long content(int page) {
        return content[page];
    }

    @Override
    public String toString() {
        return "probe pid " + pid + " " + Arrays.toString(Arrays.copyOf(content, 4));
    }
}
