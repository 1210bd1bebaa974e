package org.kvmsim.pages;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Synthetic guest memory dumps for the tests: pages whose contents are named by a number. */
public final class Dumps {
    private Dumps() {}

    /** A 4 KiB page: all zero for 0, else filled with its tag (same tag, same page). */
    public static byte[] page(int tag) {
        byte[] p = new byte[4096];
        if (tag != 0) {
            ByteBuffer b = ByteBuffer.wrap(p);
            for (int i = 0; i < 4096; i += 4) b.putInt(i, tag * 31 + i);
        }
        return p;
    }

    /** Pages of the given tags, one after the other (a raw dump's bytes). */
    public static byte[] pages(int... tags) {
        byte[] out = new byte[tags.length * 4096];
        for (int i = 0; i < tags.length; i++) System.arraycopy(page(tags[i]), 0, out, i * 4096, 4096);
        return out;
    }

    /** A segment of an ELF core: guest-physical address and the pages there. */
    public record Segment(long gpa, int[] tags) {}

    /** An ELF64 core as QEMU's dump-guest-memory writes one: a PT_NOTE, then one PT_LOAD per segment. */
    public static void elf(Path file, List<Segment> segs) throws IOException {
        int phnum = segs.size() + 1;
        long dataAt = 64 + 56L * phnum;
        byte[] note = noteBytes();
        long segAt = (dataAt + note.length + 4095) & -4096L;
        long total = segAt;
        for (Segment s : segs) total += s.tags().length * 4096L;
        ByteBuffer b = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        b.putShort(16, (short) 4);      // ET_CORE
        b.putShort(18, (short) 62);     // EM_X86_64
        b.putInt(20, 1);
        b.putLong(32, 64);              // e_phoff
        b.putShort(52, (short) 64);
        b.putShort(54, (short) 56);
        b.putShort(56, (short) phnum);
        int ph = 64;
        b.putInt(ph, 4);                // PT_NOTE
        b.putLong(ph + 8, dataAt);
        b.putLong(ph + 32, note.length);
        b.putLong(ph + 40, note.length);
        b.put((int) dataAt, note);
        long at = segAt;
        for (Segment s : segs) {
            ph += 56;
            long len = s.tags().length * 4096L;
            b.putInt(ph, 1);            // PT_LOAD
            b.putLong(ph + 8, at);
            b.putLong(ph + 24, s.gpa());
            b.putLong(ph + 32, len);
            b.putLong(ph + 40, len);
            b.put((int) at, pages(s.tags()));
            at += len;
        }
        Files.write(file, b.array());
    }

    /** One "CORE" NT_PRSTATUS note of a vCPU (its contents do not matter to the import). */
    private static byte[] noteBytes() {
        byte[] name = "CORE\0\0\0\0".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(12 + name.length + 336).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(5).putInt(336).putInt(1).put(name);
        return b.array();
    }
}
