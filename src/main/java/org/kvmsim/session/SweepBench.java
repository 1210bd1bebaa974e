package org.kvmsim.session;

import java.util.Locale;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import tech.tablesaw.api.Table;

/**
 * `kvmsim bench sweep`: a sweep of 4 values (paging and backing of one guest, 10 M accesses
 * each) with one worker per processor against the same sweep on one worker (the baseline), in
 * the same process, alternating, best of 3 each. Both must print the same tables; the ratio is
 * the speed-up parallel sweeps give.
 */
public final class SweepBench {

    private static final String SCRIPT = """
            host hv1 { memory = 16 GiB; cpu = skylake; thp = never }
            vm g1 on hv1 { memory = 2 GiB; vcpus = 1 }
            workload w on g1 { pattern = zipf(0.99); footprint = 512 MiB; accesses = 10_000_000; seed = 3 }
            sweep g1.paging in [ept, npt, shadow, native] {
              run 10 s
              show mmu
            }
            """;
    static final long VALUES = 4;

    private SweepBench() {}

    public static BenchResult run() {
        int parallel = Math.max(2, Runtime.getRuntime().availableProcessors());
        String before = System.getProperty("kvmsim.sweep.threads");
        double seq = Double.MAX_VALUE;
        double par = Double.MAX_VALUE;
        String seqTable = null;
        String parTable = null;
        try {
            for (int round = 0; round < 3; round++) {
                for (int threads : new int[] {1, parallel}) {
                    System.setProperty("kvmsim.sweep.threads", Integer.toString(threads));
                    StringBuilder table = new StringBuilder();
                    double secs = once(table);
                    if (threads == 1) {
                        seq = Math.min(seq, secs);
                        seqTable = table.toString();
                    } else {
                        par = Math.min(par, secs);
                        parTable = table.toString();
                    }
                }
            }
        } finally {
            if (before == null) System.clearProperty("kvmsim.sweep.threads");
            else System.setProperty("kvmsim.sweep.threads", before);
        }
        if (!seqTable.equals(parTable)) throw new IllegalStateException("a parallel sweep changed the output:\n" + seqTable + "\n" + parTable);
        String detail = String.format(Locale.ROOT, "a 4-value sweep (paging of one guest, 10 M accesses each): %d workers %.2f s"
                + " against 1 worker %.2f s (best of 3 each), output identical; speed-up %.2fx on %d processors",
                parallel, par, seq, seq / par, Runtime.getRuntime().availableProcessors());
        return new BenchResult("sweep", VALUES * 60 / par, "values/min", VALUES * 60 / seq, detail);
    }

    /** One sweep: its wall time in seconds; its tables appended to {@code table}. */
    private static double once(StringBuilder table) {
        Session s = new Session(1);
        Output quiet = new Output() {
            public void print(String text) {}

            public void table(Table t) {
                table.append(Render.text(t));
            }

            public void chart(String name, byte[] png, String svg) {}
        };
        long t0 = System.nanoTime();
        if (!s.execute(new SourceFile("sweep.kvm", SCRIPT), quiet).ok()) throw new IllegalStateException("bench sweep failed");
        return (System.nanoTime() - t0) / 1e9;
    }
}
