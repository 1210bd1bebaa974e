package org.kvmsim.query;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Vm;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.KsmCounters;
import org.kvmsim.sim.view.KsmSlotState;
import tech.tablesaw.api.Table;

/** `show ksm by vm [on HOST]`: what KSM merged of each VM, and its share of the host's saving. */
final class KsmByVmQuery implements Query<KsmByVmQuery.Args> {

    /** {@code host}: the one of `on HOST`, or null for the VMs of every host. */
    record Args(String host) implements ShowArgs {}

    private static final KsmSlotState NOT_MERGEABLE = new KsmSlotState(0, 0, 0);

    @Override
    public List<String> words() {
        return List.of("ksm", "by", "vm");
    }

    @Override
    public Doc doc() {
        return new Doc("show ksm by vm [on HOST]",
                "per VM, its pages merged, rmap_items and profit (/proc/PID/ksm_*), and its share of the saving.",
                "ksm_by_vm", "vm, host, present_pages, pages_merged (as /proc/PID/ksm_merging_pages, plus zero pages),"
                        + " ksm_zero_pages, ksm_rmap_items, ksm_process_profit (Linux's formula: (merging + zero pages) x"
                        + " 4096 - rmap_items x 64), saved_bytes (the host's saved_bytes shared out in proportion to each"
                        + " VM's merged pages, so the rows add up to `show ksm`'s), anon_huge_pages_kb (AnonHugePages of"
                        + " its QEMU process's guest RAM in /proc/PID/smaps, kB: 2048 per THP; ksmd splits a THP to merge"
                        + " a page of it)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        return c.noMore(args, "ksm by vm") ? new Args(c.host()) : null;
    }

    @Override
    public Table answer(Args a, Source in) {
        // per host: its saved bytes and the merged pages of all its VMs, whichever are shown
        Map<String, long[]> hostTotals = new HashMap<>();
        for (Vm vm : in.declared().vms.values()) {
            long[] tot = hostTotals.computeIfAbsent(vm.host(), h -> {
                KsmCounters c = in.view().host(h).ksmCounters();
                return new long[] {c.savedBytes(), 0};
            });
            KsmSlotState slot = in.view().vm(vm.name()).ksm();
            if (slot != null) tot[1] += slot.merged();
        }
        Tables.KsmByVm t = new Tables.KsmByVm();
        for (Vm vm : in.declared().vms.values()) {
            if (a.host() != null && !vm.host().equals(a.host())) continue;
            var v = in.view().vm(vm.name());
            KsmSlotState slot = v.ksm() == null ? NOT_MERGEABLE : v.ksm();
            long[] tot = hostTotals.get(vm.host());
            t.add(vm.name(), vm.host(), v.presentPages(), slot.merged(), slot.zeroMapped(), slot.rmapItems(), tot[0], tot[1],
                    v.anonHugePagesKb());
        }
        return t.table();
    }
}
