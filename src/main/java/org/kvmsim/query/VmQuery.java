package org.kvmsim.query;

import java.util.List;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.ShowArgs;

/**
 * A query about one VM's address space (`show walk`, `translate`, `pagetable`): it needs that VM
 * started, and completes VM names in its first place.
 */
abstract class VmQuery<A extends VmQuery.VmArgs> implements Query<A> {

    /** Arguments that name the VM (and the pagetable, null for the default address space). */
    interface VmArgs extends ShowArgs {
        String vm();

        String pagetable();
    }

    /**
     * The address space the query looks in, of a VM that must be running; finding the default
     * one makes it, as the first access would (a state change: the query says so).
     */
    static int space(VmArgs a, Source in) {
        RunningVm.of(in.view(), a.vm());
        return in.probe().space(a.vm(), a.pagetable());
    }

    @Override
    public String vm(A a) {
        return a.vm();
    }

    @Override
    public List<String> complete(int position, Declarations declared) {
        return position == 0 ? List.copyOf(declared.vms.keySet()) : List.of();
    }
}
