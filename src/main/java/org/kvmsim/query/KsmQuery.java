package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.HostView;
import org.kvmsim.sim.view.KsmCounters;
import org.kvmsim.sim.view.KsmKnobs;
import tech.tablesaw.api.Table;

/** `show ksm [on HOST]`: /sys/kernel/mm/ksm of each host, and what merging saves. */
final class KsmQuery implements Query<KsmQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for every host. */
    record Args(String host) implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("ksm");
    }

    @Override
    public Doc doc() {
        return new Doc("show ksm [on HOST]",
                "per host, the /sys/kernel/mm/ksm knobs and counters (pages_shared, pages_sharing, ...),"
                        + " the memory saved and ksmd's CPU.",
                "ksm", "host, run, pages_to_scan, sleep_millisecs, full_scans, pages_scanned, pages_shared, pages_sharing,"
                        + " pages_unshared, pages_volatile, pages_skipped, ksm_zero_pages, stable_node_chains,"
                        + " stable_node_dups, general_profit (named as the sysfs files), saved_bytes = (pages_sharing +"
                        + " ksm_zero_pages) x 4096, ksmd_cpu_pct (ksmd's CPU time over simulated time, percent of one core)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "ksm") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        List<String> hosts = in.hosts(a.host());
        List<KsmKnobs> knobs = new ArrayList<>();
        List<KsmCounters> counters = new ArrayList<>();
        for (String h : hosts) {
            // A host without a policy runs no ksmd: every counter is truly 0.
            HostView hv = in.view().host(h);
            knobs.add(hv.ksmKnobs());
            counters.add(hv.ksmCounters());
        }
        return Tables.ksm(hosts, knobs, counters, in.view().now());
    }
}
