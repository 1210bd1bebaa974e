package org.kvmsim.session;

import java.util.Locale;
import org.kvmsim.bench.BenchResult;

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
        PairedRuns.Result r = PairedRuns.run("kvmsim.threads", "parallel simulation", out -> {
            Session s = new Session(1);
            PairedRuns.execute(s, "setup.kvm", SETUP, out);
            long t0 = System.nanoTime();
            PairedRuns.execute(s, "run.kvm", RUN, out);
            return (System.nanoTime() - t0) / 1e9;
        });
        double seq = ACCESSES / r.oneSeconds();
        double par = ACCESSES / r.manySeconds();
        String detail = String.format(Locale.ROOT, "two guests on two cores, %d M accesses; %d threads against 1 (best of 3 each),"
                + " output identical; speed-up %.2fx on %d processors", ACCESSES / 1_000_000, r.many(), par / seq,
                Runtime.getRuntime().availableProcessors());
        return new BenchResult("cores", par, "accesses/s", seq, detail);
    }
}
