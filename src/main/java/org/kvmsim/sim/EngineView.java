package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.model.Host;
import org.kvmsim.model.Vm;
import org.kvmsim.sim.hugetlb.Hstate;
import org.kvmsim.sim.ksm.Ksmd;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mmu.Cpu;
import org.kvmsim.sim.view.CoreState;
import org.kvmsim.sim.view.Event;
import org.kvmsim.sim.view.HostView;
import org.kvmsim.sim.view.KhugepagedState;
import org.kvmsim.sim.view.KsmCounters;
import org.kvmsim.sim.view.KsmKnobs;
import org.kvmsim.sim.view.KsmSlotState;
import org.kvmsim.sim.view.MeminfoField;
import org.kvmsim.sim.view.MmuCounters;
import org.kvmsim.sim.view.PoolState;
import org.kvmsim.sim.view.SimView;
import org.kvmsim.sim.view.TableStats;
import org.kvmsim.sim.view.VcpuView;
import org.kvmsim.sim.view.VmRunState;
import org.kvmsim.sim.view.VmView;

/** The engine's state as {@link SimView} hands it to queries: snapshots, nothing that changes it. */
final class EngineView implements SimView {

    /** Counters of a host that runs no ksmd: truly 0 (a fresh ksmd has counted nothing). */
    private static final KsmCounters NO_KSM = new Ksmd().counters();

    private final Engine e;

    EngineView(Engine e) {
        this.e = e;
    }

    @Override
    public long now() {
        return e.now();
    }

    @Override
    public List<Event> events() {
        return e.events();
    }

    @Override
    public HostView host(String name) {
        HostState h = e.hosts.get(name);
        return h == null ? null : new Host_(h);
    }

    @Override
    public VmView vm(String name) {
        VmState v = e.vms.get(name);
        return v == null ? null : new Vm_(v);
    }

    @Override
    public org.kvmsim.sim.view.WorkloadStats workload(org.kvmsim.model.Workload w, org.kvmsim.model.Workload.Target target) {
        return e.workloads.stats(w, target);
    }

    private final class Host_ implements HostView {
        private final HostState h;

        Host_(HostState h) {
            this.h = h;
        }

        @Override
        public Host decl() {
            return h.decl;
        }

        @Override
        public boolean hasKsm() {
            return h.ksmd != null;
        }

        @Override
        public KsmKnobs ksmKnobs() {
            return h.ksmd == null ? KsmKnobs.DEFAULTS : h.ksmd.knobs();
        }

        @Override
        public KsmCounters ksmCounters() {
            return h.ksmd == null ? NO_KSM : h.ksmd.counters();
        }

        @Override
        public List<KsmCounters> ksmHistory() {
            return h.ksmd == null ? List.of() : h.ksmd.history();
        }

        @Override
        public KhugepagedState khugepaged() {
            var t = h.thp;
            return new KhugepagedState(t.mode.name().toLowerCase(java.util.Locale.ROOT), t.pagesToScan, t.scanSleepMillis,
                    t.allocSleepMillis, t.maxPtesNone, t.maxPtesSwap, t.maxPtesShared, t.defrag,
                    h.khugepaged.pagesCollapsed(), h.khugepaged.fullScans(),
                    h.mem.events(HostMemory.Event.THP_FAULT_ALLOC), h.mem.events(HostMemory.Event.THP_SPLIT_PAGE),
                    h.mem.events(HostMemory.Event.THP_SPLIT_PAGE_FAILED));
        }

        @Override
        public List<MeminfoField> meminfo() {
            // native workloads' page tables are the host's own (PageTables) but take no frame
            // of their own: they are added here rather than kept in the host's counter
            long nativePages = e.nativeTablePages(h);
            List<MeminfoField> out = new ArrayList<>();
            for (MeminfoField f : h.mem.meminfo()) {
                out.add(f.name().equals("PageTables") && nativePages != 0
                        ? new MeminfoField(f.name(), f.value() + nativePages * 4, f.unit()) : f);
            }
            return out;
        }

        @Override
        public List<CoreState> cpus() {
            List<CoreState> out = new ArrayList<>();
            for (int i = 0; i < h.cores.count(); i++) {
                Cpu c = h.cores.get(i);
                out.add(new CoreState(i, c.ran(), c.current() == null ? null : c.current().label(), c.vcpuSwitches(),
                        c.vmSwitches(), c.flushesReceived(), c.ipisReceived(), c.busyNs));
            }
            return out;
        }

        @Override
        public long cpuCountersNs() {
            return e.now() - h.cpuCountersSince;
        }

        @Override
        public long baseSliceNs() {
            return h.sched.baseSliceNs();
        }

        @Override
        public PoolState pool(long pageSize) {
            Hstate p = h.pools.pool(pageSize);
            return new PoolState(pageSize, p.nrHugepages(), p.free(), p.reserved(), p.surplus(), p.nrOvercommitHugepages());
        }
    }

    private final class Vm_ implements VmView {
        private final VmState v;

        Vm_(VmState v) {
            this.v = v;
        }

        @Override
        public Vm decl() {
            return v.decl;
        }

        @Override
        public VmRunState state() {
            return v.state;
        }

        @Override
        public long rssBytes() {
            return v.rssBytes();
        }

        @Override
        public long anonHugePagesKb() {
            return v.anon == null ? 0 : v.anon.hugeRegions() * 2048;
        }

        @Override
        public long presentPages() {
            return v.memory == null ? 0 : v.memory.presentPages();
        }

        @Override
        public KsmSlotState ksm() {
            if (v.ksmSlot < 0) return null;
            long[] s = e.hosts.get(v.decl.host()).ksmd.slotStat(v.ksmSlot);
            return new KsmSlotState(s[0], s[1], s[2]);
        }

        @Override
        public MmuCounters mmu() {
            return v.mmu == null ? null : v.mmu.counters();
        }

        @Override
        public List<VcpuView> vcpus() {
            if (v.mmu == null) return List.of();
            List<VcpuView> out = new ArrayList<>();
            for (int i = 0; i < v.mmu.vcpuCount(); i++) out.add(new VcpuView(v.mmu.counters(i), v.mmu.vcpuStats(i)));
            return out;
        }

        @Override
        public List<String> addressSpaces() {
            if (v.mmu == null) return List.of();
            List<String> names = new ArrayList<>();
            for (int sp = 0; sp < v.mmu.addressSpaces(); sp++) names.add(GuestKernel.spaceName(v, sp));
            return names;
        }

        @Override
        public int pagetableSpace(String pagetable) {
            VmState.PtSpace pt = v.pagetables.get(pagetable);
            return pt == null ? -1 : pt.space();
        }

        @Override
        public List<TableStats> guestTables(int space) {
            return v.mmu.guestTableStats(space);
        }

        @Override
        public List<TableStats> nestedTables() {
            return v.mmu.nestedTableStats();
        }

        @Override
        public List<TableStats> shadowTables() {
            return v.mmu.shadowTableStats();
        }
    }
}
