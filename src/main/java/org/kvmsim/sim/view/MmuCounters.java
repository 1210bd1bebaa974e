package org.kvmsim.sim.view;

/**
 * A snapshot of one VM's translation counters (`show mmu`). cycles prices the VM's accesses under
 * its paging mode; nativeCycles prices the same accesses as if run natively (same guest mappings,
 * identity host, a private set of TLBs and caches), so overhead is measured on the same stream.
 * The shadow-paging counters break vmExits down; they stay 0 under EPT/NPT and native.
 * hostFaults counts the EPT violations and shadow faults that had to fault the host page in
 * (allocate and zero it); hostFaultCycles is their price, in cycles but not in nativeCycles.
 */
public record MmuCounters(
        String paging,
        long accesses, long l1DtlbMisses, long stlbMisses, long walks, long walkRefs,
        long guestFaults, long eptViolations, long vmExits, long exitCycles, long faultCycles, long cycles,
        long nativeCycles, long nativeWalkRefs,
        long shadowFaults, long ptWriteExits, long ptWriteEmulations, long cr3Exits, long invlpgExits,
        long unsyncs, long resyncedPages, long shadowZaps, long vmSwitchFlushes,
        long hostFaults, long hostFaultCycles) {

    /** The TLB and page-walk part of {@link #cycles}: what is left without exits, guest and host faults. */
    public long translationCycles() {
        return cycles - exitCycles - faultCycles - hostFaultCycles;
    }

    public double refsPerWalk() {
        return walks == 0 ? 0 : (double) walkRefs / walks;
    }

    public double cyclesPerAccess() {
        return accesses == 0 ? 0 : (double) cycles / accesses;
    }

    public double nativeCyclesPerAccess() {
        return accesses == 0 ? 0 : (double) nativeCycles / accesses;
    }

    /** (cycles / native_cycles - 1) * 100. */
    public double overheadPct() {
        return nativeCycles == 0 ? 0 : ((double) cycles / nativeCycles - 1) * 100;
    }
}
