package org.kvmsim.sim.view;

import java.util.List;

/**
 * The simulation as queries see it: read-only, and the only way they see it. Every value handed
 * out is a snapshot or an immutable declaration; nothing here changes the simulation (queries
 * that must change it, such as show walk filling in a nested entry, go through {@link Probe}).
 */
public interface SimView {

    /** Simulated time, ns since the session (or its last reset) began. */
    long now();

    /** Everything that happened so far, in order. */
    List<Event> events();

    /** A declared host's state (a host gets state when first used); null for an unknown name. */
    HostView host(String name);

    /** A declared VM's state; null for an unknown name. */
    VmView vm(String name);

    /**
     * What workload {@code w} (as declared) did on {@code target} so far; null when it has not
     * been scheduled there (its VM was not running at a run since it was declared).
     */
    WorkloadStats workload(org.kvmsim.model.Workload w, org.kvmsim.model.Workload.Target target);
}
