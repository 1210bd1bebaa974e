package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
import org.kvmsim.model.KsmPolicy;
import org.kvmsim.sim.hugetlb.Hstate;
import org.kvmsim.sim.hugetlb.HugetlbPools;
import org.kvmsim.sim.hugetlb.Khugepaged;
import org.kvmsim.sim.hugetlb.ThpSettings;
import org.kvmsim.sim.ksm.Ksmd;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mmu.Cores;

/**
 * One host's simulated state: its memory (buddy allocators per node), hugetlb pools, THP settings
 * and khugepaged, its CPUs and their scheduler, ksmd, and the frames of KSM pages ({@link KsmFrames}).
 */
final class HostState {
    final Host decl;
    final HostMemory mem;
    final HugetlbPools pools;
    final ThpSettings thp = new ThpSettings();
    final Khugepaged khugepaged;
    /** The host's logical CPUs, each with its own TLBs and walk caches, and where vCPUs run on them. */
    final Cores cores;
    final CpuScheduler sched;
    /** When the CPUs' counters started: the host's creation or the last `reset mmu`. */
    long cpuCountersSince;
    /** ksmd, or null when the host has no KSM policy (run = 0, nothing mergeable is scanned). */
    final Ksmd ksmd;
    /** ksmd's listener: host frames following its merges (null without ksmd). */
    KsmFrames ksmFrames;
    /** The VM of each of ksmd's mm_slots, by slot id. */
    final List<VmState> ksmVms = new ArrayList<>();
    /**
     * The frame of the kernel's zero page (empty_zero_page, in the kernel image: reserved at
     * boot, so outside MemTotal and the buddy allocators): the frame just past the host's RAM.
     */
    final int zeroFrame;
    /**
     * The first frame of the huge zero page (mm_get_huge_zero_folio(): an order-9 folio the
     * kernel allocates at its first use and keeps while mapped). Here a reserved 2 MiB-aligned
     * block past the host's RAM and {@link #zeroFrame}, outside MemTotal and the buddy
     * allocators: its 2 MiB is never counted (Linux's is a real allocation of 2 MiB, counted
     * nowhere that kvmsim shows).
     */
    final int hugeZeroFrame;
    /** Frame + 1 of each KSM page, by stable node id (0: none, or not placed yet). */
    int[] kpageFrame = new int[64];

    HostState(Host decl) {
        this.decl = decl;
        this.mem = HostMemory.split(decl.memory(), decl.numaNodes());
        this.pools = new HugetlbPools(mem);
        thp.mode = decl.thp();
        this.khugepaged = new Khugepaged(thp);
        this.cores = new Cores(CpuModel.preset(decl.cpu()).with(decl.cpuOverrides()), decl.cpus());
        this.sched = new CpuScheduler(cores, decl.cpus());
        this.zeroFrame = (int) mem.totalPages();
        this.hugeZeroFrame = (zeroFrame + 1 + 511) & -512;
        if (decl.ksm() != null) {
            ksmd = new Ksmd();
            for (KsmPolicy.KnobWrite w : decl.ksm().writes()) ksmd.set(w.knob(), w.value());
        } else {
            ksmd = null;
        }
        for (HugePagePool p : decl.pools()) {
            Hstate pool = pools.pool(p.pageSize());
            pool.setNrOvercommitHugepages(pool.nrOvercommitHugepages() + p.overcommit());
            pool.setNrHugepages(pool.nrHugepages() + p.count(), p.node());
        }
    }

    /** Room for KSM page {@code kpage}'s frame. */
    void growKpages(int kpage) {
        if (kpage >= kpageFrame.length) kpageFrame = Arrays.copyOf(kpageFrame, Math.max(kpage + 1, kpageFrame.length * 2));
    }
}
