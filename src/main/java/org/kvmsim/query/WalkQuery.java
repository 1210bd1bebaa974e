package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.Probe;
import tech.tablesaw.api.Table;

/**
 * `show walk VM[.PAGETABLE] GVA`: every memory reference of the walk that translates one
 * address. Walking fills in what the first access would, so it changes state.
 */
final class WalkQuery extends VmQuery<WalkQuery.Args> {

    /** {@code pagetable} is null for the VM's default address space. */
    record Args(String vm, String pagetable, long address) implements VmArgs {}

    @Override
    public List<String> words() {
        return List.of("walk");
    }

    @Override
    public Doc doc() {
        return new Doc("show walk VM[.PAGETABLE] GVA",
                "every memory reference of the (two-dimensional) page walk that translates one address, with empty TLBs.",
                "walk", "step, dimension (guest, nested, shadow), level, table_address, index, entry_address, translating"
                        + " (the address this dimension is translating: the GVA for guest and shadow rows, for nested rows"
                        + " the GPA of a guest table or of the data), points_to (what the entry holds: `table ADDR`,"
                        + " `4 KiB page ADDR` (or `2 MiB page ADDR`, `1 GiB page ADDR`), or `not present`): one row per"
                        + " memory reference of the architectural walk with empty TLBs and caches");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        VmAddress va = VmAddress.check("walk", args, c);
        return va == null ? null : new Args(va.subject().vm(), va.subject().pagetable(), va.address());
    }

    @Override
    public Table answer(Args a, Source in) {
        int space = space(a, in);
        try {
            return Tables.walk(in.probe().walk(a.vm(), space, a.address()));
        } catch (Probe.VmKilled killed) {
            throw RunningVm.killed(a.vm());
        }
    }

    @Override
    public boolean changesState() {
        return true;
    }
}
