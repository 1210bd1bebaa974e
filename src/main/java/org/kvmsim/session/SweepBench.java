package org.kvmsim.session;

import java.util.Locale;
import org.kvmsim.bench.BenchResult;

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
        PairedRuns.Result r = PairedRuns.run("kvmsim.sweep.threads", "a parallel sweep", out -> {
            Session s = new Session(1);
            long t0 = System.nanoTime();
            PairedRuns.execute(s, "sweep.kvm", SCRIPT, out);
            return (System.nanoTime() - t0) / 1e9;
        });
        double seq = r.oneSeconds();
        double par = r.manySeconds();
        String detail = String.format(Locale.ROOT, "a 4-value sweep (paging of one guest, 10 M accesses each): %d workers %.2f s"
                + " against 1 worker %.2f s (best of 3 each), output identical; speed-up %.2fx on %d processors",
                r.many(), par, seq, seq / par, Runtime.getRuntime().availableProcessors());
        return new BenchResult("sweep", VALUES * 60 / par, "values/min", VALUES * 60 / seq, detail);
    }
}
