package org.kvmsim.model;

import java.util.List;

/** A workload on one or more VMs (or on a VM's pagetable): what it touches and how. */
public record Workload(String name, List<Target> targets, Pattern pattern, long footprint, long accesses,
                       double writesPct, long seed) implements Declaration {

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
}
