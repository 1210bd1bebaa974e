package org.kvmsim.report;

import java.util.List;
import org.kvmsim.model.Vm;
import org.kvmsim.sim.Engine;
import org.kvmsim.sim.ksm.KsmCounters;
import org.kvmsim.sim.ksm.KsmKnobs;
import org.kvmsim.sim.mem.MeminfoField;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * One factory per output table, so each table's name and columns live in one place. Column
 * names are snake_case and carry their unit; values are raw numbers.
 */
public final class Tables {

    private Tables() {}

    /** `show vms`: one row per declared VM. */
    public static final class VmsTable {
        private final StringColumn name = StringColumn.create("name");
        private final StringColumn host = StringColumn.create("host");
        private final LongColumn memory = LongColumn.create("memory_bytes");
        private final LongColumn vcpus = LongColumn.create("vcpus");
        private final StringColumn paging = StringColumn.create("paging");
        private final StringColumn backing = StringColumn.create("backing");
        private final StringColumn image = StringColumn.create("image");
        private final StringColumn state = StringColumn.create("state");
        private final LongColumn rss = LongColumn.create("rss_bytes");

        public void add(Vm vm, String vmState, long rssBytes) {
            name.append(vm.name());
            host.append(vm.host());
            memory.append(vm.memory());
            vcpus.append(vm.vcpus());
            paging.append(vm.paging().word());
            backing.append(vm.backing().toString());
            image.append(vm.image() == null ? "" : vm.image());
            state.append(vmState);
            rss.append(rssBytes);
        }

        public Table table() {
            return Table.create("vms", name, host, memory, vcpus, paging, backing, image, state, rss);
        }
    }

    /** The counter columns of `show ksm` and `show ksm history`, named exactly as the sysfs files. */
    private static final String[] KSM_COUNTERS = {"full_scans", "pages_scanned", "pages_shared", "pages_sharing",
            "pages_unshared", "pages_volatile", "pages_skipped", "ksm_zero_pages", "stable_node_chains",
            "stable_node_dups", "general_profit"};

    private static long[] counters(KsmCounters c) {
        return new long[] {c.fullScans(), c.pagesScanned(), c.pagesShared(), c.pagesSharing(), c.pagesUnshared(),
                c.pagesVolatile(), c.pagesSkipped(), c.ksmZeroPages(), c.stableNodeChains(), c.stableNodeDups(),
                c.generalProfit()};
    }

    /**
     * `show ksm`: one row per host: knobs, every sysfs counter, saved_bytes (pages_sharing plus
     * zero pages, times 4096) and ksmd_cpu_pct (ksmd's CPU time over simulated time, of one core).
     */
    public static Table ksm(List<String> hosts, List<KsmKnobs> knobs, List<KsmCounters> counters, long nowNs) {
        StringColumn host = StringColumn.create("host");
        LongColumn run = LongColumn.create("run"), pts = LongColumn.create("pages_to_scan"),
                sleep = LongColumn.create("sleep_millisecs"), saved = LongColumn.create("saved_bytes");
        LongColumn[] cols = new LongColumn[KSM_COUNTERS.length];
        for (int i = 0; i < cols.length; i++) cols[i] = LongColumn.create(KSM_COUNTERS[i]);
        DoubleColumn cpu = DoubleColumn.create("ksmd_cpu_pct");
        for (int r = 0; r < hosts.size(); r++) {
            host.append(hosts.get(r));
            KsmKnobs k = knobs.get(r);
            run.append(k.run());
            pts.append(k.pagesToScan());
            sleep.append(k.sleepMillisecs());
            KsmCounters c = counters.get(r);
            long[] v = counters(c);
            for (int i = 0; i < cols.length; i++) cols[i].append(v[i]);
            saved.append((c.pagesSharing() + c.ksmZeroPages()) * 4096L);
            cpu.append(nowNs == 0 ? 0.0 : Math.round(10_000.0 * c.cpuNanos() / nowNs) / 100.0);
        }
        Table t = Table.create("ksm", host, run, pts, sleep);
        for (LongColumn c : cols) t.addColumns(c);
        return t.addColumns(saved, cpu);
    }

    /** `show ksm history`: one row per completed full scan, with the simulated time it ended. */
    public static Table ksmHistory(List<String> hosts, List<List<KsmCounters>> histories) {
        StringColumn host = StringColumn.create("host");
        DoubleColumn time = DoubleColumn.create("time_s");
        LongColumn[] cols = new LongColumn[KSM_COUNTERS.length];
        for (int i = 0; i < cols.length; i++) cols[i] = LongColumn.create(KSM_COUNTERS[i]);
        for (int r = 0; r < hosts.size(); r++) {
            for (KsmCounters c : histories.get(r)) {
                host.append(hosts.get(r));
                time.append(c.timeNanos() / 1e9);
                long[] v = counters(c);
                for (int i = 0; i < cols.length; i++) cols[i].append(v[i]);
            }
        }
        Table t = Table.create("ksm_history", host, time);
        for (LongColumn c : cols) t.addColumns(c);
        return t;
    }

    /** `show ksm by vm`: per VM, present pages, pages merged (KSM or zero page) and bytes saved. */
    public static final class KsmByVm {
        private final StringColumn vm = StringColumn.create("vm"), host = StringColumn.create("host");
        private final LongColumn present = LongColumn.create("present_pages"), merged = LongColumn.create("pages_merged"),
                zero = LongColumn.create("ksm_zero_pages"), saved = LongColumn.create("saved_bytes");

        public void add(String vmName, String hostName, long presentPages, long mergedPages, long zeroPages) {
            vm.append(vmName);
            host.append(hostName);
            present.append(presentPages);
            merged.append(mergedPages);
            zero.append(zeroPages);
            saved.append(mergedPages * 4096L);
        }

        public Table table() {
            return Table.create("ksm_by_vm", vm, host, present, merged, zero, saved);
        }
    }

    /** `show meminfo`: /proc/meminfo's fields, names and units as Linux prints them (kB). */
    public static Table meminfo(List<String> hosts, List<List<MeminfoField>> fields) {
        StringColumn host = StringColumn.create("host"), field = StringColumn.create("field"),
                unit = StringColumn.create("unit");
        LongColumn value = LongColumn.create("value");
        for (int r = 0; r < hosts.size(); r++) {
            for (MeminfoField f : fields.get(r)) {
                host.append(hosts.get(r));
                field.append(f.name());
                value.append(f.value());
                unit.append(f.unit());
            }
        }
        return Table.create("meminfo", host, field, value, unit);
    }

    /** `show hugepages`: the pools of each page size, as /sys/kernel/mm/hugepages shows them. */
    public static final class Hugepages {
        private final StringColumn host = StringColumn.create("host");
        private final LongColumn size = LongColumn.create("page_size_bytes"), nr = LongColumn.create("nr_hugepages"),
                free = LongColumn.create("free_hugepages"), resv = LongColumn.create("resv_hugepages"),
                surp = LongColumn.create("surplus_hugepages"), over = LongColumn.create("nr_overcommit_hugepages");

        public void add(String h, long pageSize, long nrPages, long freePages, long resvPages, long surpPages, long overcommit) {
            host.append(h);
            size.append(pageSize);
            nr.append(nrPages);
            free.append(freePages);
            resv.append(resvPages);
            surp.append(surpPages);
            over.append(overcommit);
        }

        public Table table() {
            return Table.create("hugepages", host, size, nr, free, resv, surp, over);
        }
    }

    /** `show events`: what happened, in simulated time order. */
    public static Table events(List<Engine.Event> events) {
        DoubleColumn time = DoubleColumn.create("time_s");
        StringColumn kind = StringColumn.create("kind"), subject = StringColumn.create("subject"),
                detail = StringColumn.create("detail");
        for (Engine.Event e : events) {
            time.append(e.timeNs() / 1e9);
            kind.append(e.kind());
            subject.append(e.subject());
            detail.append(e.detail());
        }
        return Table.create("events", time, kind, subject, detail);
    }
}
