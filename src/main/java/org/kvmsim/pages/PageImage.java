package org.kvmsim.pages;

import java.util.ArrayList;
import java.util.List;

/**
 * Real guest memory reduced to what KSM compares: for each dump of each guest, one content code
 * per 4 KiB page of every RAM block QEMU registered (guest RAM, and the BIOS, option ROMs, ACPI
 * tables, video RAM that ksmd scans too), read from a {@code .pages} file (docs/pages-format.md).
 *
 * <p>A code is {@link #ABSENT} (the host holds no page there: ksmd skips it),
 * {@link #ZERO_PAGE_MAPPED} (the host maps the shared zero page: not anonymous memory, skipped by
 * ksmd too), {@link #ZERO} (a present page of zero bytes), or from {@link #FIRST_ID} on a dense
 * content id: equal ids are equal pages, in any dump and any guest of the file. Codes are int[]
 * per block (a page is 4 bytes, never an object); flags (bit {@link #THP}) are byte[].
 */
public final class PageImage {
    public static final int ABSENT = 0;
    public static final int ZERO_PAGE_MAPPED = 1;
    public static final int ZERO = 2;
    public static final int FIRST_ID = 3;
    /** Page flag: the page was part of a transparent huge page in the host (pagemap's 0x10). */
    public static final byte THP = 0x10;

    /** One RAM block (`info ramblock`): its pages and where it sits in guest-physical memory. */
    public record Block(String name, int pages, List<long[]> gpaRanges) {
        public Block {
            gpaRanges = List.copyOf(gpaRanges);
        }
    }

    /**
     * One dump of one guest: {@code codes[b][p]} for page p of block b; {@code presenceKnown}
     * false when it came from a RAM dump alone (raw or ELF), which cannot tell a page the host
     * holds zeroed from one never touched: every page then reads as present.
     */
    public record Dump(int guest, String tag, double seconds, long fullScansAtDump, boolean presenceKnown,
                       int[][] codes, byte[][] flags) {}

    private final List<Block> blocks;
    private final List<String> guests;
    private final List<Dump> dumps;
    private final int contents;

    public PageImage(List<Block> blocks, List<String> guests, List<Dump> dumps, int contents) {
        this.blocks = List.copyOf(blocks);
        this.guests = List.copyOf(guests);
        this.dumps = List.copyOf(dumps);
        this.contents = contents;
    }

    public List<Block> blocks() {
        return blocks;
    }

    public List<String> guests() {
        return guests;
    }

    public List<Dump> dumps() {
        return dumps;
    }

    /** Distinct non-zero page contents in the file (ids FIRST_ID .. FIRST_ID + contents - 1). */
    public int contents() {
        return contents;
    }

    /** The guest RAM block (pc.ram, or a memory backend): the one that maps guest-physical 0, else the largest. */
    public int ramBlock() {
        int best = 0;
        for (int b = 0; b < blocks.size(); b++) {
            for (long[] r : blocks.get(b).gpaRanges()) if (r[0] == 0) return b;
            if (blocks.get(b).pages() > blocks.get(best).pages()) best = b;
        }
        return best;
    }

    /** A guest's dumps in time order (file order among equal times). */
    public List<Dump> dumpsOf(int guest) {
        List<Dump> out = new ArrayList<>();
        for (Dump d : dumps) if (d.guest() == guest) out.add(d);
        out.sort((a, b) -> Double.compare(a.seconds(), b.seconds()));
        return out;
    }

    /** The dump a VM booted from this image takes for guest {@code guest}: its latest. */
    public Dump latest(int guest) {
        List<Dump> ds = dumpsOf(guest);
        return ds.get(ds.size() - 1);
    }

    /** Pages present (in the host) in a dump's block: anything but ABSENT and ZERO_PAGE_MAPPED. */
    public static long present(int[] codes) {
        long n = 0;
        for (int c : codes) if (c >= ZERO) n++;
        return n;
    }

    /**
     * How often each page of block {@code b} of a guest changed between its dumps: per page the
     * number of consecutive pairs of dumps (in time) in which it was present in both with
     * different contents; {@link Changes#seconds} is the time the pairs span. Null with fewer
     * than two timed dumps.
     */
    public Changes changes(int guest, int b) {
        List<Dump> ds = dumpsOf(guest);
        if (ds.size() < 2 || Double.isNaN(ds.get(0).seconds())) return null;
        int[] count = new int[blocks.get(b).pages()];
        double span = ds.get(ds.size() - 1).seconds() - ds.get(0).seconds();
        if (!(span > 0)) return null;
        for (int i = 1; i < ds.size(); i++) {
            int[] a = ds.get(i - 1).codes()[b], c = ds.get(i).codes()[b];
            for (int p = 0; p < count.length; p++) if (a[p] >= ZERO && c[p] >= ZERO && a[p] != c[p]) count[p]++;
        }
        return new Changes(count, span);
    }

    /** Per page, changes seen over {@code seconds} of the guest's life. */
    public record Changes(int[] count, double seconds) {}
}
