package org.kvmsim.sim.ksm;

/** A region backed by a plain array of content identities: 8 bytes a page. */
final class ArrayRegion implements MergeableRegion {
    final long[] content;

    ArrayRegion(long[] content) {
        this.content = content;
    }

    @Override
    public int pages() {
        return content.length;
    }

    @Override
    public long content(int page) {
        return content[page];
    }
}
