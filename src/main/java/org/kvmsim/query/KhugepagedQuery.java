package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.KhugepagedState;
import tech.tablesaw.api.Table;

/** `show khugepaged [on HOST]`: each host's THP mode and /sys/kernel/mm/transparent_hugepage/khugepaged. */
final class KhugepagedQuery implements Query<KhugepagedQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for every host. */
    record Args(String host) implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("khugepaged");
    }

    @Override
    public Doc doc() {
        return new Doc("show khugepaged [on HOST]",
                "THP enabled and khugepaged's knobs and counters, as /sys/kernel/mm/transparent_hugepage/khugepaged shows them, and the THP events of /proc/vmstat.",
                "khugepaged", "host, enabled (always, madvise, never), pages_to_scan, scan_sleep_millisecs,"
                        + " alloc_sleep_millisecs, max_ptes_none, max_ptes_swap, max_ptes_shared, defrag (0 or 1),"
                        + " pages_collapsed (THPs khugepaged made), full_scans (passes over every registered VM),"
                        + " thp_fault_alloc, thp_split_page, thp_split_page_failed (the host's /proc/vmstat events: THPs"
                        + " faulted in; THPs split, by ksmd to merge a page of one, by an unmap or balloon inside one;"
                        + " splits that failed: ksmd's of a THP holding both pages of an unstable-tree match)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "khugepaged") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        List<String> hosts = in.hosts(a.host());
        List<KhugepagedState> states = new ArrayList<>();
        for (String h : hosts) states.add(in.view().host(h).khugepaged());
        return Tables.khugepaged(hosts, states);
    }
}
