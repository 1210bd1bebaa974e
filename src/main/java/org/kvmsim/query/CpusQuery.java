package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.CoreState;
import org.kvmsim.sim.view.HostView;
import tech.tablesaw.api.Table;

/** `show cpus [on HOST]`: each host CPU, the vCPUs it ran, its switches and the flushes it took. */
final class CpusQuery implements Query<CpusQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for every host. */
    record Args(String host) implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("cpus");
    }

    @Override
    public Doc doc() {
        return new Doc("show cpus [on HOST]",
                "per host CPU (logical core), the vCPUs that ran on it, its switches, the remote TLB flushes and IPIs"
                        + " it took, and how busy it was.",
                "cpus", "host, cpu, vcpus (the vCPUs that ran on it, as VM/N, in the order they first did), running (the"
                        + " vCPU on it now), vcpu_switches, vm_switches (switches between vCPUs of different VMs; without"
                        + " VPID each flushes the linear TLB entries), flushes_received (remote TLB flush requests, guest"
                        + " shootdowns and migrations' flushes handled here), ipis_received (those that kicked a running vCPU"
                        + " out of the guest), busy_pct (the time its vCPUs' accesses took at their workloads' rate, as a"
                        + " share of the simulated time since the host started or `reset mmu`; at most 100: vCPUs that share"
                        + " a core want more than it has), base_slice_us (the scheduler's time slice on this host:"
                        + " EEVDF's 0.75 ms scaled by 1 + log2 of the CPU count, at most 8)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "cpus") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.Cpus t = new Tables.Cpus();
        for (String h : in.hosts(a.host())) {
            HostView hv = in.view().host(h);
            for (CoreState c : hv.cpus()) t.add(h, c, hv.cpuCountersNs(), hv.baseSliceNs());
        }
        return t.table();
    }
}
