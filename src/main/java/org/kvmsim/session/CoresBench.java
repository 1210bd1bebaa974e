package org.kvmsim.session;

import java.util.Locale;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import tech.tablesaw.api.Table;

/**
 * `kvmsim bench cores`: two guests on their own cores, each making 40 M accesses over 256 MiB
 * after their pages are faulted in, simulated with the cores on separate threads (one per
 * processor, at least two) against the same run on one thread (the baseline, in the same
 * process, alternating so both see the same machine). Both must print the same `show mmu`;
 * the ratio is the speed-up parallel simulation gives.
 */
public final class CoresBench {

    private static final String SETUP = """
            host hv1 { memory = 8 GiB; thp = never }
            vm g1 on hv1 { memory = 1 GiB }
            vm g2 on hv1 { memory = 1 GiB }
            workload warm on g1, g2 { pattern = sequential; footprint = 256 MiB; accesses = 65536 }
            run 1 s
            """;
    private static final String RUN = """
            workload w on g1, g2 { pattern = uniform; footprint = 256 MiB; accesses = 40000000; seed = 3 }
            run 10 s
            show mmu
            """;
    static final long ACCESSES = 80_000_000L;

    private CoresBench() {}

    public static BenchResult run() {
        int parallel = Math.max(2, Runtime.getRuntime().availableProcessors());
        String before = System.getProperty("kvmsim.threads");
        double seq = 0;
        double par = 0;
        String seqTable = null;
        String parTable = null;
        try {
            for (int round = 0; round < 3; round++) {
                for (int threads : new int[] {1, parallel}) {
                    System.setProperty("kvmsim.threads", Integer.toString(threads));
                    StringBuilder table = new StringBuilder();
                    double rate = once(table);
                    if (threads == 1) {
                        seq = Math.max(seq, rate);
                        seqTable = table.toString();
                    } else {
                        par = Math.max(par, rate);
                        parTable = table.toString();
                    }
                }
            }
        } finally {
            if (before == null) System.clearProperty("kvmsim.threads");
            else System.setProperty("kvmsim.threads", before);
        }
        if (!seqTable.equals(parTable)) throw new IllegalStateException("parallel simulation changed the output:\n" + seqTable + "\n" + parTable);
        String detail = String.format(Locale.ROOT, "two guests on two cores, %d M accesses; %d threads against 1 (best of 3 each),"
                + " output identical; speed-up %.2fx on %d processors", ACCESSES / 1_000_000, parallel, par / seq, Runtime.getRuntime().availableProcessors());
        return new BenchResult("cores", par, "accesses/s", seq, detail);
    }

    /** One run: accesses per second of the timed part; its `show mmu` appended to {@code table}. */
    private static double once(StringBuilder table) {
        Session s = new Session(1);
        Output quiet = new Output() {
            public void print(String text) {}

            public void table(Table t) {
                table.append(Render.text(t));
            }

            public void chart(String name, byte[] png, String svg) {}
        };
        if (!s.execute(new SourceFile("setup.kvm", SETUP), quiet).ok()) throw new IllegalStateException("bench setup failed");
        long t0 = System.nanoTime();
        if (!s.execute(new SourceFile("run.kvm", RUN), quiet).ok()) throw new IllegalStateException("bench run failed");
        long nanos = System.nanoTime() - t0;
        return ACCESSES / (nanos / 1e9);
    }
}
