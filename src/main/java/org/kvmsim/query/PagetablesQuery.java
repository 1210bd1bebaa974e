package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Vm;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.VmView;
import tech.tablesaw.api.Table;

/** `show pagetables`: the table pages of every address space of every VM that has an MMU. */
final class PagetablesQuery implements Query<PagetablesQuery.Args> {

    record Args() implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("pagetables");
    }

    @Override
    public Doc doc() {
        return new Doc("show pagetables", "page-table pages per VM, address space and level.",
                "pagetables", "the columns of `pagetable` (vm, address_space, kind, level, tables, entries, bytes),"
                        + " for every address space of every running VM");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "pagetables") ? new Args() : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.PageTables t = new Tables.PageTables();
        for (Vm vm : in.declared().vms.values()) {
            VmView v = in.view().vm(vm.name());
            // an MMU may have no guest address space yet, but it has its nested or shadow root
            if (v.mmu() == null) continue;
            List<String> spaces = v.addressSpaces();
            for (int sp = 0; sp < spaces.size(); sp++) t.add(vm.name(), spaces.get(sp), v.guestTables(sp));
            t.add(vm.name(), "", v.nestedTables());
            t.add(vm.name(), "", v.shadowTables());
        }
        return t.table("pagetables");
    }
}
