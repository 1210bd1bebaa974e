package org.kvmsim.model;

import java.util.List;

/**
 * A workload on one or more VMs (or on a VM's pagetable): what it touches and how. {@code threads}
 * is its process's threads, each on one vCPU, or 0 when not given: one per vCPU of each target VM.
 */
public record Workload(String name, List<Target> targets, Pattern pattern, long footprint, long accesses,
                       double writesPct, long seed, int threads) implements Declaration {

    /** {@code pagetable} is null for the VM's default address space. */
    public record Target(String vm, String pagetable) {
        @Override
        public String toString() {
            return pagetable == null ? vm : vm + "." + pagetable;
        }
    }

    public Workload {
        targets = List.copyOf(targets);
    }

    /** A workload with one thread per vCPU. */
    public Workload(String name, List<Target> targets, Pattern pattern, long footprint, long accesses,
                    double writesPct, long seed) {
        this(name, targets, pattern, footprint, accesses, writesPct, seed, 0);
    }

    /** A copy with one attribute (the language's name for it) set to a checked value, as a sweep varies it. */
    public Workload with(String attribute, Object value) {
        return switch (attribute) {
            case "pattern" -> new Workload(name, targets, (Pattern) value, footprint, accesses, writesPct, seed, threads);
            case "footprint" -> new Workload(name, targets, pattern, (Long) value, accesses, writesPct, seed, threads);
            case "accesses" -> new Workload(name, targets, pattern, footprint, (Long) value, writesPct, seed, threads);
            case "writes" -> new Workload(name, targets, pattern, footprint, accesses, (Double) value, seed, threads);
            case "seed" -> new Workload(name, targets, pattern, footprint, accesses, writesPct, (Long) value, threads);
            case "threads" -> new Workload(name, targets, pattern, footprint, accesses, writesPct, seed,
                    ((Long) value).intValue());
            default -> throw new IllegalArgumentException("no workload attribute '" + attribute + "'");
        };
    }
}
