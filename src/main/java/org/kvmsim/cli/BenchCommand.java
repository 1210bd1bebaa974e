package org.kvmsim.cli;

import java.util.concurrent.Callable;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.session.CoresBench;
import org.kvmsim.session.SweepBench;
import org.kvmsim.session.TraceBench;
import org.kvmsim.sim.EngineBench;
import org.kvmsim.sim.ksm.KsmBench;
import org.kvmsim.sim.mem.MemBench;
import org.kvmsim.sim.mmu.MmuBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * `kvmsim bench NAME [--json] [--scale]`: an engine part's throughput beside a baseline measured
 * in the same process. Benchmarks print figures; they never pass or fail on time.
 */
@Command(name = "bench", description = "Measure an engine part: touch (guest memory through the engine), buddy, mmu, ksm, cores (parallel simulation of cores), sweep (sweep values on every core) or trace (replaying a compressed trace beside decoding it).")
final class BenchCommand implements Callable<Integer> {

    @Parameters(paramLabel = "NAME", description = "touch, buddy, mmu, ksm, cores, sweep or trace")
    String name;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--scale", description = "the large-scale variant (ksm: 256 VMs of 4 GiB)")
    boolean scale;

    @Option(names = "--trace", paramLabel = "FILE", description = "trace: the lackey trace to replay (default: traces/sort.lackey.zst beside the build)")
    java.nio.file.Path trace;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        BenchResult r = switch (name) {
            case "touch" -> EngineBench.touch();
            case "buddy" -> MemBench.touch();
            case "ksm" -> KsmBench.run(scale);
            case "mmu" -> MmuBench.run();
            case "cores" -> CoresBench.run();
            case "sweep" -> SweepBench.run();
            case "trace" -> TraceBench.run(trace != null ? trace : shippedTrace());
            default -> null;
        };
        if (r == null) {
            spec.commandLine().getErr().println("kvmsim: unknown benchmark '" + name + "'; benchmarks: touch, buddy, mmu, ksm, cores, sweep, trace");
            return 2;
        }
        spec.commandLine().getOut().println(json ? r.toJson() : r.toText());
        return 0;
    }

    /** traces/sort.lackey.zst of the checkout the jar was built in (target/kvmsim.jar), else of the working directory. */
    private static java.nio.file.Path shippedTrace() throws java.net.URISyntaxException {
        java.nio.file.Path jar = java.nio.file.Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        java.nio.file.Path top = jar.toAbsolutePath().getParent().getParent();
        java.nio.file.Path t = top.resolve("traces/sort.lackey.zst");
        return java.nio.file.Files.isRegularFile(t) ? t : java.nio.file.Path.of("traces/sort.lackey.zst");
    }
}
