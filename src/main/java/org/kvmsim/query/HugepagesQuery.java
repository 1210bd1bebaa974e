package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.PoolState;
import tech.tablesaw.api.Table;

/** `show hugepages [on HOST]`: each host's hugetlb pools, as /sys/kernel/mm/hugepages shows them. */
final class HugepagesQuery implements Query<HugepagesQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for every host. */
    record Args(String host) implements ShowArgs {}

    /** The page sizes hugetlbfs has pools of on x86-64: 2 MiB and 1 GiB. */
    private static final long[] PAGE_SIZES = {2L << 20, 1L << 30};

    @Override
    public List<String> words() {
        return List.of("hugepages");
    }

    @Override
    public Doc doc() {
        return new Doc("show hugepages [on HOST]", "hugetlb pools: total, free, reserved and surplus pages per page size.",
                "hugepages", "host, page_size_bytes, nr_hugepages, free_hugepages, resv_hugepages, surplus_hugepages,"
                        + " nr_overcommit_hugepages (as /sys/kernel/mm/hugepages/hugepages-*kB/)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "hugepages") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.Hugepages t = new Tables.Hugepages();
        for (String h : in.hosts(a.host())) {
            for (long size : PAGE_SIZES) {
                PoolState p = in.view().host(h).pool(size);
                t.add(h, size, p.nrHugepages(), p.free(), p.reserved(), p.surplus(), p.nrOvercommit());
            }
        }
        return t.table();
    }
}
