package org.kvmsim.pages;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZ;
import org.tukaani.xz.XZInputStream;
import org.tukaani.xz.XZOutputStream;

/**
 * The {@code .pages} file (docs/pages-format.md): an 8-byte magic, a version, then one xz stream
 * holding the blocks, guests, dumps and every dump's page codes (delta-coded, so runs of new
 * contents and dumps that repeat an earlier one compress to little). Same image, same bytes: no
 * time stamps, no paths, a fixed xz preset.
 */
public final class PageFile {
    public static final byte[] MAGIC = "KVMSIMPG".getBytes(StandardCharsets.US_ASCII);
    public static final int VERSION = 1;
    /** Refuse what no real guest needs, before allocating for it (a corrupt header). */
    static final int MAX_BLOCK_PAGES = 1 << 30;

    private PageFile() {}

    public static void write(PageImage img, Path out) throws IOException {
        try (OutputStream os = new BufferedOutputStream(Files.newOutputStream(out))) {
            os.write(MAGIC);
            new DataOutputStream(os).writeInt(VERSION);
            LZMA2Options opt = new LZMA2Options(6);
            // one dump of a 4 GiB guest is 4 MiB of codes: a dictionary that reaches back over a
            // whole earlier dump finds the pages it repeats
            opt.setDictSize(32 << 20);
            XZOutputStream xz = new XZOutputStream(os, opt, XZ.CHECK_CRC64);
            DataOutputStream d = new DataOutputStream(new BufferedOutputStream(xz, 1 << 16));
            d.writeInt(img.contents());
            d.writeShort(img.blocks().size());
            for (PageImage.Block b : img.blocks()) {
                d.writeUTF(b.name());
                d.writeInt(b.pages());
                d.writeShort(b.gpaRanges().size());
                for (long[] r : b.gpaRanges()) {
                    d.writeLong(r[0]);
                    d.writeLong(r[1]);
                    d.writeLong(r[2]);
                }
            }
            d.writeShort(img.guests().size());
            for (String g : img.guests()) d.writeUTF(g);
            d.writeShort(img.dumps().size());
            for (PageImage.Dump dm : img.dumps()) {
                d.writeShort(dm.guest());
                d.writeUTF(dm.tag());
                d.writeDouble(dm.seconds());
                d.writeLong(dm.fullScansAtDump());
                d.writeByte(dm.presenceKnown() ? 1 : 0);
            }
            for (PageImage.Dump dm : img.dumps()) {
                for (int b = 0; b < img.blocks().size(); b++) {
                    int prev = 0;
                    for (int c : dm.codes()[b]) {
                        d.writeInt(c - prev);
                        prev = c;
                    }
                    d.write(dm.flags()[b]);
                }
            }
            d.flush();
            xz.finish();
        }
    }

    private record Stamp(Path file, long size, long modified) {}

    /** The last few files read, so a notebook cell run again (or a sweep) does not read them again. */
    private static final java.util.Map<Stamp, PageImage> CACHE = new java.util.LinkedHashMap<>(4, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Stamp, PageImage> e) {
            return size() > 4;
        }
    };

    /** {@link #read}, reusing the image already read from the same file unchanged (size and time). */
    public static PageImage readCached(Path file) throws BadDump {
        Stamp st;
        try {
            Path abs = file.toAbsolutePath().normalize();
            st = new Stamp(abs, Files.size(abs), Files.getLastModifiedTime(abs).toMillis());
        } catch (IOException e) {
            throw new BadDump(file.toString(), -1, "cannot read: " + e.getMessage());
        }
        synchronized (CACHE) {
            PageImage img = CACHE.get(st);
            if (img != null) return img;
        }
        PageImage img = read(file);
        synchronized (CACHE) {
            CACHE.put(st, img);
        }
        return img;
    }

    /** Reads a page file; a damaged or foreign one is a {@link BadDump} with the offset where it went wrong. */
    public static PageImage read(Path file) throws BadDump {
        String name = file.toString();
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] magic = raw.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw new BadDump(name, 0, "not a kvmsim page file (it does not start with KVMSIMPG); make one with"
                        + " `kvmsim image import DUMP... --out FILE.pages`");
            }
            DataInputStream h = new DataInputStream(raw);
            int version = h.readInt();
            if (version != VERSION) {
                throw new BadDump(name, 8, "page file version " + version + "; this kvmsim reads version " + VERSION);
            }
            Counting count = new Counting(new XZInputStream(raw));
            DataInputStream d = new DataInputStream(count);
            try {
                return body(d, name, count);
            } catch (EOFException e) {
                throw new BadDump(name, -1, "truncated: the compressed data ends after " + count.n + " bytes of content");
            } catch (IOException e) {
                throw new BadDump(name, -1, "damaged compressed data after " + count.n + " bytes of content: " + e.getMessage());
            }
        } catch (BadDump b) {
            throw b;
        } catch (EOFException e) {
            throw new BadDump(name, -1, "truncated before its compressed data");
        } catch (IOException e) {
            throw new BadDump(name, -1, "cannot read: " + e.getMessage());
        }
    }

    private static PageImage body(DataInputStream d, String name, Counting at) throws IOException, BadDump {
        int contents = d.readInt();
        if (contents < 0) throw new BadDump(name, -1, "bad count of contents " + contents + " (uncompressed offset " + (at.n - 4) + ")");
        int nb = d.readUnsignedShort();
        List<PageImage.Block> blocks = new ArrayList<>();
        for (int i = 0; i < nb; i++) {
            String bn = d.readUTF();
            int pages = d.readInt();
            if (pages < 0 || pages > MAX_BLOCK_PAGES) {
                throw new BadDump(name, -1, "block '" + bn + "' of " + pages + " pages (uncompressed offset " + (at.n - 4) + ")");
            }
            int nr = d.readUnsignedShort();
            List<long[]> ranges = new ArrayList<>();
            for (int r = 0; r < nr; r++) ranges.add(new long[] {d.readLong(), d.readLong(), d.readLong()});
            blocks.add(new PageImage.Block(bn, pages, ranges));
        }
        int ng = d.readUnsignedShort();
        List<String> guests = new ArrayList<>();
        for (int i = 0; i < ng; i++) guests.add(d.readUTF());
        int nd = d.readUnsignedShort();
        int[] dg = new int[nd];
        String[] tag = new String[nd];
        double[] sec = new double[nd];
        long[] scans = new long[nd];
        boolean[] known = new boolean[nd];
        for (int i = 0; i < nd; i++) {
            dg[i] = d.readUnsignedShort();
            if (dg[i] >= ng) throw new BadDump(name, -1, "dump " + i + " of guest " + dg[i] + "; the file has " + ng + " guests");
            tag[i] = d.readUTF();
            sec[i] = d.readDouble();
            scans[i] = d.readLong();
            known[i] = d.readByte() != 0;
        }
        List<PageImage.Dump> dumps = new ArrayList<>();
        for (int i = 0; i < nd; i++) {
            int[][] codes = new int[nb][];
            byte[][] flags = new byte[nb][];
            for (int b = 0; b < nb; b++) {
                int[] c = new int[blocks.get(b).pages()];
                int prev = 0;
                for (int p = 0; p < c.length; p++) {
                    prev += d.readInt();
                    if (prev < 0 || prev >= PageImage.FIRST_ID + contents) {
                        throw new BadDump(name, -1, "dump " + i + " block '" + blocks.get(b).name() + "' page " + p
                                + ": content code " + prev + " out of range (uncompressed offset " + (at.n - 4) + ")");
                    }
                    c[p] = prev;
                }
                codes[b] = c;
                flags[b] = d.readNBytes(c.length);
                if (flags[b].length != c.length) throw new EOFException();
            }
            dumps.add(new PageImage.Dump(dg[i], tag[i], sec[i], scans[i], known[i], codes, flags));
        }
        if (d.read() != -1) throw new BadDump(name, -1, "unexpected data after the last dump (uncompressed offset " + (at.n - 1) + ")");
        for (int g = 0; g < ng; g++) {
            final int gg = g;
            if (dumps.stream().noneMatch(x -> x.guest() == gg)) throw new BadDump(name, -1, "guest '" + guests.get(g) + "' has no dump");
        }
        return new PageImage(blocks, guests, dumps, contents);
    }

    /** Counts the uncompressed bytes read, so an error can say where. */
    private static final class Counting extends java.io.FilterInputStream {
        long n;

        Counting(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) n++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int r = super.read(b, off, len);
            if (r > 0) n += r;
            return r;
        }
    }
}
