package org.kvmsim.sim.mmu;

/**
 * One vCPU of a VM: what KVM and the hardware keep per vCPU. Its VPID (the tag of its linear
 * and combined TLB entries, above the guest's PCID; KVM allocates one per vCPU), the core it runs
 * on, its current address space (each vCPU has its own CR3), the guest kernel's ASID slots and
 * KVM's cached shadow roots ({@link Mmu#loadCr3}), the private caches its native price is
 * simulated on once it shares a core ({@link Mmu}), and its counters. While the vCPU is its {@link Mmu}'s active one,
 * the Mmu holds the hot fields in registers of its own and this object is stale until
 * {@link Mmu#select} saves them.
 *
 * <p>Scheduling state the engine sets: {@link #busy} (a workload thread has work on it, so it is
 * in guest mode whenever its core runs it) and {@link #pvFlushPending} (a flush asked of it while
 * it was preempted, under paravirtual TLB flush, or idle in lazy TLB mode: done at its next entry).
 */
public final class Vcpu {
    final Mmu mmu;
    final int index;
    final int tag;
    Cpu core;
    final Tlbs nat;
    boolean mirror;
    Mmu.Space cur;
    /** Event counters, as {@link Mmu}'s registers (see Mmu.load/save). */
    final long[] c = new long[Mmu.COUNTERS];
    /** Whether a workload thread has work on this vCPU (set by the engine's scheduler). */
    public boolean busy;
    boolean pvFlushPending;
    /** A remote flush request (KVM_REQ_TLB_FLUSH) it has not served yet: it was not in guest mode. */
    boolean flushRequest;
    long migrations;
    long remoteFlushes;
    long flushIpis;
    /** Shootdowns this vCPU sent, and received from the VM's other vCPUs. */
    long shootdowns;
    long shootdownsReceived;
    long shootdownIpis;
    long shootdownWaitCycles;

    // ---- the guest kernel's PCIDs on this vCPU (arch/x86/mm/tlb.c cpu_tlbstate) -----------------

    /** The address space in each dynamic ASID slot (ctxs[].ctx_id), or null. */
    final Mmu.Space[] asidSpace = new Mmu.Space[Mmu.ASIDS];
    /** The space's tlb_gen that slot's entries are up to date with (ctxs[].tlb_gen). */
    final long[] asidGen = new long[Mmu.ASIDS];
    /** The slot loaded now (loaded_mm_asid): the PCID of its linear entries' tags. */
    int asid;
    /** The slot a space without one takes next (next_asid; the boot mm holds slot 0). */
    int nextAsid = 1;
    /**
     * KVM's shadow-paging roots of this vCPU, most recent first: the current root and
     * KVM_MMU_NUM_PREV_ROOTS previous ones (mmu->root, mmu->prev_roots), each as
     * {@code space << PCID_BITS | pcid} (KVM keys a root by the whole CR3, PCID included); -1 free.
     */
    final int[] roots = {-1, -1, -1, -1};

    Vcpu(Mmu mmu, int index, int tag, Tlbs nat, boolean mirror) {
        this.mmu = mmu;
        this.index = index;
        this.tag = tag;
        this.nat = nat;
        this.mirror = mirror;
    }

    public int index() {
        return index;
    }

    /** The core it runs on (its last one), or null before it first runs. */
    public Cpu core() {
        return core;
    }

    public Mmu mmu() {
        return mmu;
    }

    /** "VM/N", as `show cpus` names it. */
    public String label() {
        return mmu.name() + "/" + index;
    }
}
