package org.kvmsim.sim.view;

import java.util.List;
import org.kvmsim.model.Vm;

/** One VM, read-only: its declaration as it runs, its state, memory, KSM and MMU figures. */
public interface VmView {

    /** The declaration the VM runs with (a running VM keeps the one it started with). */
    Vm decl();

    VmRunState state();

    /** Resident set of its QEMU process's guest RAM (pages mapping the zero page excluded). */
    long rssBytes();

    /**
     * AnonHugePages of its QEMU process's guest RAM, in kB, as /proc/PID/smaps shows it: 2048 per
     * PMD-mapped THP (0 unless backing = thp or anonymous under thp = always).
     */
    long anonHugePagesKb();

    /** Guest pages that hold content (touched, laid out or faulted in). */
    long presentPages();

    /** What ksmd holds of its RAM, or null when its RAM is not mergeable. */
    KsmSlotState ksm();

    /** Its translation counters, or null when it has no MMU (never ran, or stopped). */
    MmuCounters mmu();

    /** Per vCPU: its translation counters and what it did beyond them; empty without an MMU. */
    List<VcpuView> vcpus();

    /** Its guest address spaces by index: "default" or the pagetable's name. Empty without an MMU. */
    List<String> addressSpaces();

    /** The index of a `pagetable` block's address space, or -1 when it has none (yet). */
    int pagetableSpace(String pagetable);

    /** Guest page-table pages of one address space, level by level. */
    List<TableStats> guestTables(int space);

    /** EPT/NPT table pages, level by level (empty unless nested paging). */
    List<TableStats> nestedTables();

    /** Shadow table pages, level by level (empty unless shadow paging). */
    List<TableStats> shadowTables();
}
