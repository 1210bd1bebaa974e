package org.kvmsim.pages;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns real guest memory into a {@link PageImage}: raw RAM dumps (QEMU's {@code pmemsave 0
 * SIZE}), ELF cores (QEMU's {@code dump-guest-memory}, {@code virsh dump --memory-only}) and the
 * recorder's case folders (tools/realguest: case.json, then per dump {@code gI-TAG/BLOCK.bin} and
 * {@code BLOCK.pagemap}, one byte per page: 0 not present, 1 present, 2 the zero page, | 0x10
 * THP).
 *
 * <p>A page's identity is the first 128 bits of its SHA-256; identities are numbered densely in
 * the order they are first met (inputs in order, blocks in order, pages in address order), so the
 * same inputs give the same file. 128 bits: two different pages share one with probability about
 * n^2 / 2^129, nothing for the 10^8 pages of any real set of guests.
 *
 * <p>Layout of an ELF core: its PT_LOAD segments carry guest-physical addresses (p_paddr).
 * QEMU writes one per RAM range of its flat view (hw/core/.. dump/dump.c, get_guest_phys_blocks),
 * which for a pc or q35 machine are RAM below the VGA window, RAM from 1 MiB to below_4g_mem_size,
 * RAM from 4 GiB on, and ROM or option-ROM aliases in the 0xc0000-0xfffff and top-of-4-GiB
 * areas; the last are other RAM blocks (pc.bios, pc.rom) that the core cannot name, so they are
 * left out (the recorder's folders have them as blocks of their own). Guest RAM offsets follow
 * QEMU's split: gpa below 4 GiB is the offset, gpa from 4 GiB is offset + 4 GiB - lowmem. PT_NOTE
 * (NT_PRSTATUS and QEMU's "QEMU" notes of CPU state) is not needed and skipped; kdump-compressed
 * cores (dump-guest-memory -z/-l/-s) are refused.
 */
public final class DumpImport {
    private static final int PAGE = 4096;
    private static final long FOUR_GIB = 1L << 32;
    /** Low RAM never reaches past this on pc (0xe0000000) or q35 (0xb0000000): beyond is MMIO and ROM. */
    private static final long LOW_RAM_MAX = 0xe000_0000L;

    /** One input: a file or folder, the guest it belongs to (null: a guest of its own), its time (NaN: unknown). */
    public record Input(Path path, String guest, double seconds) {}

    private final Map<Key, Integer> ids = new HashMap<>();
    private final List<PageImage.Block> blocks = new ArrayList<>();
    private final Map<String, Integer> blockIndex = new HashMap<>();
    private final List<String> guests = new ArrayList<>();
    private final Map<String, Integer> guestIndex = new LinkedHashMap<>();
    private final List<Pending> dumps = new ArrayList<>();
    private final MessageDigest sha;
    private final List<String> notes = new ArrayList<>();

    private record Key(long hi, long lo) {}

    private record Pending(int guest, String tag, double seconds, long scans, boolean known, Map<Integer, int[]> codes,
                           Map<Integer, byte[]> flags) {}

    public DumpImport() {
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** What the import could not take exactly (printed by the command as notes). */
    public List<String> notes() {
        return notes;
    }

    public static PageImage read(List<Input> inputs, List<String> notes) throws BadDump {
        DumpImport im = new DumpImport();
        for (Input in : inputs) im.add(in);
        notes.addAll(im.notes);
        return im.image();
    }

    public void add(Input in) throws BadDump {
        Path p = in.path();
        String name = p.toString();
        if (Files.isDirectory(p)) {
            if (Files.isRegularFile(p.resolve("case.json"))) {
                recorderCase(p);
                return;
            }
            if (p.getParent() != null && Files.isRegularFile(p.getParent().resolve("case.json"))) {
                recorderCase(p.getParent(), p.getFileName().toString());
                return;
            }
            throw new BadDump(name, -1, "a folder without case.json (expected a recorder case folder, or one of its gI-TAG folders)");
        }
        if (!Files.isRegularFile(p)) throw new BadDump(name, -1, "no such file");
        byte[] head;
        try (InputStream s = Files.newInputStream(p)) {
            head = s.readNBytes(64);
        } catch (IOException e) {
            throw new BadDump(name, -1, "cannot read: " + e.getMessage());
        }
        String guest = in.guest() != null ? in.guest() : "g" + guests.size();
        if (head.length >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F') elf(p, head, guest, in.seconds());
        else if (head.length >= 8 && new String(head, 0, 8, java.nio.charset.StandardCharsets.ISO_8859_1).startsWith("KDUMP")) {
            throw new BadDump(name, 0, "a kdump-compressed core (dump-guest-memory -z/-l/-s): give the plain ELF format"
                    + " (dump-guest-memory without a format option) or a raw pmemsave");
        } else raw(p, guest, in.seconds());
    }

    // ------------------------------------------------------------------ raw and ELF

    /** pmemsave 0 SIZE: guest-physical bytes from 0, which below 3.5 GiB are the RAM block's offsets. */
    private void raw(Path p, String guest, double seconds) throws BadDump {
        long size;
        try {
            size = Files.size(p);
        } catch (IOException e) {
            throw new BadDump(p.toString(), -1, "cannot read: " + e.getMessage());
        }
        if (size == 0 || size % PAGE != 0) {
            throw new BadDump(p.toString(), size - size % PAGE, "a raw dump must be a whole number of 4 KiB pages (" + size + " bytes);"
                    + " ELF cores start with 0x7f 'ELF'");
        }
        if (size > LOW_RAM_MAX) {
            throw new BadDump(p.toString(), LOW_RAM_MAX, "a raw dump past 3.5 GiB holds MMIO holes, not RAM: dump such a guest"
                    + " with dump-guest-memory (an ELF core)");
        }
        int pages = Math.toIntExact(size / PAGE);
        int b = block("pc.ram", pages, List.of(new long[] {0, 0, size}), p.toString());
        int[] codes = new int[pages];
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            hashRange(ch, 0, codes, 0, pages, p.toString());
        } catch (IOException e) {
            throw new BadDump(p.toString(), -1, "cannot read: " + e.getMessage());
        }
        notes.add(p + ": a raw dump cannot tell held zero pages from untouched ones: every page counts as present");
        addDump(guest, p.getFileName().toString(), seconds, -1, false, Map.of(b, codes), Map.of());
    }

    private void elf(Path p, byte[] head, String guest, double seconds) throws BadDump {
        String name = p.toString();
        if (head.length < 64) throw new BadDump(name, head.length, "truncated ELF header");
        if (head[4] != 2) throw new BadDump(name, 4, "an ELF32 core: only ELF64 cores (x86-64 guests) are read");
        if (head[5] != 1) throw new BadDump(name, 5, "a big-endian ELF core: x86-64 cores are little-endian");
        ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
        if (h.getShort(16) != 4) throw new BadDump(name, 16, "ELF type " + h.getShort(16) + ", not a core (ET_CORE = 4)");
        long phoff = h.getLong(32);
        int phentsize = Short.toUnsignedInt(h.getShort(54));
        int phnum = Short.toUnsignedInt(h.getShort(56));
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (phnum == 0xffff) {
                // PN_XNUM: the real count is section header 0's sh_info (QEMU writes so past 65534 segments)
                long shoff = h.getLong(40);
                ByteBuffer sh = readAt(ch, shoff, 64, name);
                phnum = sh.getInt(44);
            }
            if (phentsize < 56) throw new BadDump(name, 54, "program header entries of " + phentsize + " bytes; ELF64 needs 56");
            List<long[]> ram = new ArrayList<>(); // gpa, file offset, length
            int skipped = 0;
            for (int i = 0; i < phnum; i++) {
                long at = phoff + (long) i * phentsize;
                ByteBuffer ph = readAt(ch, at, 56, name);
                if (ph.getInt(0) != 1) continue; // PT_LOAD only; PT_NOTE holds CPU state
                long off = ph.getLong(8), paddr = ph.getLong(24), filesz = ph.getLong(32), memsz = ph.getLong(40);
                if (filesz == 0) continue;
                if (filesz != memsz) throw new BadDump(name, at + 32, "segment at gpa 0x" + Long.toHexString(paddr) + " holds "
                        + filesz + " of its " + memsz + " bytes (a filtered core): dump without paging or filtering");
                if (paddr % PAGE != 0 || filesz % PAGE != 0) {
                    throw new BadDump(name, at + 24, "segment at gpa 0x" + Long.toHexString(paddr) + " is not whole 4 KiB pages");
                }
                if (off < 0 || off + filesz > fileSize) {
                    throw new BadDump(name, at + 8, "segment at gpa 0x" + Long.toHexString(paddr) + " lies past the end of the file"
                            + " (offset " + off + " + " + filesz + " > " + fileSize + "): truncated core");
                }
                boolean low = paddr + filesz <= Memory.VGA || paddr >= Memory.ONE_MIB && paddr + filesz <= LOW_RAM_MAX;
                if (low || paddr >= FOUR_GIB) ram.add(new long[] {paddr, off, filesz});
                else skipped++;
            }
            if (ram.isEmpty()) throw new BadDump(name, phoff, "no RAM segment (PT_LOAD) in the core");
            ram.sort((a, b) -> Long.compare(a[0], b[0]));
            long lowmem = 0, high = 0;
            for (long[] r : ram) {
                if (r[0] < FOUR_GIB) lowmem = Math.max(lowmem, r[0] + r[2]);
                else high = Math.max(high, r[0] + r[2] - FOUR_GIB);
            }
            long size = lowmem + high;
            int pages = Math.toIntExact(size / PAGE);
            List<long[]> gpaRanges = new ArrayList<>();
            int[] codes = new int[pages];
            for (long[] r : ram) {
                long ramOff = r[0] < FOUR_GIB ? r[0] : r[0] - FOUR_GIB + lowmem;
                gpaRanges.add(new long[] {r[0], ramOff, r[2]});
                hashRange(ch, r[1], codes, (int) (ramOff / PAGE), (int) (r[2] / PAGE), name);
            }
            if (skipped > 0) notes.add(name + ": " + skipped + " ROM segment(s) (option ROMs, BIOS aliases) left out: an ELF"
                    + " core does not name their RAM blocks");
            notes.add(name + ": an ELF core cannot tell held zero pages from untouched ones: every page counts as present");
            int b = block("pc.ram", pages, gpaRanges, name);
            addDump(guest, p.getFileName().toString(), seconds, -1, false, Map.of(b, codes), Map.of());
        } catch (IOException e) {
            throw new BadDump(name, -1, "cannot read: " + e.getMessage());
        }
    }

    private static final class Memory {
        static final long VGA = 0xa0000L;
        static final long ONE_MIB = 0x100000L;
    }

    private static ByteBuffer readAt(FileChannel ch, long at, int len, String name) throws IOException, BadDump {
        ByteBuffer b = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) throw new BadDump(name, at, "truncated: " + len + " bytes expected here");
        }
        return b;
    }

    /** Content codes of {@code pages} pages read at {@code off}, into codes[first..]; all present. */
    private void hashRange(FileChannel ch, long off, int[] codes, int first, int pages, String name) throws IOException, BadDump {
        ByteBuffer buf = ByteBuffer.allocate(PAGE * 256);
        int done = 0;
        while (done < pages) {
            int n = Math.min(256, pages - done);
            buf.clear().limit(n * PAGE);
            long at = off + (long) done * PAGE;
            while (buf.hasRemaining()) {
                if (ch.read(buf, at + buf.position()) < 0) {
                    throw new BadDump(name, at + buf.position(), "truncated: the file ends inside a page");
                }
            }
            byte[] a = buf.array();
            for (int i = 0; i < n; i++) codes[first + done + i] = code(a, i * PAGE);
            done += n;
        }
    }

    private int code(byte[] a, int off) {
        boolean zero = true;
        for (int i = 0; i < PAGE && zero; i += 8) {
            if (a[off + i] != 0 || a[off + i + 1] != 0 || a[off + i + 2] != 0 || a[off + i + 3] != 0 || a[off + i + 4] != 0
                    || a[off + i + 5] != 0 || a[off + i + 6] != 0 || a[off + i + 7] != 0) {
                zero = false;
            }
        }
        if (zero) return PageImage.ZERO;
        sha.update(a, off, PAGE);
        ByteBuffer d = ByteBuffer.wrap(sha.digest());
        Key k = new Key(d.getLong(0), d.getLong(8));
        Integer id = ids.get(k);
        if (id == null) {
            id = PageImage.FIRST_ID + ids.size();
            ids.put(k, id);
        }
        return id;
    }

    // ------------------------------------------------------------------ the recorder's case folders

    private void recorderCase(Path dir) throws BadDump {
        recorderCase(dir, null);
    }

    /** A recorder case (all its dumps, or only the folder {@code only}). */
    private void recorderCase(Path dir, String only) throws BadDump {
        Path cj = dir.resolve("case.json");
        JsonObject c;
        try {
            c = JsonParser.parseString(Files.readString(cj)).getAsJsonObject();
        } catch (IOException e) {
            throw new BadDump(cj.toString(), -1, "cannot read: " + e.getMessage());
        } catch (RuntimeException e) {
            throw new BadDump(cj.toString(), -1, "not a JSON object: " + e.getMessage());
        }
        JsonArray rbs = array(c, "ramblocks", cj);
        List<Integer> bidx = new ArrayList<>();
        List<String> bnames = new ArrayList<>();
        List<String> bfiles = new ArrayList<>();
        List<Integer> used = new ArrayList<>();
        for (JsonElement e : rbs) {
            JsonObject o = e.getAsJsonObject();
            String bn = string(o, "name", cj);
            long size = number(o, "size_bytes", cj);
            // a resizeable block (ACPI tables, fw_cfg files) is mapped at its max_length; the
            // recorder dumps its used_length, and what lies beyond is read from smaps below
            long max = o.has("max_bytes") ? number(o, "max_bytes", cj) : size;
            if (size % PAGE != 0 || max % PAGE != 0 || max < size) {
                throw new BadDump(cj.toString(), -1, "ram block '" + bn + "' of " + size + " bytes (at most " + max + "): not whole pages");
            }
            used.add((int) (size / PAGE));
            size = max;
            bfiles.add(o.has("file") ? string(o, "file", cj) : blockFile(bn));
            List<long[]> ranges = new ArrayList<>();
            if (o.has("gpa_ranges") && o.get("gpa_ranges").isJsonArray()) {
                for (JsonElement r : o.getAsJsonArray("gpa_ranges")) {
                    JsonArray ra = r.getAsJsonArray();
                    ranges.add(new long[] {ra.get(0).getAsLong(), ra.get(1).getAsLong(), ra.get(2).getAsLong()});
                }
            }
            bidx.add(block(bn, Math.toIntExact(size / PAGE), ranges, cj.toString()));
            bnames.add(bn);
        }
        JsonArray ds = array(c, "dumps", cj);
        List<JsonObject> smaps = smaps(dir.resolve("smaps.jsonl"));
        int matched = 0;
        for (JsonElement e : ds) {
            JsonObject o = e.getAsJsonObject();
            long g = number(o, "guest", cj);
            String tag = string(o, "tag", cj);
            String folder = "g" + g + "-" + tag;
            if (only != null && !only.equals(folder)) continue;
            matched++;
            double sec = o.has("seconds_since_boot") && !o.get("seconds_since_boot").isJsonNull()
                    ? o.get("seconds_since_boot").getAsDouble() : Double.NaN;
            long scans = o.has("ksm_full_scans_at_dump") && !o.get("ksm_full_scans_at_dump").isJsonNull()
                    ? o.get("ksm_full_scans_at_dump").getAsLong() : -1;
            Path dd = dir.resolve(folder);
            Map<Integer, int[]> codes = new HashMap<>();
            Map<Integer, byte[]> flags = new HashMap<>();
            for (int i = 0; i < bnames.size(); i++) {
                int b = bidx.get(i);
                String file = bfiles.get(i);
                Path bin = dd.resolve(file + ".bin"), pm = dd.resolve(file + ".pagemap");
                int pages = used.get(i);
                byte[] map;
                try {
                    map = Files.readAllBytes(pm);
                } catch (IOException x) {
                    throw new BadDump(pm.toString(), -1, "cannot read the block's pagemap: " + x.getMessage());
                }
                if (map.length != pages) throw new BadDump(pm.toString(), Math.min(map.length, pages), map.length + " pages in the pagemap,"
                        + " " + pages + " in ram block '" + bnames.get(i) + "' (case.json)");
                int[] cs = new int[pages];
                byte[] fl = new byte[pages];
                try (FileChannel ch = FileChannel.open(bin, StandardOpenOption.READ)) {
                    if (ch.size() != (long) pages * PAGE) {
                        throw new BadDump(bin.toString(), Math.min(ch.size(), (long) pages * PAGE), ch.size() + " bytes; ram block '"
                                + bnames.get(i) + "' has " + (long) pages * PAGE);
                    }
                    ByteBuffer buf = ByteBuffer.allocate(PAGE);
                    for (int pg = 0; pg < pages; pg++) {
                        int state = map[pg] & 0x0f;
                        fl[pg] = (byte) (map[pg] & PageImage.THP);
                        // 0x20: a KSM page at the time of the dump; its content is the page's all the same
                        if ((map[pg] & ~(0x0f | PageImage.THP | KSM_FLAG)) != 0 || state > 2) {
                            throw new BadDump(pm.toString(), pg, "page state 0x" + Integer.toHexString(map[pg] & 0xff)
                                    + " (0 not present, 1 present, 2 zero page, | 0x10 THP, | 0x20 KSM)");
                        }
                        if (state == 0) {
                            cs[pg] = PageImage.ABSENT;
                            continue;
                        }
                        if (state == 2) {
                            cs[pg] = PageImage.ZERO_PAGE_MAPPED;
                            continue;
                        }
                        buf.clear();
                        long at = (long) pg * PAGE;
                        while (buf.hasRemaining()) {
                            if (ch.read(buf, at + buf.position()) < 0) throw new BadDump(bin.toString(), at, "truncated");
                        }
                        cs[pg] = code(buf.array(), 0);
                    }
                } catch (IOException x) {
                    throw new BadDump(bin.toString(), -1, "cannot read: " + x.getMessage());
                }
                int all = blocks.get(b).pages();
                if (all > pages) {
                    cs = java.util.Arrays.copyOf(cs, all);
                    fl = java.util.Arrays.copyOf(fl, all);
                    int held = rssPagesBeyond(smaps, g, scans, bnames.get(i), cs, pages);
                    if (held > 0) {
                        // present in smaps (Rss) but past what the recorder dumped: pages of
                        // the block's max_length that QEMU never wrote (fresh anonymous memory
                        // mapped by a THP or multi-size THP fault of the used part): zero
                        for (int pg = pages; pg < pages + held; pg++) cs[pg] = PageImage.ZERO;
                        notes.add(dd + "/" + file + ": " + held + " page(s) past its used length are held (smaps Rss):"
                                + " taken as zero pages");
                    }
                }
                codes.put(b, cs);
                flags.put(b, fl);
            }
            addDump(dir.getFileName() + "/g" + g, tag, sec, scans, true, codes, flags);
        }
        if (only != null && matched == 0) throw new BadDump(dir.resolve(only).toString(), -1, "case.json lists no dump of this folder");
    }

    /** pagemap byte flag of the recorder: the page was a KSM page when dumped. */
    private static final int KSM_FLAG = 0x20;

    /** The recorder's smaps.jsonl lines (per full scan: each guest's per-block Rss), none if absent. */
    private static List<JsonObject> smaps(Path f) throws BadDump {
        List<JsonObject> out = new ArrayList<>();
        if (!Files.isRegularFile(f)) return out;
        try {
            int n = 0;
            for (String l : Files.readAllLines(f)) {
                n++;
                if (l.isBlank()) continue;
                try {
                    out.add(JsonParser.parseString(l).getAsJsonObject());
                } catch (RuntimeException e) {
                    throw new BadDump(f.toString(), -1, "line " + n + " is not a JSON object");
                }
            }
        } catch (IOException e) {
            throw new BadDump(f.toString(), -1, "cannot read: " + e.getMessage());
        }
        return out;
    }

    /**
     * Pages of a block held beyond its dumped part: its Rss in the smaps line of the dump's full
     * scan (else the first), less the pages the pagemap shows held. 0 when smaps does not say.
     */
    private static int rssPagesBeyond(List<JsonObject> smaps, long guest, long scan, String block, int[] codes, int dumped) {
        JsonObject line = null;
        for (JsonObject o : smaps) {
            if (line == null || o.has("scan") && o.get("scan").getAsLong() == scan) line = o;
            if (o.has("scan") && o.get("scan").getAsLong() == scan) break;
        }
        if (line == null || !line.has("guests")) return 0;
        for (JsonElement ge : line.getAsJsonArray("guests")) {
            JsonObject g = ge.getAsJsonObject();
            if (!g.has("guest") || g.get("guest").getAsLong() != guest || !g.has("ram")) continue;
            JsonObject ram = g.getAsJsonObject("ram");
            if (!ram.has(block)) return 0;
            long rssKb = ram.getAsJsonObject(block).get("Rss").getAsLong();
            long held = 0;
            for (int p = 0; p < dumped; p++) if (codes[p] >= PageImage.ZERO) held++;
            return (int) Math.max(0, Math.min(codes.length - dumped, rssKb / 4 - held));
        }
        return 0;
    }

    /** The file name the recorder gives a block: its name with '/' as '_' (a ROM's name is a path). */
    static String blockFile(String block) {
        String s = block.replace('/', '_');
        while (s.startsWith("_")) s = s.substring(1);
        return s;
    }

    private static JsonArray array(JsonObject o, String k, Path f) throws BadDump {
        if (!o.has(k) || !o.get(k).isJsonArray()) throw new BadDump(f.toString(), -1, "no '" + k + "' list");
        return o.getAsJsonArray(k);
    }

    private static String string(JsonObject o, String k, Path f) throws BadDump {
        if (!o.has(k) || !o.get(k).isJsonPrimitive()) throw new BadDump(f.toString(), -1, "an entry without '" + k + "': " + o);
        return o.get(k).getAsString();
    }

    private static long number(JsonObject o, String k, Path f) throws BadDump {
        try {
            return o.get(k).getAsLong();
        } catch (RuntimeException e) {
            throw new BadDump(f.toString(), -1, "an entry without a number '" + k + "': " + o);
        }
    }

    // ------------------------------------------------------------------ assembling

    private int block(String name, int pages, List<long[]> ranges, String file) throws BadDump {
        Integer b = blockIndex.get(name);
        if (b != null) {
            if (blocks.get(b).pages() != pages) {
                throw new BadDump(file, -1, "ram block '" + name + "' of " + pages + " pages; an earlier dump has "
                        + blocks.get(b).pages() + ": dumps of one image must come from guests of one memory size");
            }
            return b;
        }
        blocks.add(new PageImage.Block(name, pages, ranges));
        blockIndex.put(name, blocks.size() - 1);
        return blocks.size() - 1;
    }

    private void addDump(String guest, String tag, double sec, long scans, boolean known, Map<Integer, int[]> codes,
                         Map<Integer, byte[]> flags) {
        Integer g = guestIndex.get(guest);
        if (g == null) {
            g = guests.size();
            guests.add(guest);
            guestIndex.put(guest, g);
        }
        dumps.add(new Pending(g, tag, sec, scans, known, codes, flags));
    }

    public PageImage image() {
        List<PageImage.Dump> out = new ArrayList<>();
        for (Pending p : dumps) {
            int[][] codes = new int[blocks.size()][];
            byte[][] flags = new byte[blocks.size()][];
            for (int b = 0; b < blocks.size(); b++) {
                codes[b] = p.codes().getOrDefault(b, new int[blocks.get(b).pages()]);
                flags[b] = p.flags().getOrDefault(b, new byte[blocks.get(b).pages()]);
            }
            out.add(new PageImage.Dump(p.guest(), p.tag(), p.seconds(), p.scans(), p.known(), codes, flags));
        }
        return new PageImage(blocks, guests, out, ids.size());
    }
}
