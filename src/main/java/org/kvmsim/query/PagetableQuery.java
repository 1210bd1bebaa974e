package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.VmView;
import tech.tablesaw.api.Table;

/** `show pagetable VM.PAGETABLE`: the table pages of one guest address space and of the tables under it. */
final class PagetableQuery extends VmQuery<PagetableQuery.Args> {

    record Args(String vm, String pagetable) implements VmArgs {}

    @Override
    public List<String> words() {
        return List.of("pagetable");
    }

    @Override
    public Doc doc() {
        return new Doc("show pagetable VM.PAGETABLE",
                "the page-table pages of one declared guest page table, and of the nested or shadow tables, per level.",
                "pagetable", "vm, address_space, kind (guest, nested, shadow), level, tables, entries, bytes");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        if (args.size() != 1 || !args.get(0).text().contains(".")) {
            c.error(c.statement(), "show pagetable takes VM.PAGETABLE: show pagetable small.app");
            return null;
        }
        ShowContext.Subject s = c.subject(args.get(0), "pagetable");
        return s == null ? null : new Args(s.vm(), s.pagetable());
    }

    @Override
    public Table answer(Args a, Source in) {
        VmView v = RunningVm.of(in.view(), a.vm());
        // a declared pagetable's address space exists once the VM runs, unless building it failed
        int space = v.pagetableSpace(a.pagetable());
        if (space < 0) {
            throw new QueryError("pagetable '" + a.pagetable() + "' of vm '" + a.vm()
                    + "' has no address space: building it failed", "see the error at its declaration");
        }
        Tables.PageTables t = new Tables.PageTables();
        t.add(a.vm(), a.pagetable(), v.guestTables(space));
        t.add(a.vm(), "", v.nestedTables());
        t.add(a.vm(), "", v.shadowTables());
        return t.table("pagetable");
    }
}
