package org.kvmsim.model;

import java.util.List;

/** A hypervisor host. {@code ksm} is null when the host runs no ksmd (run = 0). */
public record Host(String name, long memory, String cpu, ThpMode thp, KsmPolicy ksm, int numaNodes,
                   List<HugePagePool> pools) implements Declaration {

    public Host {
        pools = List.copyOf(pools);
    }

    public HugePagePool pool(String poolName) {
        for (HugePagePool p : pools) if (p.name().equals(poolName)) return p;
        return null;
    }
}
