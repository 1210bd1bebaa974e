package org.kvmsim.sim.mmu;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.kvmsim.model.CpuModel;

/**
 * One logical CPU (a core) of a host: its translation hardware (L1 DTLB, STLB, paging-structure
 * caches, nested TLB and walk caches; {@link Tlbs}), which the vCPUs that run on it share. When a
 * different vCPU runs, the core switches: with VPID (Intel) / ASID (AMD) tagging every vCPU's
 * linear entries are kept apart and nothing is flushed, but they share the capacity; without it,
 * every VM entry and exit flushes the linear and combined mappings of VPID 0000H, so a switch
 * empties them, and so does each exit (see {@link Mmu}). Guest-physical entries are tagged by the
 * VM's EPTP and survive both (SDM vol. 3C 28.3.3.1).
 *
 * <p>What it counts, for `show cpus`: switches between vCPUs and between VMs, the remote flush
 * requests its vCPUs handled here and the IPIs that kicked them out of the guest to do so, the
 * vCPUs that ran on it, and (set by the engine) the simulated time it was busy.
 */
public final class Cpu {

    private final Cores cores;
    private final int index;
    final Tlbs tlbs;
    Vcpu current;
    private long vcpuSwitches;
    private long vmSwitches;
    long flushesReceived;
    long ipisReceived;
    /** Simulated nanoseconds during which a vCPU had work on this core (kept by the engine). */
    public long busyNs;
    private final Set<String> ran = new LinkedHashSet<>();

    /** A core of its own: a host with one CPU (for tests and benchmarks). */
    public Cpu(CpuModel model) {
        this.cores = null;
        this.index = 0;
        this.tlbs = new Tlbs(model);
        this.standalone = new Cores(model, 0);
    }

    Cpu(Cores cores, int index) {
        this.cores = cores;
        this.index = index;
        this.tlbs = new Tlbs(cores.model());
        this.standalone = null;
    }

    /** The allocator of a core made on its own (no {@link Cores}). */
    private final Cores standalone;

    Cores cores() {
        return cores != null ? cores : standalone;
    }

    public int index() {
        return index;
    }

    public CpuModel model() {
        return tlbs.model;
    }

    /** Number of switches between different VMs so far. */
    public long vmSwitches() {
        return vmSwitches;
    }

    /** Number of switches between different vCPUs (of any VMs) so far. */
    public long vcpuSwitches() {
        return vcpuSwitches;
    }

    /** Remote TLB flush requests (kvm_flush_remote_tlbs(), guest shootdowns) handled on this core. */
    public long flushesReceived() {
        return flushesReceived;
    }

    /** IPIs this core received to make a running vCPU flush (each a VM exit). */
    public long ipisReceived() {
        return ipisReceived;
    }

    /** The vCPUs that ran here, in the order they first did, as "VM/N". */
    public List<String> ran() {
        return Collections.unmodifiableList(new ArrayList<>(ran));
    }

    /** The vCPU on this core now, or null. */
    public Vcpu current() {
        return current;
    }

    /** Forgets what was counted (`reset`); the caches keep their entries. */
    public void resetCounters() {
        vcpuSwitches = vmSwitches = flushesReceived = ipisReceived = busyNs = 0;
        ran.clear();
        if (current != null) {
            ran.add(current.label());
        }
    }

    /**
     * {@code mmu}'s VM is gone: if one of its vCPUs is the one on this core, the core is idle
     * now. Without VPID the exit that ended it flushed the untagged linear entries; tagged ones
     * of a VPID never handed out again just take capacity until evicted.
     */
    public void vacate(Mmu mmu) {
        if (current != null && current.mmu == mmu) {
            current = null;
            if (!tlbs.model.vpid()) {
                tlbs.flushLinear(0);
            }
        }
    }

    /** Runs {@code vcpu} on this core next (a VM entry of a different vCPU). */
    void switchTo(Vcpu vcpu) {
        if (current == vcpu) {
            return;
        }
        Vcpu out = current;
        current = vcpu;
        ran.add(vcpu.label());
        if (out != null) {
            vcpuSwitches++;
            if (out.mmu != vcpu.mmu) {
                vmSwitches++;
            }
            // both now share the TLBs with another: their native prices need their own models
            out.mmu.unmirror(out);
            // The incoming vCPU, if it still mirrors, has never shared a core: its native model
            // starts empty. (Copying from the shared TLBs would take another vCPU's entries when
            // VPID is off and every tag is 0.)
            vcpu.mmu.unmirrorEmpty(vcpu);
            if (!tlbs.model.vpid()) {
                // the exit and entry around the switch flush every VPID-0000H linear and
                // combined mapping; guest-physical ones are EPTP-tagged and stay
                tlbs.flushLinear(0);
                vcpu.mmu.countSwitchFlush(vcpu);
            }
        }
    }
}
