package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.MeminfoField;
import tech.tablesaw.api.Table;

/** `show meminfo [on HOST]`: each host's /proc/meminfo. */
final class MeminfoQuery implements Query<MeminfoQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for every host. */
    record Args(String host) implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("meminfo");
    }

    @Override
    public Doc doc() {
        return new Doc("show meminfo [on HOST]", "the host's /proc/meminfo (MemTotal, MemFree, AnonHugePages, ...).",
                "meminfo", "host, field, value, unit — fields and units exactly as /proc/meminfo prints them: MemTotal,"
                        + " MemFree, MemAvailable, AnonPages, PageTables, SecPageTables, AnonHugePages, HugePages_Total,"
                        + " HugePages_Free, HugePages_Rsvd, HugePages_Surp, Hugepagesize, Hugetlb (kB, page counts"
                        + " without a unit)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "meminfo") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        List<String> hosts = in.hosts(a.host());
        List<List<MeminfoField>> fields = new ArrayList<>();
        for (String h : hosts) fields.add(in.view().host(h).meminfo());
        return Tables.meminfo(hosts, fields);
    }
}
