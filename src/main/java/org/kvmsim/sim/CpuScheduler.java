package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.kvmsim.model.CpuSet;
import org.kvmsim.sim.mmu.Cores;
import org.kvmsim.sim.mmu.Cpu;
import org.kvmsim.sim.mmu.Mmu;
import org.kvmsim.sim.mmu.Vcpu;

/**
 * Where a host's vCPUs run: Linux's scheduler as far as translation sees it. Each vCPU is a
 * thread of its QEMU process; it runs on one core at a time.
 *
 * <p>Placement. A vCPU may run on the cores its vcpupin entry names, else the VM's cpuset, else
 * any (libvirt's vcpupin and &lt;vcpu cpuset&gt;, taskset). At VM start each vCPU gets a home core:
 * among those it may use, the one with the fewest vCPUs homed on it, the lowest number first.
 * When a slice of work begins, a vCPU whose core already has another vCPU with work and which
 * may use a core that has none moves there, as select_idle_sibling() finds an idle CPU for a
 * waking task (kernel/sched/fair.c): a migration, which starts the vCPU cold on the new core
 * ({@link Mmu#select}). Idle vCPUs (halted, no work) take no CPU time and are never counted.
 *
 * <p>Cores. A host declared with {@code cpus = N} has N; without, it has one per vCPU of the VMs
 * started on it (grown at each start, never shrunk), so no two vCPUs ever share a core, which is
 * what a user who did not say otherwise expects of a host with cores to spare.
 *
 * <p>Time slicing. vCPUs with work on one core take turns with EEVDF's base slice
 * (kernel/sched/fair.c, Linux 6.6+: sysctl_sched_base_slice = 0.75 ms, scaled by
 * 1 + ilog2(min(online CPUs, 8)) under the default SCHED_TUNABLESCALING_LOG, as
 * get_update_sysctl_factor() does: 3 ms on 8 or more CPUs). Equal-weight tasks that stay
 * runnable run in turn, each for one slice (their virtual deadlines advance by a slice each
 * time). Work is not stretched in simulated time: each vCPU makes the accesses of its slice
 * window as if it had the core, and the core switches as often as the shared work needs base
 * slices: a vCPU whose window's work ends before its slice goes on with its later windows'
 * accesses (it stays runnable), and the slice it has left carries over into the next window.
 */
final class CpuScheduler {
    /** EEVDF's unscaled base slice, normalized_sysctl_sched_base_slice (kernel/sched/fair.c). */
    static final long BASE_SLICE_NS = 750_000L;

    final Cores cores;
    private final boolean grows;
    /** vCPUs homed on each core. */
    private final List<List<Vcpu>> homed = new ArrayList<>();
    /** Per core: the vCPU the scheduler runs now, and what is left of its slice (ns). */
    private final List<Vcpu> running = new ArrayList<>();
    private long[] sliceLeft = new long[0];

    CpuScheduler(Cores cores, int declared) {
        this.cores = cores;
        this.grows = declared == 0;
        sync();
    }

    /** The base slice for this host's CPU count (get_update_sysctl_factor(), log scaling). */
    long baseSliceNs() {
        int n = Math.max(1, Math.min(cores.count(), 8));
        int factor = 1 + (31 - Integer.numberOfLeadingZeros(n));
        return BASE_SLICE_NS * factor;
    }

    private void sync() {
        while (homed.size() < cores.count()) {
            homed.add(new ArrayList<>());
            running.add(null);
        }
        if (sliceLeft.length < cores.count()) sliceLeft = Arrays.copyOf(sliceLeft, cores.count());
        cores.preemptedWaitNs = baseSliceNs() / 2;
    }

    /** The cores vCPU {@code i} of {@code v} may run on, or null for any. */
    static CpuSet allowed(VmState v, int i) {
        List<CpuSet> pin = v.decl.vcpupin();
        if (i < pin.size() && pin.get(i) != null) return pin.get(i);
        return v.decl.cpuset();
    }

    /** Gives every vCPU of a starting VM its home core (growing the host's cores if they grow). */
    void place(VmState v) {
        Mmu mmu = v.mmu;
        for (int i = 0; i < mmu.vcpuCount(); i++) {
            CpuSet allow = allowed(v, i);
            if (grows) {
                // one core per vCPU: a new one when none is free; a cpuset names cores that must exist
                int need = allow != null ? allow.max() + 1 : freeCore(null) < 0 ? cores.count() + 1 : 0;
                if (need > cores.count()) {
                    cores.grow(need);
                    sync();
                }
            }
            int best = -1;
            for (int c = 0; c < cores.count(); c++) {
                if (allow != null && !allow.contains(c)) continue;
                if (best < 0 || homed.get(c).size() < homed.get(best).size()) best = c;
            }
            if (best < 0) {
                throw new Engine.SimError("vm '" + v.decl.name() + "': vCPU " + i + " may run on CPUs " + allow
                        + ", but host '" + v.decl.host() + "' has " + cores.count() + " CPU" + (cores.count() == 1 ? "" : "s"));
            }
            homed.get(best).add(mmu.vcpu(i));
            mmu.select(i, cores.get(best));
        }
        mmu.select(0, mmu.vcpu(0).core());
    }

    /** The lowest core no vCPU is homed on that {@code allow} permits, or -1. */
    private int freeCore(CpuSet allow) {
        for (int c = 0; c < cores.count(); c++) {
            if ((allow == null || allow.contains(c)) && homed.get(c).isEmpty()) return c;
        }
        return -1;
    }

    /** A VM stopped: its vCPUs leave their cores. */
    void remove(VmState v) {
        for (int c = 0; c < cores.count(); c++) cores.get(c).vacate(v.mmu);
        for (int c = 0; c < homed.size(); c++) {
            final int core = c;
            homed.get(c).removeIf(x -> x.mmu() == v.mmu);
            if (running.get(core) != null && running.get(core).mmu() == v.mmu) running.set(core, null);
        }
    }

    /**
     * At the start of a slice window, with {@code busy} the vCPUs that have work in it (in order):
     * moves each that shares its core with an earlier busy one to a core with no busy vCPU it may
     * use, if there is one. Returns the core of each busy vCPU, in {@code busy}'s order.
     */
    int[] balance(List<Vcpu> busy, List<VmState> owners) {
        int[] coreOf = new int[busy.size()];
        boolean[] taken = new boolean[cores.count()];
        for (int k = 0; k < busy.size(); k++) {
            Vcpu x = busy.get(k);
            int c = x.core().index();
            if (taken[c]) {
                CpuSet allow = allowed(owners.get(k), x.index());
                for (int d = 0; d < cores.count(); d++) {
                    if (!taken[d] && (allow == null || allow.contains(d)) && !busyElsewhere(busy, d)) {
                        homed.get(c).remove(x);
                        homed.get(d).add(x);
                        c = d;
                        break;
                    }
                }
            }
            taken[c] = true;
            coreOf[k] = c;
        }
        return coreOf;
    }

    /** Whether a busy vCPU not yet balanced sits on core {@code d} (it will stay there). */
    private static boolean busyElsewhere(List<Vcpu> busy, int d) {
        for (Vcpu x : busy) if (x.core().index() == d) return true;
        return false;
    }

    /** The vCPU the scheduler last ran on {@code core} (it continues first in the next window). */
    Vcpu running(int core) {
        return running.get(core);
    }

    void setRunning(int core, Vcpu v) {
        running.set(core, v);
    }

    /** What is left of the running vCPU's slice on {@code core}, in ns. */
    long sliceLeft(int core) {
        return sliceLeft[core];
    }

    void setSliceLeft(int core, long ns) {
        sliceLeft[core] = ns;
    }
}
