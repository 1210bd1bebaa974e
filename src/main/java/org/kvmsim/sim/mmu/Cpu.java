package org.kvmsim.sim.mmu;

import org.kvmsim.model.CpuModel;

/**
 * One physical CPU's translation hardware, shared by the VMs that run on it. Each {@link Mmu}
 * runs on a Cpu; when a different VM's vCPU runs, the Cpu switches: with VPID (Intel) / ASID
 * (AMD) tagging the TLBs keep every VM's entries apart and nothing is flushed; without it, every
 * VM entry and exit flushes the linear and combined mappings (TLBs and guest walk caches) of
 * VPID 0000H, so a switch empties them and so does each exit of one VM (see {@link Mmu}); the
 * nested TLB and nested walk caches are tagged by EPTP and survive both (SDM vol. 3C 28.3.3.1).
 *
 * <p>Differences from hardware: one Cpu models one logical CPU; the engine decides which VM runs
 * when (an access by a VM that is not current is a switch).
 */
public final class Cpu {

    private final CpuModel model;
    final Tlbs tlbs;
    Mmu current;
    private int nextVpid = 1;
    private int nextEptp = 1;
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

    /** A tag for a VM's guest-physical (EPTP-tagged) cache entries: unique, VPID or not. */
    int allocateEptp() {
        int e = nextEptp++;
        if (e >= (1 << Tlbs.TAG_BITS)) {
            throw new IllegalStateException("out of EPTP tags");
        }
        return e;
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
                // the exit and entry around the switch flush every VPID-0000H linear and
                // combined mapping; guest-physical ones are EPTP-tagged and stay
                tlbs.flushLinear(0);
                mmu.countSwitchFlush();
            }
        }
        current = mmu;
    }
}
