package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Vm;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.VmView;
import tech.tablesaw.api.Table;

/** `show mmu [VM...]`: what translation cost each VM, against the same accesses priced natively. */
final class MmuQuery implements Query<MmuQuery.Args> {

    /** {@code vms}: the VMs named, or empty for every VM. */
    record Args(List<String> vms) implements ShowArgs {
        Args {
            vms = List.copyOf(vms);
        }
    }

    @Override
    public List<String> words() {
        return List.of("mmu");
    }

    @Override
    public Doc doc() {
        return new Doc("show mmu [VM...]",
                "per VM, TLB misses, page walks, guest faults, EPT violations and VM exits, and what they cost in cycles.",
                "mmu", "vm, paging, accesses, l1_dtlb_misses, stlb_misses, walks (a walk ended by a guest page fault or an"
                        + " EPT violation is walked again and counts again), walk_refs, refs_per_walk, guest_faults (a fault"
                        + " that maps a 2 MiB guest page, under guest_thp = always, is one), ept_violations, vm_exits,"
                        + " exit_cycles, fault_cycles (the guest kernel's own page faults, and the zeroing of 2 MiB guest"
                        + " pages), host_fault_cycles (EPT violations and shadow faults that had to fault the host page"
                        + " in: host_fault_cycles each plus clear_page_cycles per 4 KiB zeroed, 512 for a THP or 2 MiB"
                        + " hugetlbfs page; nothing for a present page, after prealloc or on a refault after a zap; not"
                        + " in the native price), translation_cycles (the rest: TLB hits, STLB lookups and walk references), cycles,"
                        + " cycles_per_access, native_cycles_per_access (the same accesses priced without virtualization:"
                        + " the same for every paging mode, host page size and VPID setting), overhead_pct");
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
        List<String> vms = vmNames(args, c, "show mmu");
        return vms == null ? null : new Args(vms);
    }

    /** The VM names {@code args} give, all declared; null after reporting one that is not. */
    static List<String> vmNames(List<Syntax.Atom> args, ShowContext c, String form) {
        List<String> vms = new ArrayList<>();
        for (Syntax.Atom a : args) {
            if (!(a instanceof Syntax.Word w)) {
                c.error(a.span(), form + " takes VM names, not '" + a.text() + "'");
                return null;
            }
            if (c.vm(w) == null) return null;
            vms.add(w.text());
        }
        return vms;
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.Mmu t = new Tables.Mmu();
        for (Vm vm : in.declared().vms.values()) {
            if (!a.vms().isEmpty() && !a.vms().contains(vm.name())) continue;
            VmView v = in.view().vm(vm.name());
            // A VM that never ran made no accesses: its counters are truly 0.
            t.add(vm.name(), v.mmu(), v.decl().paging().word());
        }
        return t.table();
    }

    @Override
    public List<String> complete(int position, Declarations declared) {
        return List.copyOf(declared.vms.keySet());
    }
}
