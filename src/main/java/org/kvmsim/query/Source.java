package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.model.Declarations;
import org.kvmsim.sim.view.Probe;
import org.kvmsim.sim.view.SimView;

/**
 * What a query reads: the declarations (which VMs and hosts there are, in declaration order), the
 * simulation's read-only view, and the probe for the lookups that change it.
 */
record Source(Declarations declared, SimView view, Probe probe) {

    /** The host of `on HOST`, or without one every declared host, in order. */
    List<String> hosts(String on) {
        return on != null ? List.of(on) : new ArrayList<>(declared.hosts.keySet());
    }
}
