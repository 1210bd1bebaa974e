package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import tech.tablesaw.api.Table;

/** `show events`: what the simulated system did, in order. */
final class EventsQuery implements Query<EventsQuery.Args> {

    record Args() implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("events");
    }

    @Override
    public Doc doc() {
        return new Doc("show events",
                "the simulation's event log: VM starts and stops, failures, OOM kills, SIGBUS, THP collapses.",
                "events", "time_s, kind (vm_start, vm_stop, vm_failed, oom_kill, sigbus, thp_collapse), subject, detail");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "events") ? new Args() : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        return Tables.events(in.view().events());
    }
}
