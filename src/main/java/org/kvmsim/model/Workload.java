package org.kvmsim.model;

import java.util.List;

/**
 * A workload on one or more VMs (or on a VM's pagetable): what it touches and how. {@code threads}
 * is its process's threads, each on one vCPU, or 0 when not given: one per vCPU of each target VM.
 * {@code traces} is empty for a synthetic workload (pattern, footprint, writes); else the recorded
 * program whose accesses it replays, one file per thread (thread i on vCPU i mod vcpus), and
 * {@code accesses} (0: not given) is how many each run takes, all threads together.
 */
public record Workload(String name, List<Target> targets, Pattern pattern, long footprint, long accesses,
                       double writesPct, long seed, int threads, List<Trace> traces) implements Declaration {

    /**
     * A recorded trace: {@code file} resolved against the script's folder, {@code written} as the
     * script wrote it (for messages), its format, at most {@code limit} accesses of it per pass (0:
     * all) and {@code repeat} passes.
     */
    public record Trace(String file, String written, Format format, long limit, long repeat) {
        public enum Format { LACKEY, CHAMPSIM, DRMEMTRACE }
    }

    /** {@code pagetable} is null for the VM's default address space. */
    public record Target(String vm, String pagetable) {
        @Override
        public String toString() {
            return pagetable == null ? vm : vm + "." + pagetable;
        }
    }

    public Workload {
        targets = List.copyOf(targets);
        traces = traces == null ? List.of() : List.copyOf(traces);
    }

    /** The first thread's trace (the only one of a single-threaded trace); null for a synthetic workload. */
    public Trace trace() {
        return traces.isEmpty() ? null : traces.get(0);
    }

    /** A synthetic workload. */
    public Workload(String name, List<Target> targets, Pattern pattern, long footprint, long accesses,
                    double writesPct, long seed, int threads) {
        this(name, targets, pattern, footprint, accesses, writesPct, seed, threads, List.of());
    }

    /** A workload with one thread per vCPU. */
    public Workload(String name, List<Target> targets, Pattern pattern, long footprint, long accesses,
                    double writesPct, long seed) {
        this(name, targets, pattern, footprint, accesses, writesPct, seed, 0);
    }

    /** A copy with one attribute (the language's name for it) set to a checked value, as a sweep varies it. */
    public Workload with(String attribute, Object value) {
        return switch (attribute) {
            case "pattern" -> new Workload(name, targets, (Pattern) value, footprint, accesses, writesPct, seed, threads, traces);
            case "footprint" -> new Workload(name, targets, pattern, (Long) value, accesses, writesPct, seed, threads, traces);
            case "accesses" -> new Workload(name, targets, pattern, footprint, (Long) value, writesPct, seed, threads, traces);
            case "writes" -> new Workload(name, targets, pattern, footprint, accesses, (Double) value, seed, threads, traces);
            case "seed" -> new Workload(name, targets, pattern, footprint, accesses, writesPct, (Long) value, threads, traces);
            case "threads" -> new Workload(name, targets, pattern, footprint, accesses, writesPct, seed,
                    ((Long) value).intValue(), traces);
            default -> throw new IllegalArgumentException("no workload attribute '" + attribute + "'");
        };
    }
}
