package org.kvmsim.sim.mmu;

/**
 * One physical CPU's translation hardware, shared by the VMs that run on it. Each {@link Mmu}
 * runs on a Cpu; when a different VM's vCPU runs, the Cpu switches: with VPID (Intel) / ASID
 * (AMD) tagging the TLBs keep every VM's entries apart and nothing is flushed; without it, the
 * whole TLB and walk caches are flushed on every switch (KVM without VPID flushes on VM entry of
 * a different vCPU).
 *
 * <p>Differences from hardware: one Cpu models one logical CPU; the engine decides which VM runs
 * when (an access by a VM that is not current is a switch).
 */
public final class Cpu {

    private final CpuModel model;
    final Tlbs tlbs;
    Mmu current;
    private int nextVpid = 1;
    private long vmSwitches;

    public Cpu(CpuModel model) {
        this.model = model;
        this.tlbs = new Tlbs(model);
    }

    public CpuModel model() {
        return model;
    }

    /** Number of switches between different VMs so far. */
    public long vmSwitches() {
        return vmSwitches;
    }

    int allocateVpid() {
        if (!model.vpid()) {
            return 0;
        }
        int v = nextVpid++;
        if (v >= (1 << Tlbs.TAG_BITS)) {
            throw new IllegalStateException("out of VPIDs");
        }
        return v;
    }

    /** Runs {@code mmu}'s VM on this CPU next (a VM entry of a different VM). */
    public void switchTo(Mmu mmu) {
        if (current == mmu) {
            return;
        }
        if (current != null) {
            vmSwitches++;
            // both VMs now share the TLBs with another: their native prices need their own models
            current.unmirror();
            // The incoming VM, if it still mirrors, has never run on this CPU: its native model
            // starts empty. (Copying from the shared TLBs would take the other VM's entries when
            // VPID is off and every tag is 0.)
            mmu.unmirrorEmpty();
            if (!model.vpid()) {
                tlbs.flushAll();
                mmu.countSwitchFlush();
            }
        }
        current = mmu;
    }
}
