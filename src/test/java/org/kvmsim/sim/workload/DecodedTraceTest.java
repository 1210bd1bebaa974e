package org.kvmsim.sim.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.model.Workload;
import org.kvmsim.model.Workload.Trace.Format;

/** A trace's decoded copy against the trace it was decoded from. */
class DecodedTraceTest {

    @TempDir
    Path dir;

    /**
     * Accesses from 0 to the top of a 5-level guest's space in every order (so differences of
     * either sign and every varint length), runs of instruction fetches long enough to take
     * several varint bytes, and enough of them to cross many of the copy's buffers.
     */
    private Path randomLackey(long seed) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder("==7== Lackey\n");
        long prev = 0;
        for (int i = 0; i < 50_000; i++) {
            int fetches = switch (rnd.nextInt(10)) {
                case 0 -> 0;
                case 1 -> 128 + rnd.nextInt(300);
                default -> rnd.nextInt(6);
            };
            for (int f = 0; f < fetches; f++) text.append("I  04001000,3\n");
            long addr = switch (rnd.nextInt(6)) {
                case 0 -> prev;
                case 1 -> (1L << 57) - 1 - rnd.nextInt(8);
                case 2 -> rnd.nextInt(8);
                case 3 -> Math.max(0, prev + rnd.nextInt(256) - 128);
                default -> rnd.nextLong(1L << (1 + rnd.nextInt(57)));
            };
            prev = addr;
            text.append(' ').append("LSM".charAt(rnd.nextInt(3))).append(' ').append(String.format("%08x", addr)).append(",8\n");
        }
        for (int f = 0; f < 5; f++) text.append("I  04001000,3\n");
        Path p = dir.resolve("random.lackey");
        Files.writeString(p, text);
        return p;
    }

    /** Every access of a pass as "address write fetches-so-far", the pass's fetches at its end. */
    private static String replay(TracePass pass, int[] sizes) {
        StringBuilder b = new StringBuilder();
        long[] a = new long[4096];
        boolean[] w = new boolean[a.length];
        try (pass) {
            for (int i = 0, k; (k = pass.next(a, w, sizes[i++ % sizes.length])) > 0;) {
                // the fetches up to the last access given, as a replay cut there counts them
                for (int j = 0; j < k; j++) b.append(Long.toHexString(a[j])).append(w[j] ? " w\n" : " r\n");
                b.append("fetches ").append(pass.instructions()).append('\n');
            }
        }
        return b.toString();
    }

    @Test
    void theCopyGivesTheTracesAccessesAndFetchesExactly() throws IOException {
        Path p = randomLackey(3);
        DecodedTrace d = DecodedTrace.write(p, "random.lackey", Format.LACKEY, dir, n -> {});
        try {
            assertEquals(TraceStream.count(p, "random.lackey", Format.LACKEY), d.count());
            int[] sizes = {1, 4096, 777, 3, 2048};
            String fromTrace = replay(new ReadAhead(TraceReader.open(p, "random.lackey", Format.LACKEY)), sizes);
            assertEquals(fromTrace, replay(d.open(), sizes));
            // and again: each pass starts from the first access
            assertEquals(fromTrace, replay(d.open(), sizes));
        } finally {
            d.delete();
        }
        assertFalse(Files.exists(d.file()));
    }

    @Test
    void aRealProgramsCopyIsAFewBytesAnAccess() throws IOException {
        // GNU sort's trace: 4.08 M accesses in 220 MB of text (traces/README.md)
        Path p = Path.of("traces/sort.lackey.zst");
        DecodedTrace d = DecodedTrace.write(p, "sort.lackey.zst", Format.LACKEY, dir, n -> {});
        try {
            assertEquals(4_081_567, d.count().accesses());
            long bytes = Files.size(d.file());
            // about three bytes an access (12.6 MB here), against 54 of text
            assertTrue(2 * bytes < 7 * d.count().accesses(), bytes + " bytes");
        } finally {
            d.delete();
        }
    }

    @Test
    void aStreamOverTheCopyCountsAsOneOverTheFile() throws IOException {
        Path p = randomLackey(5);
        Workload.Trace t = new Workload.Trace(p.toString(), "random.lackey", Format.LACKEY, 30_000, 2);
        DecodedTrace d = DecodedTrace.write(p, "random.lackey", Format.LACKEY, dir, n -> {});
        try {
            TraceStream fromCopy = TraceStream.ofDecoded(d, t);
            TraceStream fromFile = TraceStream.ofFile(p, t, d.count());
            long[] a1 = new long[7000];
            long[] a2 = new long[7000];
            boolean[] w1 = new boolean[7000];
            boolean[] w2 = new boolean[7000];
            while (fromFile.left() > 0) {
                int n = (int) Math.min(a1.length, fromFile.left());
                fromFile.next(a1, w1, n);
                fromCopy.next(a2, w2, n);
                assertEquals(java.util.Arrays.toString(a1), java.util.Arrays.toString(a2));
                assertEquals(java.util.Arrays.toString(w1), java.util.Arrays.toString(w2));
                assertEquals(fromFile.instructions(), fromCopy.instructions());
                assertEquals(fromFile.left(), fromCopy.left());
            }
            assertEquals(0, fromCopy.left());
        } finally {
            d.delete();
        }
    }

    @Test
    void aCopyCutShortIsAnErrorNotMadeUpAccesses() throws IOException {
        Path p = randomLackey(7);
        DecodedTrace d = DecodedTrace.write(p, "random.lackey", Format.LACKEY, dir, n -> {});
        try (FileChannel c = FileChannel.open(d.file(), StandardOpenOption.WRITE)) {
            c.truncate(c.size() / 2);
        }
        try {
            TraceException x = assertThrows(TraceException.class, () -> replay(d.open(), new int[] {4096}));
            assertTrue(x.getMessage().contains("cut short"), x.getMessage());
        } finally {
            d.delete();
        }
    }

    @Test
    void aMalformedTraceLeavesNoCopyBehind() throws IOException {
        Path p = dir.resolve("bad.lackey");
        Files.writeString(p, " L 1000,8\n L 2000,8\nnot a line\n");
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        TraceException x = assertThrows(TraceException.class,
                () -> DecodedTrace.write(p, "bad.lackey", Format.LACKEY, tmp, n -> {}));
        assertTrue(x.getMessage().startsWith("bad.lackey:3: not a lackey line"), x.getMessage());
        assertEquals(0, copies(tmp));
    }

    @Test
    void aTraceThatCannotBeOpenedLeavesNoCopyBehind() throws IOException {
        // xz's magic bytes, then no valid stream header
        Path p = dir.resolve("bad.lackey.xz");
        Files.write(p, new byte[] {(byte) 0xfd, '7', 'z', 'X', 'Z', 0, 1, 2, 3, 4, 5, 6, 7, 8});
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        TraceException x = assertThrows(TraceException.class,
                () -> DecodedTrace.write(p, "bad.lackey.xz", Format.LACKEY, tmp, n -> {}));
        assertTrue(x.getMessage().startsWith("bad.lackey.xz: cannot read it"), x.getMessage());
        assertEquals(0, copies(tmp));
    }

    private static long copies(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".decoded")).count();
        }
    }

    /**
     * A process killed with SIGKILL leaves its copies: the next process to write one in that
     * folder deletes them, and only them: not a live process's (another JVM holding its lock, or
     * this one), not a lock file made a moment ago, not a copy no lock file claims.
     */
    @Test
    void aKilledProcesssCopiesAreDeletedByTheNextOnly() throws Exception {
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        java.nio.file.attribute.FileTime old = java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 60_000);
        for (String token : new String[] {"dead", "young", "other", "here"}) {
            Path lock = Files.createFile(tmp.resolve("kvmsim-trace-" + token + ".lock"));
            // "young" made a moment ago, whenever this test gets to cleaning: dated an hour ahead
            Files.setLastModifiedTime(lock, token.equals("young") ? java.nio.file.attribute.FileTime.fromMillis(
                    System.currentTimeMillis() + 3_600_000) : old);
            Files.writeString(tmp.resolve("kvmsim-trace-" + token + "-1.decoded"), "x");
            Files.writeString(tmp.resolve("kvmsim-trace-" + token + "-2.decoded"), "x");
        }
        Files.writeString(tmp.resolve("kvmsim-trace-unclaimed-3.decoded"), "x");
        String ownToken = null;
        // another process alive, holding its lock (a JVM running a one-file program)
        Path locker = dir.resolve("Locker.java");
        Files.writeString(locker, """
                import java.nio.channels.FileChannel;
                import java.nio.file.*;
                public class Locker {
                    public static void main(String[] a) throws Exception {
                        try (FileChannel c = FileChannel.open(Path.of(a[0]), StandardOpenOption.WRITE)) {
                            c.lock();
                            System.out.println("locked");
                            System.in.read();
                        }
                    }
                }
                """);
        Process other = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                locker.toString(), tmp.resolve("kvmsim-trace-other.lock").toString()).start();
        try (FileChannel here = FileChannel.open(tmp.resolve("kvmsim-trace-here.lock"), StandardOpenOption.WRITE)) {
            var fromOther = new java.io.BufferedReader(new java.io.InputStreamReader(other.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
            assertEquals("locked", fromOther.readLine());
            here.lock();
            Path p = randomLackey(11);
            DecodedTrace d = DecodedTrace.write(p, "random.lackey", Format.LACKEY, tmp, n -> {});
            try {
                java.util.Set<String> left;
                try (var files = Files.list(tmp)) {
                    left = files.map(f -> f.getFileName().toString()).filter(n -> !n.equals(d.file().getFileName().toString()))
                            .filter(n -> !n.startsWith("kvmsim-trace-" + d.file().getFileName().toString().split("-")[2]))
                            .collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
                }
                assertEquals(new java.util.TreeSet<>(java.util.List.of(
                        "kvmsim-trace-here-1.decoded", "kvmsim-trace-here-2.decoded", "kvmsim-trace-here.lock",
                        "kvmsim-trace-other-1.decoded", "kvmsim-trace-other-2.decoded", "kvmsim-trace-other.lock",
                        "kvmsim-trace-unclaimed-3.decoded",
                        "kvmsim-trace-young-1.decoded", "kvmsim-trace-young-2.decoded", "kvmsim-trace-young.lock")), left);
                // this process's own claim: its lock file, named with the token its copy carries
                ownToken = d.file().getFileName().toString().split("-")[2];
                assertTrue(Files.exists(tmp.resolve("kvmsim-trace-" + ownToken + ".lock")), ownToken);
            } finally {
                d.delete();
            }
        } finally {
            other.getOutputStream().close();
            if (!other.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) other.destroyForcibly().waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        // the other process is gone now, and "here" unlocked: a later clean takes theirs, not this process's
        assertEquals(4, DecodedTrace.Owner.deleteOrphans(tmp));
        try (var files = Files.list(tmp)) {
            assertEquals(4, files.filter(f -> f.getFileName().toString().matches("kvmsim-trace-(young|unclaimed).*")).count());
        }
        assertTrue(Files.exists(tmp.resolve("kvmsim-trace-" + ownToken + ".lock")), "this process's claim stays");
    }
}
