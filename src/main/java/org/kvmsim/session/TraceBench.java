package org.kvmsim.session;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Workload;
import org.kvmsim.sim.workload.TraceStream;
import tech.tablesaw.api.Table;

/**
 * `kvmsim bench trace [--trace FILE]`: a compressed lackey trace (default the shipped
 * traces/sort.lackey.zst) replayed as a workload on an EPT guest, in data accesses per second of
 * the whole run (decoding, faults, walks), beside two figures measured in the same process,
 * alternating with it, best of 5 each: decoding it alone (decompression and parsing, the least a
 * replay must do; the baseline) and the same accesses held decoded in memory and replayed through
 * the same engine (the most a replay could reach: a synthetic stream of exactly these accesses).
 * Streaming is out of the way when decoding is well above the replay and the replay is near the
 * in-memory one.
 */
public final class TraceBench {

    private static final int ROUNDS = 5;

    private TraceBench() {}

    public static BenchResult run(Path trace) {
        if (!Files.isRegularFile(trace)) throw new IllegalArgumentException("no trace file " + trace);
        Path file = trace.toAbsolutePath();
        String script = """
                host h { memory = 8 GiB; cpus = 4 }
                vm g on h { memory = 2 GiB; vcpus = 1 }
                start g
                workload t on g { trace = "%s" }
                run 1 s
                show mmu
                """.formatted(file.toString().replace("\\", "\\\\").replace("\"", "\\\""));
        String name = trace.getFileName().toString();
        TraceStream.Held held = TraceStream.hold(file, name, Workload.Trace.Format.LACKEY);
        long accesses = held.count().accesses();
        java.lang.management.ThreadMXBean cpu = java.lang.management.ManagementFactory.getThreadMXBean();
        double decode = 0;
        double decodeCpu = 0;
        double replay = 0;
        double inMemory = 0;
        String replayed = null;
        for (int round = 0; round < ROUNDS; round++) {
            long t0 = System.nanoTime();
            long c0 = cpu.getCurrentThreadCpuTime();
            TraceStream.Count c = TraceStream.count(file, name, Workload.Trace.Format.LACKEY);
            decode = Math.max(decode, c.accesses() / ((System.nanoTime() - t0) / 1e9));
            decodeCpu = Math.max(decodeCpu, c.accesses() / ((cpu.getCurrentThreadCpuTime() - c0) / 1e9));
            // the first replay counts the trace once more before it runs (kept for the process)
            t0 = System.nanoTime();
            String fromFile = replay(script, null, null);
            replay = Math.max(replay, accesses / ((System.nanoTime() - t0) / 1e9));
            t0 = System.nanoTime();
            String fromMemory = replay(script, file, held);
            inMemory = Math.max(inMemory, accesses / ((System.nanoTime() - t0) / 1e9));
            if (!fromFile.equals(fromMemory) || replayed != null && !replayed.equals(fromFile)) {
                throw new IllegalStateException("bench: the replays of " + name + " differ:\n" + fromFile + "\n" + fromMemory);
            }
            replayed = fromFile;
        }
        String detail = String.format(Locale.ROOT, "%s: %,d loads/stores/modifies, %,d instruction fetches, %,d bytes;"
                + " replayed on an EPT guest (decoded ahead on its own thread) against decoding alone (the baseline);"
                + " the same accesses held in memory replay at %,.0f accesses/s (replay %.2f of it; decoding %.2fx the replay);"
                + " decoding alone by its thread's CPU time %,.0f accesses/s (on a busy machine the wall-clock figures"
                + " favour the replay, which runs two threads); best of %d each, alternating, tables checked identical",
                name, accesses, held.count().instructions(), trace.toFile().length(), inMemory, replay / inMemory,
                decode / replay, decodeCpu, ROUNDS);
        return new BenchResult("trace", replay, "accesses/s", decode, detail);
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
