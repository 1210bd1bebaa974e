package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Workload;
import org.kvmsim.report.Tables;
import tech.tablesaw.api.Table;

/**
 * `show workloads [VM...]`: each workload on each of its targets, what it made so far; for a
 * trace, the instruction fetches it passed over, which are counted apart and not simulated.
 */
final class WorkloadsQuery implements Query<WorkloadsQuery.Args> {

    /** {@code vms}: the VMs named, or empty for every VM. */
    record Args(List<String> vms) implements ShowArgs {
        Args {
            vms = List.copyOf(vms);
        }
    }

    @Override
    public List<String> words() {
        return List.of("workloads");
    }

    @Override
    public Doc doc() {
        return new Doc("show workloads [VM...]",
                "one row per workload and target: its accesses so far and, for a recorded trace, the instruction fetches among them.",
                "workloads", "workload, vm (the target: VM or VM.PAGETABLE), source (the pattern, or the trace files as"
                        + " written), accesses (made so far, over every run), instruction_fetches (a trace's lackey I"
                        + " lines or ChampSim records up to the last access replayed, a whole pass's once a pass of the"
                        + " whole file is done: counted, not simulated, as there is no instruction TLB; 0 for a pattern),"
                        + " accesses_left (a trace: what is left of its limit x repeat; a pattern: what is left of its"
                        + " run); a workload not yet run on a target shows 0 accesses and its declared accesses left"
                        + " (a trace: empty until its first run counts it)");
    }

    @Override
    public boolean takesArguments() {
        return true;
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        List<String> vms = MmuQuery.vmNames(args, c, "show workloads");
        return vms == null ? null : new Args(vms);
    }

    @Override
    public Table answer(Args a, Source in) {
        Tables.WorkloadsTable t = new Tables.WorkloadsTable();
        for (Workload w : in.declared().workloads.values()) {
            String source = w.traces().isEmpty() ? w.pattern().toString()
                    : String.join(", ", w.traces().stream().map(Workload.Trace::written).toList());
            for (Workload.Target target : w.targets()) {
                if (!a.vms().isEmpty() && !a.vms().contains(target.vm())) continue;
                var s = in.view().workload(w, target);
                if (s != null) {
                    t.add(w.name(), target.toString(), source, s.accesses(), s.instructionFetches(), s.left());
                } else {
                    t.add(w.name(), target.toString(), source, 0, 0, w.traces().isEmpty() ? (Long) w.accesses() : null);
                }
            }
        }
        return t.table();
    }

    @Override
    public List<String> complete(int position, Declarations declared) {
        return List.copyOf(declared.vms.keySet());
    }
}
