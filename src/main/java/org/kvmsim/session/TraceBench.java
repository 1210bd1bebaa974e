package org.kvmsim.session;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Workload;
import org.kvmsim.sim.workload.DecodedTrace;
import org.kvmsim.sim.workload.TraceStream;
import tech.tablesaw.api.Table;

/**
 * `kvmsim bench trace [--trace FILE]`: a compressed lackey trace (default the shipped
 * traces/sort.lackey.zst) replayed as a workload on an EPT guest, in data accesses per second of
 * the whole run (reading, faults, walks), beside figures measured in the same process, alternating
 * with it, best of 5 each:
 * <ul>
 * <li>decoding the compressed trace alone (the baseline): decompressing it, on a thread of its
 * own, and parsing it; the least a pass over the trace itself takes, which every replay paid
 * before a trace was kept decoded (then with decompression on the parsing thread);</li>
 * <li>the count pass that also writes the decoded copy ({@link DecodedTrace}): a first replay in
 * a process takes this, then a replay;</li>
 * <li>reading the decoded copy alone: what a replay's stream costs now;</li>
 * <li>the same accesses held in memory and replayed through the same engine (the most a replay
 * could reach: a synthetic stream of exactly these accesses).</li>
 * </ul>
 * Streaming is out of the way when reading is well above the replay and the replay is near the
 * in-memory one.
 */
public final class TraceBench {

    private static final int ROUNDS = 5;

    private TraceBench() {}

    public static BenchResult run(Path trace) {
        if (!Files.isRegularFile(trace)) throw new IllegalArgumentException("no trace file " + trace);
        Path file = trace.toAbsolutePath();
        String script = script(file);
        String name = trace.getFileName().toString();
        Workload.Trace.Format lackey = Workload.Trace.Format.LACKEY;
        TraceStream.Held held = TraceStream.hold(file, name, lackey);
        long accesses = held.count().accesses();
        double decode = 0;
        double convert = 0;
        double read = 0;
        double replay = 0;
        double inMemory = 0;
        double firstReplay = 0;
        long copyBytes = 0;
        String replayed = null;
        for (int round = 0; round < ROUNDS; round++) {
            long t0 = System.nanoTime();
            TraceStream.Count c = TraceStream.count(file, name, lackey);
            decode = Math.max(decode, rate(c.accesses(), t0));
            t0 = System.nanoTime();
            DecodedTrace d = decoded(file, name, lackey);
            convert = Math.max(convert, rate(d.count().accesses(), t0));
            t0 = System.nanoTime();
            long sum = d.readAlone();
            copyBytes = d.bytes();
            read = Math.max(read, rate(accesses, t0));
            d.delete();
            if (!d.count().equals(held.count()) || sum == 0) throw new IllegalStateException("bench: the decoded copy differs");
            // a process's first replay of a trace counts it and writes its copy first (here a fresh
            // copy of the file, which the process has not seen); later ones read the copy
            Path fresh = freshCopy(file);
            t0 = System.nanoTime();
            String first = replay(script(fresh), null, null);
            firstReplay = Math.max(firstReplay, rate(accesses, t0));
            deleteQuietly(fresh);
            t0 = System.nanoTime();
            String fromFile = replay(script, null, null);
            replay = Math.max(replay, rate(accesses, t0));
            t0 = System.nanoTime();
            String fromMemory = replay(script, file, held);
            inMemory = Math.max(inMemory, rate(accesses, t0));
            if (!fromFile.equals(fromMemory) || !first.equals(fromFile) || replayed != null && !replayed.equals(fromFile)) {
                throw new IllegalStateException("bench: the replays of " + name + " differ:\n" + fromFile + "\n" + fromMemory);
            }
            replayed = fromFile;
        }
        String detail = String.format(Locale.ROOT, "%s: %,d loads/stores/modifies, %,d instruction fetches, %,d bytes;"
                + " replayed on an EPT guest from the copy the count before its first run decoded (the baseline: decoding"
                + " the compressed trace alone);"
                + " reading the decoded copy (%,d bytes) alone %,.0f accesses/s (%.2fx the replay);"
                + " the same accesses held in memory replay at %,.0f accesses/s (the replay %.2f of it);"
                + " counting the trace and writing the copy %,.0f accesses/s, and a process's first replay (both)"
                + " %,.0f accesses/s; best of %d each, alternating, tables checked identical",
                name, accesses, held.count().instructions(), trace.toFile().length(), copyBytes, read, read / replay, inMemory,
                replay / inMemory, convert, firstReplay, ROUNDS);
        return new BenchResult("trace", replay, "accesses/s", decode, detail);
    }

    private static String script(Path trace) {
        return """
                host h { memory = 8 GiB; cpus = 4 }
                vm g on h { memory = 2 GiB; vcpus = 1 }
                start g
                workload t on g { trace = "%s" }
                run 1 s
                show mmu
                """.formatted(trace.toString().replace("\\", "\\\\").replace("\"", "\\\""));
    }

    private static Path freshCopy(Path file) {
        try {
            Path p = Files.createTempFile("kvmsim-bench-", "-" + file.getFileName());
            Files.copy(file, p, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return p;
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a temporary file
        }
    }

    private static double rate(long n, long t0) {
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    private static DecodedTrace decoded(Path file, String name, Workload.Trace.Format format) {
        try {
            return DecodedTrace.write(file, name, format);
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    /** Runs the bench script (replaying {@code held} for {@code file} when given); its tables as text. */
    private static String replay(String script, Path file, TraceStream.Held held) {
        Session s = new Session(1);
        if (held != null) s.engine().holdTrace(file, held);
        StringBuilder shown = new StringBuilder();
        Output quiet = new Output() {
            public void print(String text) {}

            public void table(Table t) {
                shown.append(t.print()).append('\n');
            }

            public void chart(String name, byte[] png, String svg) {}
        };
        Session.Result r = s.execute(new SourceFile("trace-bench.kvm", script), quiet);
        if (!r.ok()) throw new IllegalStateException("bench run failed: " + r.diagnostics());
        return shown.toString();
    }
}
