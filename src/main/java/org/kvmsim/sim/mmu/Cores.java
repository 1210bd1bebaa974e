package org.kvmsim.sim.mmu;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.model.CpuModel;

/**
 * A host's logical CPUs ({@link Cpu}, each with TLBs and walk caches of its own) and the tags
 * their translation caches share: VPIDs are allocated per vCPU from one host-wide pool, as KVM's
 * vmx_vpid_bitmap does (arch/x86/kvm/vmx/vmx.c allocate_vpid()), and every VM gets an EPTP tag
 * for its guest-physical entries. The set grows when the host's core count was not given
 * (one core per vCPU); see the engine's scheduler.
 */
public final class Cores {

    private final CpuModel model;
    private final List<Cpu> cpus = new ArrayList<>();
    /**
     * How long a guest TLB shootdown waits for a preempted vCPU to run and acknowledge it, in ns:
     * set by the engine's scheduler to half its base slice (the expected rest of the running
     * vCPU's slice); 0 until then.
     */
    public long preemptedWaitNs;
    private int nextVpid = 1;
    private int nextEptp = 1;

    public Cores(CpuModel model, int count) {
        this.model = model;
        grow(count);
    }

    public CpuModel model() {
        return model;
    }

    public int count() {
        return cpus.size();
    }

    public Cpu get(int index) {
        return cpus.get(index);
    }

    /** Adds cores until there are {@code count}. */
    public void grow(int count) {
        while (cpus.size() < count) {
            cpus.add(new Cpu(this, cpus.size()));
        }
    }

    /**
     * The linear tag of one vCPU: its VPID above the guest's PCID bits ({@link Tlbs#PCID_BITS}),
     * 0 when the CPU has no VPID/ASID (every entry is then untagged but for its PCID).
     */
    int allocateVpid() {
        if (!model.vpid()) {
            return 0;
        }
        int v = nextVpid++;
        if (v >= (1 << (Tlbs.TAG_BITS - Tlbs.PCID_BITS))) {
            throw new IllegalStateException("out of VPIDs");
        }
        return v << Tlbs.PCID_BITS;
    }

    /** A tag for a VM's guest-physical (EPTP-tagged) cache entries: unique, VPID or not. */
    int allocateEptp() {
        int e = nextEptp++;
        if (e >= (1 << Tlbs.TAG_BITS)) {
            throw new IllegalStateException("out of EPTP tags");
        }
        return e;
    }
}
