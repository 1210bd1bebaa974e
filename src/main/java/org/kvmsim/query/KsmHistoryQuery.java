package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.KsmCounters;
import tech.tablesaw.api.Table;

/** `show ksm history [on HOST]`: the KSM counters at the end of every full scan. */
final class KsmHistoryQuery implements Query<KsmHistoryQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for every host. */
    record Args(String host) implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("ksm", "history");
    }

    @Override
    public Doc doc() {
        return new Doc("show ksm history [on HOST]", "the KSM counters at the end of every full scan so far.",
                "ksm_history", "host, time_s (when the full scan ended), then the counters of `ksm`: full_scans,"
                        + " pages_scanned, pages_shared, pages_sharing, pages_unshared, pages_volatile, pages_skipped,"
                        + " ksm_zero_pages, stable_node_chains, stable_node_dups, general_profit: one row per completed"
                        + " full scan");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "ksm history") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        List<String> hosts = in.hosts(a.host());
        List<List<KsmCounters>> history = new ArrayList<>();
        for (String h : hosts) history.add(in.view().host(h).ksmHistory());
        return Tables.ksmHistory(hosts, history);
    }
}
