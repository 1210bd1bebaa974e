package org.kvmsim.report;

import java.util.List;
import org.kvmsim.model.ByteSize;
import org.kvmsim.model.KsmSysfs;
import org.kvmsim.model.Vm;
import org.kvmsim.sim.view.CoreState;
import org.kvmsim.sim.view.Event;
import org.kvmsim.sim.view.KsmCounters;
import org.kvmsim.sim.view.KsmKnobs;
import org.kvmsim.sim.view.KhugepagedState;
import org.kvmsim.sim.view.MeminfoField;
import org.kvmsim.sim.view.MmuCounters;
import org.kvmsim.sim.view.TableStats;
import org.kvmsim.sim.view.Translation;
import org.kvmsim.sim.view.VcpuStats;
import org.kvmsim.sim.view.VcpuView;
import org.kvmsim.sim.view.WalkRef;
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

    /** `show workloads`: one row per workload and target. */
    public static final class WorkloadsTable {
        private final StringColumn workload = StringColumn.create("workload");
        private final StringColumn vm = StringColumn.create("vm");
        private final StringColumn source = StringColumn.create("source");
        private final LongColumn accesses = LongColumn.create("accesses");
        private final LongColumn fetches = LongColumn.create("instruction_fetches");
        private final LongColumn left = LongColumn.create("accesses_left");

        /** {@code accessesLeft} null: not known yet (a trace not counted before its first run). */
        public void add(String name, String target, String from, long made, long instructionFetches, Long accessesLeft) {
            workload.append(name);
            vm.append(target);
            source.append(from);
            accesses.append(made);
            fetches.append(instructionFetches);
            if (accessesLeft == null) left.appendMissing();
            else left.append(accessesLeft);
        }

        public Table table() {
            return Table.create("workloads", workload, vm, source, accesses, fetches, left);
        }
    }

    /** The counter columns of `show ksm` and `show ksm history`, named exactly as the sysfs files. */
    private static LongColumn[] counterColumns() {
        LongColumn[] cols = new LongColumn[KsmSysfs.COUNTERS.size()];
        for (int i = 0; i < cols.length; i++) cols[i] = LongColumn.create(KsmSysfs.COUNTERS.get(i));
        return cols;
    }

    private static void appendCounters(LongColumn[] cols, KsmCounters c) {
        for (int i = 0; i < cols.length; i++) cols[i].append(c.get(KsmSysfs.COUNTERS.get(i)));
    }

    /**
     * `show ksm`: one row per host: knobs, every sysfs counter, saved_bytes (pages_sharing plus
     * zero pages, times 4096) and ksmd_cpu_pct (ksmd's CPU time over simulated time, of one core).
     */
    public static Table ksm(List<String> hosts, List<KsmKnobs> knobs, List<KsmCounters> counters, long nowNs) {
        StringColumn host = StringColumn.create("host");
        LongColumn run = LongColumn.create("run"), pts = LongColumn.create("pages_to_scan"),
                sleep = LongColumn.create("sleep_millisecs"), saved = LongColumn.create("saved_bytes");
        LongColumn[] cols = counterColumns();
        DoubleColumn cpu = DoubleColumn.create("ksmd_cpu_pct");
        for (int r = 0; r < hosts.size(); r++) {
            host.append(hosts.get(r));
            KsmKnobs k = knobs.get(r);
            run.append(k.run());
            pts.append(k.pagesToScan());
            sleep.append(k.sleepMillisecs());
            KsmCounters c = counters.get(r);
            appendCounters(cols, c);
            saved.append(c.savedBytes());
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
        LongColumn[] cols = counterColumns();
        for (int r = 0; r < hosts.size(); r++) {
            for (KsmCounters c : histories.get(r)) {
                host.append(hosts.get(r));
                time.append(c.timeNanos() / 1e9);
                appendCounters(cols, c);
            }
        }
        Table t = Table.create("ksm_history", host, time);
        for (LongColumn c : cols) t.addColumns(c);
        return t;
    }

    /**
     * `show ksm by vm`: per VM, its present pages, its pages merged (mapped to a KSM page, as
     * /proc/PID/ksm_merging_pages counts them, or to the zero page), its rmap_items, Linux's
     * ksm_process_profit ((merging + zero pages) x 4096 - rmap_items x 64, mm/ksm.c) and
     * saved_bytes: the host's saving shared out in proportion to the pages each VM merged, so
     * that the VMs' figures add up to `show ksm`'s saved_bytes (every KSM page is itself one of
     * the merged pages, so merged pages x 4096 would count each KSM page as saved), and
     * anon_huge_pages_kb: AnonHugePages of its guest RAM in smaps (KSM splits a THP to merge in it).
     */
    public static final class KsmByVm {
        private final StringColumn vm = StringColumn.create("vm"), host = StringColumn.create("host");
        private final LongColumn present = LongColumn.create("present_pages"), merged = LongColumn.create("pages_merged"),
                zero = LongColumn.create("ksm_zero_pages"), rmap = LongColumn.create("ksm_rmap_items"),
                profit = LongColumn.create("ksm_process_profit"), saved = LongColumn.create("saved_bytes"),
                anonHuge = LongColumn.create("anon_huge_pages_kb");

        /** {@code hostSaved} and {@code hostMerged}: the host's saved_bytes and all its VMs' merged pages. */
        public void add(String vmName, String hostName, long presentPages, long mergedPages, long zeroPages,
                        long rmapItems, long hostSaved, long hostMerged, long anonHugePagesKb) {
            vm.append(vmName);
            host.append(hostName);
            present.append(presentPages);
            merged.append(mergedPages);
            zero.append(zeroPages);
            rmap.append(rmapItems);
            profit.append(mergedPages * 4096L - rmapItems * 64L);
            saved.append(hostMerged == 0 ? 0 : Math.round((double) hostSaved * mergedPages / hostMerged));
            anonHuge.append(anonHugePagesKb);
        }

        public Table table() {
            return Table.create("ksm_by_vm", vm, host, present, merged, zero, rmap, profit, saved, anonHuge);
        }
    }

    /**
     * `show khugepaged`: per host, THP enabled, the khugepaged knobs and counters under their
     * sysfs names (/sys/kernel/mm/transparent_hugepage/khugepaged).
     */
    public static Table khugepaged(List<String> hosts, List<KhugepagedState> states) {
        StringColumn host = StringColumn.create("host"), enabled = StringColumn.create("enabled");
        LongColumn pts = LongColumn.create("pages_to_scan"), scan = LongColumn.create("scan_sleep_millisecs"),
                alloc = LongColumn.create("alloc_sleep_millisecs"), none = LongColumn.create("max_ptes_none"),
                swap = LongColumn.create("max_ptes_swap"), shared = LongColumn.create("max_ptes_shared"),
                defrag = LongColumn.create("defrag"), collapsed = LongColumn.create("pages_collapsed"),
                full = LongColumn.create("full_scans"), faultAlloc = LongColumn.create("thp_fault_alloc"),
                split = LongColumn.create("thp_split_page"), splitFailed = LongColumn.create("thp_split_page_failed");
        for (int r = 0; r < hosts.size(); r++) {
            KhugepagedState k = states.get(r);
            host.append(hosts.get(r));
            enabled.append(k.enabled());
            pts.append(k.pagesToScan());
            scan.append(k.scanSleepMillisecs());
            alloc.append(k.allocSleepMillisecs());
            none.append(k.maxPtesNone());
            swap.append(k.maxPtesSwap());
            shared.append(k.maxPtesShared());
            defrag.append(k.defrag() ? 1 : 0);
            collapsed.append(k.pagesCollapsed());
            full.append(k.fullScans());
            faultAlloc.append(k.thpFaultAlloc());
            split.append(k.thpSplitPage());
            splitFailed.append(k.thpSplitPageFailed());
        }
        return Table.create("khugepaged", host, enabled, pts, scan, alloc, none, swap, shared, defrag, collapsed, full,
                faultAlloc, split, splitFailed);
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
    public static Table events(List<Event> events) {
        DoubleColumn time = DoubleColumn.create("time_s");
        StringColumn kind = StringColumn.create("kind"), subject = StringColumn.create("subject"),
                detail = StringColumn.create("detail");
        for (Event e : events) {
            time.append(e.timeNs() / 1e9);
            kind.append(e.kind());
            subject.append(e.subject());
            detail.append(e.detail());
        }
        return Table.create("events", time, kind, subject, detail);
    }

    /** `show mmu`: per VM, what translation cost, against the same accesses priced natively. */
    public static final class Mmu {
        private final StringColumn vm = StringColumn.create("vm"), paging = StringColumn.create("paging");
        private final LongColumn accesses = LongColumn.create("accesses"), l1 = LongColumn.create("l1_dtlb_misses"),
                stlb = LongColumn.create("stlb_misses"), walks = LongColumn.create("walks"), refs = LongColumn.create("walk_refs");
        private final DoubleColumn refsPerWalk = DoubleColumn.create("refs_per_walk");
        private final LongColumn faults = LongColumn.create("guest_faults"), ept = LongColumn.create("ept_violations"),
                exits = LongColumn.create("vm_exits"), exitCycles = LongColumn.create("exit_cycles"),
                faultCycles = LongColumn.create("fault_cycles"), hostFaultCycles = LongColumn.create("host_fault_cycles"),
                translationCycles = LongColumn.create("translation_cycles"),
                cycles = LongColumn.create("cycles");
        private final DoubleColumn cpa = DoubleColumn.create("cycles_per_access"), ncpa = DoubleColumn.create("native_cycles_per_access"),
                overhead = DoubleColumn.create("overhead_pct");

        public void add(String name, MmuCounters c, String pagingWord) {
            vm.append(name);
            paging.append(pagingWord);
            accesses.append(c == null ? 0 : c.accesses());
            l1.append(c == null ? 0 : c.l1DtlbMisses());
            stlb.append(c == null ? 0 : c.stlbMisses());
            walks.append(c == null ? 0 : c.walks());
            refs.append(c == null ? 0 : c.walkRefs());
            refsPerWalk.append(c == null ? 0 : round(c.refsPerWalk()));
            faults.append(c == null ? 0 : c.guestFaults());
            ept.append(c == null ? 0 : c.eptViolations());
            exits.append(c == null ? 0 : c.vmExits());
            exitCycles.append(c == null ? 0 : c.exitCycles());
            faultCycles.append(c == null ? 0 : c.faultCycles());
            hostFaultCycles.append(c == null ? 0 : c.hostFaultCycles());
            translationCycles.append(c == null ? 0 : c.translationCycles());
            cycles.append(c == null ? 0 : c.cycles());
            cpa.append(c == null ? 0 : round(c.cyclesPerAccess()));
            ncpa.append(c == null ? 0 : round(c.nativeCyclesPerAccess()));
            overhead.append(c == null ? 0 : round(c.overheadPct()));
        }

        public Table table() {
            return Table.create("mmu", vm, paging, accesses, l1, stlb, walks, refs, refsPerWalk, faults, ept, exits,
                    exitCycles, faultCycles, hostFaultCycles, translationCycles, cycles, cpa, ncpa, overhead);
        }
    }

    /** `show mmu by vcpu`: show mmu's columns per vCPU, with its CPU, migrations, flushes and shootdowns. */
    public static final class MmuByVcpu {
        private final Mmu mmu = new Mmu();
        private final LongColumn vcpu = LongColumn.create("vcpu"), cpu = LongColumn.create("cpu"),
                migrations = LongColumn.create("migrations"), remote = LongColumn.create("remote_flushes"),
                ipis = LongColumn.create("flush_ipis"), sent = LongColumn.create("shootdowns_sent"),
                sentIpis = LongColumn.create("shootdown_ipis"), received = LongColumn.create("shootdowns_received"),
                wait = LongColumn.create("shootdown_wait_cycles");

        public void add(String vmName, VcpuView v, String pagingWord) {
            mmu.add(vmName, v.mmu(), pagingWord);
            VcpuStats s = v.stats();
            vcpu.append(s.vcpu());
            cpu.append(s.core());
            migrations.append(s.migrations());
            remote.append(s.remoteFlushes());
            ipis.append(s.flushIpis());
            sent.append(s.shootdownsSent());
            sentIpis.append(s.shootdownIpis());
            received.append(s.shootdownsReceived());
            wait.append(s.shootdownWaitCycles());
        }

        public Table table() {
            Table t = mmu.table().setName("mmu_by_vcpu");
            t.insertColumn(1, vcpu);
            t.insertColumn(2, cpu);
            t.insertColumn(3, migrations);
            return t.addColumns(remote, ipis, sent, sentIpis, received, wait);
        }
    }

    /** `show cpus`: one row per host CPU. */
    public static final class Cpus {
        private final StringColumn host = StringColumn.create("host");
        private final LongColumn cpu = LongColumn.create("cpu");
        private final StringColumn vcpus = StringColumn.create("vcpus"), running = StringColumn.create("running");
        private final LongColumn switches = LongColumn.create("vcpu_switches"), vmSwitches = LongColumn.create("vm_switches"),
                flushes = LongColumn.create("flushes_received"), ipis = LongColumn.create("ipis_received");
        private final DoubleColumn busy = DoubleColumn.create("busy_pct");
        private final LongColumn slice = LongColumn.create("base_slice_us");

        public void add(String hostName, CoreState c, long sinceNs, long baseSliceNs) {
            host.append(hostName);
            cpu.append(c.cpu());
            vcpus.append(String.join(" ", c.ran()));
            running.append(c.current() == null ? "" : c.current());
            switches.append(c.vcpuSwitches());
            vmSwitches.append(c.vmSwitches());
            flushes.append(c.flushesReceived());
            ipis.append(c.ipisReceived());
            busy.append(sinceNs <= 0 ? 0 : round(Math.min(100.0, 100.0 * c.busyNs() / sinceNs)));
            slice.append(baseSliceNs / 1000);
        }

        public Table table() {
            return Table.create("cpus", host, cpu, vcpus, running, switches, vmSwitches, flushes, ipis, busy, slice);
        }
    }

    /** Ratios are kept to 4 decimals so tables read well and stay byte-stable. */
    static double round(double d) {
        return Double.isFinite(d) ? Math.round(d * 10_000.0) / 10_000.0 : 0;
    }

    /** `show walk`: one row per memory reference of the architectural walk, in order. */
    public static Table walk(List<WalkRef> refs) {
        LongColumn step = LongColumn.create("step"), level = LongColumn.create("level"), index = LongColumn.create("index");
        StringColumn dim = StringColumn.create("dimension"), table = StringColumn.create("table_address"),
                entry = StringColumn.create("entry_address"), translating = StringColumn.create("translating"),
                points = StringColumn.create("points_to");
        for (WalkRef r : refs) {
            step.append(r.step());
            dim.append(r.dimension().label());
            level.append(r.level());
            table.append(hex(r.tableAddress()));
            index.append(r.index());
            entry.append(hex(r.entryAddress()));
            translating.append(hex(r.translating()));
            points.append(r.next() < 0 ? "not present"
                    : r.leaf() ? new ByteSize(r.pageSize()) + " page " + hex(r.next())
                    : "table " + hex(r.next()));
        }
        return Table.create("walk", step, dim, level, table, index, entry, translating, points);
    }

    static String hex(long a) {
        return String.format("0x%x", a);
    }

    /**
     * `show translate`: the four addresses of one access, the page sizes on each side, and the
     * KVM memslot of the gpa (its number and guest-physical range, last byte included).
     */
    public static Table translate(String subject, Translation t) {
        String range = t.memslot() < 0 ? "" : hex(t.memslotGpa()) + "-" + hex(t.memslotGpa() + t.memslotBytes() - 1);
        return Table.create("translate", StringColumn.create("vm", List.of(subject)),
                StringColumn.create("gva", List.of(hex(t.gva()))), StringColumn.create("gpa", List.of(hex(t.gpa()))),
                StringColumn.create("hva", List.of(hex(t.hva()))), StringColumn.create("hpa", List.of(hex(t.hpa()))),
                LongColumn.create("guest_page_size", new long[] {t.guestPageSize()}),
                LongColumn.create("host_page_size", new long[] {t.hostPageSize()}),
                LongColumn.create("memslot", new long[] {t.memslot()}),
                StringColumn.create("memslot_gpa", List.of(range)));
    }

    /** `show pagetable` / `show pagetables`: per VM and level, tables, entries and bytes of each kind. */
    public static final class PageTables {
        private final StringColumn vm = StringColumn.create("vm"), space = StringColumn.create("address_space"),
                kind = StringColumn.create("kind");
        private final LongColumn level = LongColumn.create("level"), tables = LongColumn.create("tables"),
                entries = LongColumn.create("entries"), bytes = LongColumn.create("bytes");

        public void add(String vmName, String spaceName, List<TableStats> stats) {
            for (TableStats s : stats) {
                vm.append(vmName);
                space.append(spaceName);
                kind.append(s.kind());
                level.append(s.level());
                tables.append(s.tables());
                entries.append(s.entries());
                bytes.append(s.bytes());
            }
        }

        public Table table(String name) {
            return Table.create(name, vm, space, kind, level, tables, entries, bytes);
        }
    }
}
