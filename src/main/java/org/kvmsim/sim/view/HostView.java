package org.kvmsim.sim.view;

import java.util.List;
import org.kvmsim.model.Host;

/** One host, read-only: its declaration as it runs, ksmd, /proc/meminfo and hugetlb pools. */
public interface HostView {

    /** The declaration the host runs with. */
    Host decl();

    /** Whether the host runs ksmd (it has a ksm policy); without one every KSM counter is 0. */
    boolean hasKsm();

    /** /sys/kernel/mm/ksm's writable files now (Linux's defaults when the host runs no ksmd). */
    KsmKnobs ksmKnobs();

    /** /sys/kernel/mm/ksm's counters now (all 0 when the host runs no ksmd). */
    KsmCounters ksmCounters();

    /** The counters at the end of every full scan so far. */
    List<KsmCounters> ksmHistory();

    /** THP enabled, khugepaged's knobs and its counters now. */
    KhugepagedState khugepaged();

    /** /proc/meminfo, field by field, as fs/proc/meminfo.c prints it. */
    List<MeminfoField> meminfo();

    /** The hugetlb pool of one page size (2 MiB or 1 GiB). */
    PoolState pool(long pageSize);

    /** Its CPUs, by number, and since when their counters run (the host's start or the last `reset mmu`). */
    List<CoreState> cpus();

    /** Simulated time since the CPU counters started (for busy shares). */
    long cpuCountersNs();

    /** The scheduler's base slice on this host (EEVDF's, scaled by its CPU count), in ns. */
    long baseSliceNs();
}
