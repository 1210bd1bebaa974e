package org.kvmsim.query;

import org.kvmsim.sim.view.SimView;
import org.kvmsim.sim.view.VmRunState;
import org.kvmsim.sim.view.VmView;

/**
 * The checks of what needs a running VM: the queries that look into one VM's translations, and
 * the session's `write`.
 */
public final class RunningVm {

    private RunningVm() {}

    /** The VM, or a QueryError saying it is not running and how VMs start. */
    public static VmView of(SimView view, String vm) {
        VmView v = view.vm(vm);
        if (v == null || v.state() != VmRunState.RUNNING) {
            throw new QueryError("vm '" + vm + "' is not running (" + (v == null ? "not declared" : v.state().word()) + ")",
                    "VMs start at the first `run` after they are declared, or with `start`");
        }
        return v;
    }

    /** Filling in the translation faulted a host page in, and the OOM killer chose this very VM. */
    static QueryError killed(String vm) {
        return new QueryError("vm '" + vm + "' was killed by the OOM killer while this query faulted"
                + " its page in (the host is out of memory)", "show events tells which VM it chose and why");
    }
}
