package org.kvmsim.query;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.Probe;
import org.kvmsim.sim.view.Translation;
import tech.tablesaw.api.Table;

/**
 * `show translate VM[.PAGETABLE] GVA`: the four names of one address. Looking it up fills in
 * what the first access would (nested or shadow entries, the host page), so it changes state.
 */
final class TranslateQuery extends VmQuery<TranslateQuery.Args> {

    /** {@code pagetable} is null for the VM's default address space. */
    record Args(String vm, String pagetable, long address) implements VmArgs {}

    @Override
    public List<String> words() {
        return List.of("translate");
    }

    @Override
    public Doc doc() {
        return new Doc("show translate VM[.PAGETABLE] GVA",
                "the guest-virtual, guest-physical, host-virtual and host-physical address of one access,"
                        + " the page size on each side, and the KVM memslot QEMU registered for the gpa.",
                "translate", "vm, gva, gpa, hva, hpa, guest_page_size, host_page_size, memslot (its number, as QEMU"
                        + " registers them: 0 is RAM below 0xa0000, 1 from 1 MiB to the PCI hole, 2 above 4 GiB),"
                        + " memslot_gpa (its guest-physical range)");
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        VmAddress va = VmAddress.check("translate", args, c);
        return va == null ? null : new Args(va.subject().vm(), va.subject().pagetable(), va.address());
    }

    @Override
    public Table answer(Args a, Source in) {
        int space = space(a, in);
        Optional<Translation> tr;
        try {
            tr = in.probe().translate(a.vm(), space, a.address());
        } catch (Probe.VmKilled killed) {
            throw RunningVm.killed(a.vm());
        }
        String subject = new ShowContext.Subject(a.vm(), a.pagetable()).text();
        if (tr.isEmpty()) {
            throw new QueryError(String.format(Locale.ROOT, "0x%x is not mapped in %s's address space", a.address(), subject),
                    "a workload maps its pages as it touches them; run it first, or show walk to see where the walk stops");
        }
        return Tables.translate(subject, tr.get());
    }

    @Override
    public boolean changesState() {
        return true;
    }
}
