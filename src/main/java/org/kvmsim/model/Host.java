package org.kvmsim.model;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A hypervisor host. {@code ksm} is null when the host runs no ksmd (run = 0); {@code cpuOverrides}
 * changes knobs of the CPU preset (TLB geometry, latencies, vpid); {@code cpus} is its number of
 * logical CPUs, each with its own TLBs, or 0 when not given: one per vCPU of the host's VMs.
 */
public record Host(String name, long memory, String cpu, ThpMode thp, KsmPolicy ksm, int numaNodes,
                   List<HugePagePool> pools, Map<String, Long> cpuOverrides, int cpus) implements Declaration {

    public Host {
        pools = List.copyOf(pools);
        cpuOverrides = Collections.unmodifiableMap(new TreeMap<>(cpuOverrides));
    }

    /** A host with its CPUs not given (one per vCPU). */
    public Host(String name, long memory, String cpu, ThpMode thp, KsmPolicy ksm, int numaNodes, List<HugePagePool> pools,
                Map<String, Long> cpuOverrides) {
        this(name, memory, cpu, thp, ksm, numaNodes, pools, cpuOverrides, 0);
    }

    /** A host with no CPU knob overrides and its CPUs not given. */
    public Host(String name, long memory, String cpu, ThpMode thp, KsmPolicy ksm, int numaNodes, List<HugePagePool> pools) {
        this(name, memory, cpu, thp, ksm, numaNodes, pools, Map.of(), 0);
    }

    /** The same host with another KSM policy, THP mode or pools (sweeps vary them). */
    public Host with(ThpMode newThp, KsmPolicy newKsm, List<HugePagePool> newPools) {
        return new Host(name, memory, cpu, newThp, newKsm, numaNodes, newPools, cpuOverrides, cpus);
    }

    public HugePagePool pool(String poolName) {
        for (HugePagePool p : pools) if (p.name().equals(poolName)) return p;
        return null;
    }
}
