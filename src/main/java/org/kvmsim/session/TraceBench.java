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
 * `kvmsim bench trace [--trace FILE]`: a compressed trace (default the shipped
 * traces/sort.lackey.xz) replayed as a workload on an EPT guest, in data accesses per second of
 * the whole run (decoding, faults, walks), beside decoding it alone (decompression and parsing,
 * the least a replay must do), in the same process, alternating, best of 3 each. When the two are
 * close, streaming the trace is the bottleneck.
 */
public final class TraceBench {

    private TraceBench() {}

    public static BenchResult run(Path trace) {
        if (!Files.isRegularFile(trace)) throw new IllegalArgumentException("no trace file " + trace);
        String file = trace.toAbsolutePath().toString();
        String script = """
                host h { memory = 8 GiB; cpus = 4 }
                vm g on h { memory = 2 GiB; vcpus = 1 }
                start g
                workload t on g { trace = "%s" }
                run 1 s
                show mmu
                """.formatted(file.replace("\\", "\\\\").replace("\"", "\\\""));
        double decode = 0;
        double replay = 0;
        long accesses = 0;
        long instructions = 0;
        for (int round = 0; round < 3; round++) {
            long t0 = System.nanoTime();
            TraceStream.Count c = TraceStream.count(trace, trace.getFileName().toString(), Workload.Trace.Format.LACKEY);
            decode = Math.max(decode, c.accesses() / ((System.nanoTime() - t0) / 1e9));
            accesses = c.accesses();
            instructions = c.instructions();
            t0 = System.nanoTime();
            Session s = new Session(1);
            Output quiet = new Output() {
                public void print(String text) {}

                public void table(Table t) {}

                public void chart(String name, byte[] png, String svg) {}
            };
            Session.Result r = s.execute(new SourceFile("trace-bench.kvm", script), quiet);
            if (!r.ok()) throw new IllegalStateException("bench run failed: " + r.diagnostics());
            // the first replay counts the trace once more before it runs (kept for the process)
            replay = Math.max(replay, accesses / ((System.nanoTime() - t0) / 1e9));
        }
        String detail = String.format(Locale.ROOT, "%s: %,d loads/stores/modifies, %,d instruction fetches, %,d bytes;"
                + " replay on an EPT guest (decoded ahead on its own thread; the file's count is made once per process)"
                + " against decoding alone, best of 3 each",
                trace.getFileName(), accesses, instructions, trace.toFile().length());
        return new BenchResult("trace", replay, "accesses/s", decode, detail);
    }
}
