package org.kvmsim.sim;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.kvmsim.model.Vm;
import org.kvmsim.sim.guest.GuestMemory;
import org.kvmsim.sim.hugetlb.HugetlbMapping;
import org.kvmsim.sim.hugetlb.ThpMapping;
import org.kvmsim.sim.mmu.Mmu;
import org.kvmsim.sim.view.VmRunState;

/**
 * One VM's simulated state: its QEMU process's guest RAM mapping in the host (anonymous/THP or
 * hugetlbfs), the guest's page contents and its own page allocator, its place in ksmd, and its
 * MMU. {@link Qemu} starts and ends it, {@link GuestKernel} runs the guest inside it.
 */
final class VmState {
    final Vm decl;
    VmRunState state = VmRunState.DECLARED;
    GuestMemory memory;
    /**
     * Pages of guest RAM (the VM's memory). {@link #memory} and {@link #anon} may map more: the
     * other RAM blocks of an image from a page file (BIOS, ROMs, video RAM), each from
     * {@link #blockBase}[b] on, after guest RAM, as QEMU maps each block on its own.
     */
    long ramPages;
    /** Where each block of the VM's page image starts in {@link #memory} (its RAM block at 0); null without one. */
    long[] blockBase;
    /** Where each block ends (exclusive) in {@link #memory}. */
    long[] blockEnd;

    /** Whether a page of {@link #memory} is guest RAM (else another RAM block, which the MMU does not map). */
    boolean isRam(long page) {
        return page < ramPages;
    }
    ThpMapping anon;
    HugetlbMapping huge;
    long nextFreeGuestPage;
    /** Guest page tables are allocated from the top of guest RAM down (data grows up). */
    long nextTablePage = -1;
    /** The VM's mm_slot in its host's ksmd, or -1 when its RAM is not mergeable. */
    int ksmSlot = -1;
    /** Pages mapping the zero page by KSM (use_zero_pages): not in the RSS (MM_ANONPAGES). */
    long ksmZeroMapped;
    /** Host frames holding this VM's EPT/NPT or shadow tables (a few per thousand guest pages). */
    final Set<Integer> tableFrames = new LinkedHashSet<>();
    /** QEMU's top-level page tables (PGD and PUD page) over guest RAM: frames, -1 when none. */
    final int[] processTables = {-1, -1};
    /** When its QEMU started, among all starts: the order for_each_process() visits it in. */
    long startSeq;
    /** Address translation of this VM (guest tables, EPT/NPT or shadow tables, TLB costs). */
    Mmu mmu;
    /** Where guest RAM sits in guest-physical memory and KVM's memslots over it (set at start). */
    Memslots slots;
    /** The host side of guest RAM as the MMU sees it (set with mmu). */
    GuestRamBacking ram;
    /** The guest's default address space (workloads on the VM), -1 until first used. */
    int defaultSpace = -1;
    /** Address spaces of `pagetable` blocks, by name. */
    final Map<String, PtSpace> pagetables = new LinkedHashMap<>();
    /** GVA where the next workload on the default address space starts. */
    long nextWorkloadGva = GuestKernel.WORKLOAD_GVA;
    /** Per vCPU: workload threads with accesses left on it. */
    int[] busyThreads;

    /** A workload thread on vCPU {@code vcpu} starts ({@code +1}) or ends ({@code -1}); the vCPU is busy while any has work. */
    void busy(int vcpu, int delta) {
        if (busyThreads == null || busyThreads.length != mmu.vcpuCount()) busyThreads = new int[mmu.vcpuCount()];
        busyThreads[vcpu] += delta;
        mmu.vcpu(vcpu).busy = busyThreads[vcpu] > 0;
    }

    /** The workload run whose accesses are being simulated (for the guest fault handler). */
    Workloads.Run current;

    /** A `pagetable` block's address space and where its mappings landed in guest-physical memory. */
    record PtSpace(int space, List<long[]> maps, long bytes) {}

    VmState(Vm decl) {
        this.decl = decl;
    }

    boolean running() {
        return state == VmRunState.RUNNING;
    }

    long rssBytes() {
        if (anon != null) return (anon.presentPages() - ksmZeroMapped) * 4096L;
        if (huge != null) return huge.faultedPages() * huge.pool().pageBytes();
        return 0;
    }
}
