package org.kvmsim.sim.view;

import java.util.List;
import java.util.Optional;

/**
 * The lookups a query may make that change the simulation, as the hardware or KVM would in
 * making them: walking an address fills in missing nested or shadow entries and faults the host
 * page in, as the first access would. Queries that use it say so (a sweep replays them).
 */
public interface Probe {

    /** Thrown when the lookup faulted a host page in and the OOM killer chose this very VM. */
    final class VmKilled extends RuntimeException {
        public VmKilled() {
            super(null, null, false, false);
        }
    }

    /** The address space of a running VM: its default one (null) or a pagetable's. */
    int space(String vm, String pagetable);

    /** Every memory reference of the walk that translates {@code gva}. */
    List<WalkRef> walk(String vm, int space, long gva);

    /** All four names of {@code gva}, or empty when the guest has not mapped it. */
    Optional<Translation> translate(String vm, int space, long gva);
}
