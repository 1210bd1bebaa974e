package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Vm;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.VcpuView;
import org.kvmsim.sim.view.VmView;
import tech.tablesaw.api.Table;

/** `show mmu by vcpu [VM...]`: `show mmu` per vCPU, with where it ran and the flushes it took. */
final class MmuByVcpuQuery implements Query<MmuByVcpuQuery.Args> {

    /** {@code vms}: the VMs named, or empty for every VM. */
    record Args(List<String> vms) implements ShowArgs {
        Args {
            vms = List.copyOf(vms);
        }
    }

    @Override
    public List<String> words() {
        return List.of("mmu", "by", "vcpu");
    }

    @Override
    public Doc doc() {
        return new Doc("show mmu by vcpu [VM...]",
                "show mmu for each vCPU of each running VM, with the host CPU it is on and its migrations, remote"
                        + " flushes and guest TLB shootdowns.",
                "mmu_by_vcpu", "vm, vcpu, cpu (the host CPU it is on now), migrations (moves to another CPU, each"
                        + " starting it cold), then show mmu's columns for this vCPU alone (the rows of a VM add up to its"
                        + " show mmu row): paging, accesses, l1_dtlb_misses, stlb_misses, walks, walk_refs, refs_per_walk,"
                        + " guest_faults, ept_violations, vm_exits, exit_cycles, fault_cycles, host_fault_cycles, translation_cycles, cycles,"
                        + " cycles_per_access, native_cycles_per_access, overhead_pct; then remote_flushes"
                        + " (kvm_flush_remote_tlbs() requests it handled: KSM merges, copy-on-write breaks, THP collapses"
                        + " and splits), flush_ipis (the IPIs that kicked it out of the guest for them or for a shootdown:"
                        + " each a VM exit), shootdowns_sent, shootdown_ipis (IPIs its shootdowns sent; with pv_tlb_flush a"
                        + " preempted vCPU gets none), shootdowns_received, shootdown_wait_cycles (waiting for preempted"
                        + " vCPUs to acknowledge, without pv_tlb_flush; counted in exit_cycles)");
    }

    @Override
    public boolean takesArguments() {
        return true;
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        List<String> vms = MmuQuery.vmNames(args, c, "show mmu by vcpu");
        return vms == null ? null : new Args(vms);
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.MmuByVcpu t = new Tables.MmuByVcpu();
        for (Vm vm : in.declared().vms.values()) {
            if (!a.vms().isEmpty() && !a.vms().contains(vm.name())) continue;
            VmView v = in.view().vm(vm.name());
            for (VcpuView x : v.vcpus()) t.add(vm.name(), x, v.decl().paging().word());
        }
        return t.table();
    }

    @Override
    public List<String> complete(int position, Declarations declared) {
        return List.copyOf(declared.vms.keySet());
    }
}
