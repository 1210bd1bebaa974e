package org.kvmsim.model;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A hypervisor host. {@code ksm} is null when the host runs no ksmd (run = 0); {@code cpuOverrides}
 * changes knobs of the CPU preset (TLB geometry, latencies, vpid).
 */
public record Host(String name, long memory, String cpu, ThpMode thp, KsmPolicy ksm, int numaNodes,
                   List<HugePagePool> pools, Map<String, Long> cpuOverrides) implements Declaration {

    public Host {
        pools = List.copyOf(pools);
        cpuOverrides = Collections.unmodifiableMap(new TreeMap<>(cpuOverrides));
    }

    /** A host with no CPU knob overrides. */
    public Host(String name, long memory, String cpu, ThpMode thp, KsmPolicy ksm, int numaNodes, List<HugePagePool> pools) {
        this(name, memory, cpu, thp, ksm, numaNodes, pools, Map.of());
    }

    /** The same host with another KSM policy, THP mode or pools (sweeps vary them). */
    public Host with(ThpMode newThp, KsmPolicy newKsm, List<HugePagePool> newPools) {
        return new Host(name, memory, cpu, newThp, newKsm, numaNodes, newPools, cpuOverrides);
    }

    public HugePagePool pool(String poolName) {
        for (HugePagePool p : pools) if (p.name().equals(poolName)) return p;
        return null;
    }
}
