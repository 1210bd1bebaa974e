package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Vm;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.VmView;
import tech.tablesaw.api.Table;

/** `show vms`: every declared VM, as it runs. */
final class VmsQuery implements Query<VmsQuery.Args> {

    record Args() implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("vms");
    }

    @Override
    public Doc doc() {
        return new Doc("show vms", "one row per VM: its host, memory, vCPUs, paging, backing, state and resident set.",
                "vms", "name, host, memory_bytes, vcpus, paging, backing, image, state (declared, running, stopped,"
                        + " failed, killed), rss_bytes");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "vms") ? new Args() : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.VmsTable t = new Tables.VmsTable();
        for (Vm vm : in.declared().vms.values()) {
            VmView v = in.view().vm(vm.name());
            // A VM running with an earlier declaration shows what it runs with.
            t.add(v.decl(), v.state().word(), v.rssBytes());
        }
        return t.table();
    }
}
