package org.kvmsim.model;

import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The translation hardware of one CPU model: TLB geometry, paging-structure caches, the nested
 * TLB for two-dimensional walks, VPID/ASID tagging, PCIDs (process-context identifiers: a guest
 * kernel that uses them tags its address spaces' entries, so a context switch need not flush),
 * and the latencies the cost model charges.
 * Presets {@code skylake} and {@code zen2}; any knob can be overridden by its snake_case name
 * ({@link #with}), e.g. {@code stlb_entries = 2048}.
 *
 * <p>Entries of 0 disable a structure. Sets (entries / ways) must be a power of two.
 * Where a default comes from a document the field's comment in {@link #skylake()} / {@link #zen2()}
 * names it; where it is a modelling assumption it says so. Latencies are per event, in core cycles:
 * <ul>
 * <li>tlb_hit: charged on every access (the base cost of a translated load);</li>
 * <li>stlb_hit: extra when the L1 DTLB misses and the STLB hits;</li>
 * <li>walk_ref: each memory reference a page walk makes (no data-cache model: one average price);</li>
 * <li>vm_exit: one exit and re-entry round trip including minimal KVM dispatch;</li>
 * <li>ept_violation: KVM's extra work to install a nested entry (on top of vm_exit);</li>
 * <li>shadow_fault: KVM's extra work to walk guest tables and install shadow entries;</li>
 * <li>pte_write_emulation: KVM's extra work to emulate a guest write to a write-protected table;</li>
 * <li>sync_page: KVM's extra work to resync one unsync shadow page (512 entries);</li>
 * <li>guest_fault: the guest kernel's own page-fault handling, zeroing the new 4 KiB page included
 * (charged natively too);</li>
 * <li>clear_page: zeroing one 4 KiB page: what a fault that maps a 2 MiB guest page (guest THP)
 * adds for each of its other 511 pages (clear_huge_page()), and what a host fault taken in an
 * EPT violation or shadow fault adds for each 4 KiB it zeroes (1, 512 for a THP or 2 MiB
 * hugetlb page, 262144 for a 1 GiB one);</li>
 * <li>host_fault: the fixed part of a host fault that allocates the page behind a GPA
 * (__kvm_faultin_pfn() -> GUP -> do_anonymous_page(), do_huge_pmd_anonymous_page() or
 * hugetlb_no_page(): allocation, memcg charge, rmap, the host PTE), its zeroing excluded;
 * charged only when the host page was not present (not charged natively: a native process's
 * own faults are guest_fault);</li>
 * <li>ipi: delivering an inter-processor interrupt to a vCPU in guest mode and handling it, on
 * top of the VM exit it causes (a remote TLB flush's kick, a guest shootdown's interrupt).</li>
 * </ul>
 * {@code mhz} is the core clock, which turns the scheduler's time slices into cycles (a guest
 * shootdown waiting for a preempted vCPU).
 */
public record CpuModel(
        String name,
        int l1_4k_entries, int l1_4k_ways,
        int l1_2m_entries, int l1_2m_ways,
        int l1_1g_entries, int l1_1g_ways,
        boolean l1_unified,
        int stlb_entries, int stlb_ways, boolean stlb_holds_2m,
        int stlb_1g_entries, int stlb_1g_ways,
        int psc_pml5_entries, int psc_pml4_entries, int psc_pdpt_entries, int psc_pde_entries, int psc_ways,
        int ntlb_entries, int ntlb_ways,
        int npsc_pml5_entries, int npsc_pml4_entries, int npsc_pdpt_entries, int npsc_pde_entries,
        boolean vpid, boolean pcid,
        int tlb_hit_cycles, int stlb_hit_cycles, int walk_ref_cycles,
        int vm_exit_cycles, int ept_violation_cycles, int shadow_fault_cycles,
        int pte_write_emulation_cycles, int sync_page_cycles, int guest_fault_cycles, int clear_page_cycles,
        int host_fault_cycles, int ipi_cycles, int mhz, boolean flush_all_contexts) {

    /**
     * Intel Skylake (client and SP core).
     * Geometry: Intel 64 and IA-32 Architectures Optimization Reference Manual, Skylake
     * microarchitecture section, table "TLB Parameters": L1 DTLB 64 x 4K 4-way, 32 x 2M 4-way,
     * 4 x 1G; STLB 1536 entries 12-way shared by 4K and 2M, plus 16 x 1G 4-way.
     * Paging-structure caches: the Intel SDM vol. 3A §4.10.3 defines PML4E/PDPTE/PDE caches but
     * Intel does not publish their sizes; 2/4/32 entries follow the measurements reported in the
     * literature (e.g. Barr, Cox, Rixner, "Translation caching: skip, don't walk (the page table)",
     * ISCA 2010, for earlier Intel cores) and are a modelling assumption here.
     * Nested: with EPT, Intel keeps combined (guest-linear -> host-physical) paging-structure
     * entries and EPT paging-structure caches (SDM vol. 3C §28.3); their sizes are unpublished:
     * the 16-entry GPA->HPA nested TLB and 2/4/32 EPT PSC entries are modelling assumptions.
     * Latencies: stlb_hit 9 cycles (7-cpu.com, Skylake: "L1 DTLB miss, L2 TLB hit" penalty);
     * walk_ref 12 cycles = Skylake L2 hit latency (7-cpu.com), assuming paging entries mostly
     * hit the L2 (assumption); tlb_hit 1 (assumption: the L1 DTLB lookup overlaps the L1D
     * access, 1 cycle is charged so cycles_per_access has a base). vm_exit 1200 cycles:
     * assumption, the order of published VMCALL round trips on Skylake-era Xeons with KVM
     * (about 1000-1500). ept_violation 2000, shadow_fault 2500, pte_write_emulation 1500,
     * sync_page 4000, guest_fault 2000: assumptions (KVM fault paths are a few microseconds).
     * clear_page 1000: assumption, 4 KiB zeroed at about 12 GB/s on a 3 GHz core, the order of
     * the clearing rates reported for clear_huge_page() on server cores (a 2 MiB guest THP fault
     * then costs about 0.5 million cycles). Measured on this project's machine (itself a VM, so
     * only as a rate, src/test/resources/fixtures/thp): a THP first touch takes 175-185 us per
     * 2 MiB, 342-361 ns per 4 KiB, which is 1000 cycles at 3 GHz.
     * host_fault 3300: calibrated against the same recording. A 2 MiB range first touched as
     * 512 anonymous 4 KiB pages costs 4.21-4.35 times what one THP fault costs there; with
     * clear_page 1000 that ratio, 512 (host_fault + clear_page) / (host_fault + 512 clear_page),
     * is 4.27 at 3300 (4.21 at 3240, 4.35 at 3380). At 3 GHz it puts a 4 KiB host fault at
     * 1.43 us, near the 1.47-1.57 us recorded.
     * ipi 1500 cycles and mhz 3000: assumptions (an IPI round trip between cores is about
     * 0.5-1 us on Skylake-era servers in published measurements; a 3 GHz clock).
     * Also assumptions: 2-way PDE caches (psc_ways), a 4-way nested TLB (ntlb_ways), a 2-entry
     * PML5E cache and a 2-entry nested PML5E cache (psc_pml5_entries, npsc_pml5_entries; Skylake
     * has no 5-level paging, so they only matter for LA57 guests), VPID on (KVM enables it wherever the CPU has it, as every Skylake does).
     * flush_all_contexts on: KVM's TLB flush request (KVM_REQ_TLB_FLUSH, which remote flushes and
     * migrations make) ends in vmx_flush_tlb_all() (arch/x86/kvm/vmx/vmx.c): INVEPT all-context
     * with EPT ("INVEPT must be issued when EPT is enabled, irrespective of VPID"), INVVPID
     * all-context without, so it empties the core's TLBs and walk caches for every VM.
     * PCID on: Intel cores have had it since Westmere (2010; CPUID.01H:ECX.PCID[bit 17], SDM vol.
     * 3A §4.10.1), and KVM passes it to the guest (QEMU's -cpu host).
     */
    public static CpuModel skylake() {
        return new CpuModel("skylake",
                64, 4, 32, 4, 4, 4, false,
                1536, 12, true, 16, 4,
                2, 2, 4, 32, 2,
                16, 4,
                2, 2, 4, 32,
                true, true,
                1, 9, 12,
                1200, 2000, 2500, 1500, 4000, 2000, 1000,
                3300, 1500, 3000, true);
    }

    /**
     * AMD Zen 2 (Family 17h models 30h+).
     * Geometry: AMD Software Optimization Guide for AMD Family 17h Models 30h and Greater
     * (pub. 56305), "Translation-Lookaside Buffers": L1 DTLB 64 entries, fully associative, all
     * page sizes (modelled as one unified array: {@code l1_unified}); L2 DTLB 2048 entries for
     * 4K and 2M. The L2's associativity (16-way here) is an assumption. AMD keeps 1 GiB
     * translations in the L2 only as smashed 2 MiB pieces; this model keeps no 1 GiB L2 entries
     * (stlb_1g_entries 0), a simplification. AMD's page-walk cache (PDC) and nested TLB sizes are
     * not published: 2/2/4/32 PWC entries and a 32-entry nested TLB are modelling assumptions.
     * The walk caches are modelled like Intel's (keyed by address, caching the next table's host
     * address); AMD's page walk cache is tagged by physical address, so a hit there still needs
     * the nested lookup of the table's GPA: an approximation that lowers NPT walk references.
     * Nested PSC sizes (npsc_*: 2/2/4/32), the 4-way nested TLB (ntlb_ways), the PML5E cache and
     * tlb_hit 1 cycle are assumptions as for skylake. ASIDs tag translations (the VPID knob).
     * flush_all_contexts off: svm_flush_tlb_all() (arch/x86/kvm/svm/svm.c) flushes the vCPU's
     * own ASID only (TLB_CONTROL_FLUSH_ASID, or a new ASID), guest-physical entries included.
     * No PCID: AMD added it with Zen 3 (Family 19h; the AMD64 Architecture Programmer's Manual
     * first described CR4.PCIDE for AMD in its April 2020 revision, reported by Phoronix, "AMD
     * Programmer Manual Update Points To PCID Support", 2020-04-29), so a Zen 2 guest's every
     * CR3 load flushes its entries.
     * Latencies: stlb_hit 7 cycles (assumption close to the L2 DTLB figures on 7-cpu.com for
     * Zen), walk_ref 12 cycles (Zen 2 L2 hit latency is about
     * 12 cycles per 7-cpu.com; assumption as for skylake); exit, fault, clear_page and ipi costs
     * and the 3 GHz clock as for skylake, assumptions; host_fault and clear_page as for skylake
     * (the host kernel's fault path, calibrated on the same recording).
     */
    public static CpuModel zen2() {
        return new CpuModel("zen2",
                64, 64, 0, 1, 0, 1, true,
                2048, 16, true, 0, 1,
                2, 2, 4, 32, 2,
                32, 4,
                2, 2, 4, 32,
                true, false,
                1, 7, 12,
                1200, 2000, 2500, 1500, 4000, 2000, 1000,
                3300, 1500, 3000, false);
    }

    public static List<String> presets() {
        return List.of("skylake", "zen2");
    }

    /** A preset by name (case-insensitive); "zen" means zen2. */
    public static CpuModel preset(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "skylake": return skylake();
            case "zen": case "zen2": return zen2();
            default: throw new IllegalArgumentException("unknown cpu '" + name + "'; known: " + String.join(", ", presets()));
        }
    }

    /** Knob names that {@link #with} accepts (the record's components except name). */
    public static List<String> knobs() {
        List<String> out = new ArrayList<>();
        for (RecordComponent c : CpuModel.class.getRecordComponents()) {
            if (!c.getName().equals("name")) {
                out.add(c.getName());
            }
        }
        return out;
    }

    /** A copy with one knob changed; booleans take 0/1. */
    public CpuModel with(String knob, long value) {
        RecordComponent[] comps = CpuModel.class.getRecordComponents();
        Object[] args = new Object[comps.length];
        Class<?>[] types = new Class<?>[comps.length];
        boolean found = false;
        try {
            for (int i = 0; i < comps.length; i++) {
                types[i] = comps[i].getType();
                args[i] = comps[i].getAccessor().invoke(this);
                if (comps[i].getName().equals(knob) && !knob.equals("name")) {
                    found = true;
                    if (types[i] == boolean.class) {
                        args[i] = value != 0;
                    } else {
                        if (value < 0 || value > Integer.MAX_VALUE) {
                            throw new IllegalArgumentException("cpu knob '" + knob + "' out of range: " + value);
                        }
                        args[i] = (int) value;
                    }
                }
            }
            if (!found) {
                throw new IllegalArgumentException("unknown cpu knob '" + knob + "'; known: " + String.join(", ", knobs()));
            }
            Constructor<CpuModel> ctor = CpuModel.class.getDeclaredConstructor(types);
            return ctor.newInstance(args);
        } catch (ReflectiveOperationException e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            if (cause instanceof IllegalArgumentException) {
                throw (IllegalArgumentException) cause;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** A structure whose geometry cannot be built: its knobs (entries first) and why. */
    public record GeometryProblem(List<String> knobs, String message) {
    }

    /**
     * What is wrong with the TLB and walk-cache geometry, if anything: a structure with entries
     * needs ways, and entries / ways sets, a power of two (sets are indexed by address bits, as in
     * hardware). Fully associative walk caches (PML4E, PDPTE, PML5E and their nested twins) take
     * any number of entries. The messages name a valid choice near the one given.
     */
    public List<GeometryProblem> geometryProblems() {
        List<GeometryProblem> out = new ArrayList<>();
        check(out, "l1_4k_entries", l1_4k_entries, "l1_4k_ways", l1_4k_ways, l1_4k_ways);
        if (!l1_unified) {
            check(out, "l1_2m_entries", l1_2m_entries, "l1_2m_ways", l1_2m_ways, l1_2m_ways);
            check(out, "l1_1g_entries", l1_1g_entries, "l1_1g_ways", l1_1g_ways, l1_1g_ways);
        }
        check(out, "stlb_entries", stlb_entries, "stlb_ways", stlb_ways, stlb_ways);
        check(out, "stlb_1g_entries", stlb_1g_entries, "stlb_1g_ways", stlb_1g_ways, stlb_1g_ways);
        // the PDE caches use psc_ways, or fewer when they have fewer entries (see Tlbs)
        check(out, "psc_pde_entries", psc_pde_entries, "psc_ways", psc_ways, Math.min(psc_ways, Math.max(1, psc_pde_entries)));
        check(out, "ntlb_entries", ntlb_entries, "ntlb_ways", ntlb_ways, ntlb_ways);
        check(out, "npsc_pde_entries", npsc_pde_entries, "psc_ways", psc_ways, Math.min(psc_ways, Math.max(1, npsc_pde_entries)));
        return out;
    }

    private static void check(List<GeometryProblem> out, String entriesKnob, int entries, String waysKnob, int givenWays, int ways) {
        if (entries == 0) {
            return;
        }
        List<String> knobs = List.of(entriesKnob, waysKnob);
        if (givenWays == 0) {
            out.add(new GeometryProblem(knobs, waysKnob + " must be at least 1 when " + entriesKnob + " is " + entries
                    + " (0 entries disables the structure)"));
            return;
        }
        if (entries % ways != 0 || Integer.bitCount(entries / ways) != 1) {
            int sets = Math.max(1, entries / ways);
            int lower = Integer.highestOneBit(sets);
            int upper = lower == sets ? lower : lower * 2;
            String near = lower == upper ? Integer.toString(lower * ways)
                    : (lower * ways) + " or " + (upper * ways);
            out.add(new GeometryProblem(knobs, entriesKnob + " = " + entries + " with " + ways + " way" + (ways == 1 ? "" : "s")
                    + " is not a power-of-two number of sets (entries = sets x ways); for example " + entriesKnob + " = " + near));
        }
    }

    /** A copy with several knobs changed, in map order. */
    public CpuModel with(Map<String, Long> overrides) {
        CpuModel m = this;
        for (Map.Entry<String, Long> e : overrides.entrySet()) {
            m = m.with(e.getKey(), e.getValue());
        }
        return m;
    }
}
