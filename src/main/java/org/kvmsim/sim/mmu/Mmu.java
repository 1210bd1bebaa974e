package org.kvmsim.sim.mmu;

import static org.kvmsim.sim.mmu.RadixTable.A;
import static org.kvmsim.sim.mmu.RadixTable.ADDR_MASK;
import static org.kvmsim.sim.mmu.RadixTable.D;
import static org.kvmsim.sim.mmu.RadixTable.ENTRIES;
import static org.kvmsim.sim.mmu.RadixTable.LA;
import static org.kvmsim.sim.mmu.RadixTable.LD;
import static org.kvmsim.sim.mmu.RadixTable.NOT_MAPPED;
import static org.kvmsim.sim.mmu.RadixTable.PS;
import static org.kvmsim.sim.mmu.RadixTable.childOf;
import static org.kvmsim.sim.mmu.RadixTable.index;
import static org.kvmsim.sim.mmu.RadixTable.shiftOfLevel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.LongUnaryOperator;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;
import org.kvmsim.sim.view.TableStats;
import org.kvmsim.sim.view.VcpuStats;
import org.kvmsim.sim.view.Translation;
import org.kvmsim.sim.view.WalkRef;

/**
 * One VM's address translation: its guest page tables (one per address space, i.e. per CR3),
 * the nested EPT/NPT table or KVM's shadow tables, the walks the hardware makes through them and
 * what every access costs, against the same accesses priced as if run natively.
 *
 * <p>Modes ({@link Paging}):
 * <ul>
 * <li>native: the hardware walks the guest tables (n references for n levels above the leaf).</li>
 * <li>EPT/NPT: a two-dimensional walk. Every guest table pointer is a GPA translated by the
 * nested table before the guest entry can be read, and so is the final GPA:
 * n*m + n + m references with n guest and m nested levels (24 for 4+4). Nested entries are built
 * lazily on EPT violations; a nested leaf is as large as the host backing page (4 KiB, 2 MiB,
 * 1 GiB) when the GPA and HPA are aligned to it. The TLB caches GVA -> HPA at the smaller of the
 * guest and nested page sizes, as Intel's combined TLB entries do (SDM vol. 3C §28.3.1).</li>
 * <li>shadow: KVM keeps GVA -> HPA tables mirroring the guest's, built on page faults
 * ({@link ShadowTable}: write-protected guest tables, unsync leaf pages resynced on CR3 load and
 * INVLPG, zap after {@value ShadowTable#WRITE_FLOOD_THRESHOLD} emulated writes as KVM's
 * detect_write_flooding() does, spte prefetch of the aligned block of 8, and the VM's shadow page
 * limit, whose oldest pages are recycled). Guest page-table writes to shadowed pages, CR3 loads, INVLPG
 * and every guest page fault exit; the hardware walk is 1-D over the shadow table.</li>
 * </ul>
 *
 * <p>Caches: the {@link Cpu}'s L1 DTLB, STLB, paging-structure caches (guest or shadow dimension,
 * keyed by GVA), nested TLB and nested paging-structure caches (keyed by GPA, entries as large as
 * the nested leaf). With VPID/ASID each VM's linear entries are tagged; without, every VM exit
 * and entry (a switch between VMs among them) flushes them. Nested entries are tagged by the VM's
 * EPTP either way. A CR3 load flushes the vCPU's linear translations unless the guest uses PCIDs
 * and the space still has its ASID slot ({@link #loadCr3}).
 *
 * <p>Cost: cycles = accesses * tlb_hit + STLB lookups * stlb_hit + walk references * walk_ref
 * + exits * vm_exit + per-exit work (EPT violation, shadow fault, emulation, resync) + guest
 * faults * guest_fault + host faults (an EPT violation or shadow fault that faulted the host page
 * in: host_fault + clear_page per 4 KiB zeroed). The native price of the same stream uses a private set of caches over
 * the same guest tables and identity host (so walks are 1-D and nothing exits). While that
 * private model would provably hold the same linear entries as the VM's own (EPT/NPT or native,
 * alone on its CPU, TLB entries as large as guest pages), the native price is read off the VM's
 * walks (their guest-dimension references) instead of simulated twice; the first divergent event
 * hands over to the private model with a copy of the state (equivalence is tested).
 *
 * <p>Driving it: one Mmu per VM; {@link #newAddressSpace} per guest page table; the guest OS
 * model writes PTEs with {@link #map}/{@link #unmap} and answers faults through a
 * {@link GuestFaultHandler}; {@link #loadCr3} and {@link #invlpg} are the guest's privileged
 * operations; {@link #access(long, boolean)} or, faster, {@link #access(long[], boolean[], int, int)}
 * run the workload; {@link #counters}, {@link #translate}, {@link #walk} and the table stats
 * answer queries.
 *
 * <p>Differences from KVM/hardware (see also {@link ShadowTable}): Accessed
 * and dirty bits are set only on walks (a write hitting a TLB entry filled by a read does not set
 * D, and shadow paging's A/D emulation exits are not modelled). Guest data writes to page-table
 * pages through ordinary accesses are not detected: guest table writes come through {@link #map}
 * and {@link #unmap}. Walk references all cost walk_ref (no data-cache model).
 */
public final class Mmu {

    private final String name;
    private final Paging paging;
    private final Cores cores;
    private final CpuModel cm;
    private final HostBacking host;
    private final long ramHva;
    private final int guestLevels;
    private final int nestedLevels;
    /** The tag of this VM's guest-physical entries (nested TLB and PSCs): its EPTP. */
    private final int eptp;
    private final boolean twoD;
    private final RadixTable npt;
    private final List<Space> spaces = new ArrayList<>();
    private final LongLongMap shadowed = new LongLongMap();
    /** KVM's active_mmu_pages: the VM's shadow pages, oldest first, for recycling. */
    private final ShadowPageList shadowPages = new ShadowPageList();
    /** KVM's n_max_mmu_pages (no limit unless set: tests and benchmarks). */
    private long maxShadowPages = Long.MAX_VALUE;
    private final RadixTable.WriteListener pteWrites;
    private final Vcpu[] vcpus;
    private GuestFaultHandler handler;
    private boolean priceNative = true;

    // ---- the active vCPU's registers (saved into it by save(), loaded by load()) -------------

    /** The vCPU whose accesses are simulated now; the fields below are its state. */
    private Vcpu active;
    /**
     * The core the active vCPU runs on, and the tag of its linear entries now: its VPID and the
     * guest's current PCID slot ({@link Tlbs#key}); its native model's tag is the slot alone.
     */
    private Cpu cpu;
    private int tag;
    private int natTag;
    /** The active vCPU's private caches for its native price. */
    private Tlbs nat;
    /** The core's 4 KiB L1 DTLB and STLB (for the batch fast path). */
    private AssocCache l1k;
    private AssocCache l2k;
    private Space cur;
    /**
     * While true the native price is read off the vCPU's own walks instead of a second simulation:
     * the native model's TLBs and PSCs would hold exactly the vCPU's linear entries (same keys but
     * the VPID: both use the guest's PCID slots alike; same order of operations), because nothing
     * has yet happened that treats them differently: no other vCPU on its core, no TLB entry
     * smaller than its guest page, no shadow paging, no remote flush or migration. The first such event copies the vCPU's state into
     * {@link #nat} and turns this off.
     */
    private boolean mirror;

    private final int tlbHit;
    private final int stlbHit;
    private final int walkRef;

    /** Number of per-vCPU event counters, in the order of {@link #save()}. */
    static final int COUNTERS = 23;
    private long accesses;
    private long l1Misses;
    private long stlbMisses;
    private long walks;
    private long walkRefs;
    private long guestFaults;
    /** 4 KiB pages that guest faults mapping a larger page zeroed beyond their first (clear_page each). */
    private long guestFaultExtraPages;
    private long eptViolations;
    private long vmExits;
    private long exitCycles;
    private long nativeL1Misses;
    private long nativeWalkRefs;
    private long shadowFaults;
    private long ptWriteExits;
    private long ptWriteEmulations;
    private long cr3Exits;
    private long invlpgExits;
    private long unsyncs;
    private long resyncedPages;
    /** Shadow pages zapped: by write flooding, or recycled at the shadow page limit. */
    private long shadowZaps;
    private long switchFlushes;
    /** EPT violations and shadow faults that faulted the host page in (host_fault each). */
    private long hostFaults;
    /** 4 KiB pages those host faults zeroed (clear_page each). */
    private long hostZeroedPages;
    /**
     * Whether a nested leaf or spte of this VM has ever mapped the zero page (read-only): from
     * then on a write checks its page first ({@link #writeProtectFault}). Never cleared: it only
     * spares VMs that never read never-written memory the check.
     */
    private boolean zeroSeen;
    /** Set by {@link #installNested} when it mapped the zero page by a fault (a host fault without zeroing). */
    private boolean zeroFaulted;

    /** One bit per 2 MiB of GPA mapped by a 2 MiB or 1 GiB nested leaf (for {@link #nestedPresent}). */
    private long[] nestedLarge = new long[8];
    /** One bit per 4 KiB GPA page mapped by a 4 KiB nested leaf: the hot path's copy of the PT level. */
    private long[] nested4k = new long[64];
    private int lastNestedShift;
    private int lastGuestRefs;
    private int lastGuestSize;
    /** Keeps the JIT from dropping the loads of {@link #access(long[], boolean[], int, int)}'s first pass. */
    long peekSink;
    private int lastRefs;
    /**
     * For the prefetch only: by 2 MiB of GVA (hashed), 1 + the id of the level-1 table the last
     * walk there ended in (0: none yet). A stale hint just prefetches the wrong line.
     */
    private final int[] leafHint = new int[LEAF_HINT_MASK + 1];
    private static final int LEAF_HINT_MASK = 4095;

    /**
     * A VM of one vCPU on {@code cpu} (tests and benchmarks; the engine places vCPUs itself).
     *
     * @param paging       how the VM's memory is translated
     * @param cpu          the core the VM runs on (may be shared by several VMs)
     * @param guestLevels  4 or 5 (LA57)
     * @param nestedLevels 4 or 5 (EPT/NPT levels; ignored for native and shadow)
     * @param host         host backing of guest RAM and host pages for nested/shadow tables
     * @param ramHva       where QEMU mapped guest RAM in its address space (hva = ramHva + gpa)
     */
    public Mmu(Paging paging, Cpu cpu, int guestLevels, int nestedLevels, HostBacking host, long ramHva) {
        this("vm", paging, cpu.cores(), 1, guestLevels, nestedLevels, host, ramHva);
        vcpus[0].core = cpu;
        this.cpu = cpu;
        this.l1k = cpu.tlbs.l1[0];
        this.l2k = cpu.tlbs.l2[0];
    }

    /**
     * A VM named {@code name} with {@code vcpuCount} vCPUs on the host's {@code cores}; each
     * vCPU runs where {@link #select} puts it (vCPU 0 is active, on no core yet).
     */
    public Mmu(String name, Paging paging, Cores cores, int vcpuCount, int guestLevels, int nestedLevels,
               HostBacking host, long ramHva) {
        this.name = name;
        this.paging = paging;
        this.cores = cores;
        this.cm = cores.model();
        this.host = host;
        this.ramHva = ramHva;
        this.guestLevels = guestLevels;
        this.nestedLevels = nestedLevels;
        this.eptp = cores.allocateEptp();
        this.twoD = paging.nested();
        this.npt = paging.nested() ? new RadixTable(nestedLevels, host::allocTablePage, host::freeTablePage) : null;
        this.pteWrites = paging == Paging.SHADOW ? this::onGuestPteWrite : null;
        this.tlbHit = cm.tlb_hit_cycles();
        this.stlbHit = cm.stlb_hit_cycles();
        this.walkRef = cm.walk_ref_cycles();
        this.guestPcid = cm.pcid();
        if (guestLevels != 4 && guestLevels != 5) {
            throw new IllegalArgumentException("guest page tables have 4 or 5 levels, not " + guestLevels);
        }
        if (vcpuCount < 1) {
            throw new IllegalArgumentException("a VM has at least one vCPU, not " + vcpuCount);
        }
        // without VPID every exit flushes the VM's TLBs but not the native model's: no mirroring
        boolean mirrors = paging == Paging.NATIVE || paging != Paging.SHADOW && cm.vpid();
        this.vcpus = new Vcpu[vcpuCount];
        for (int i = 0; i < vcpuCount; i++) {
            vcpus[i] = new Vcpu(this, i, cores.allocateVpid(), new Tlbs(cm), mirrors);
        }
        load(vcpus[0]);
    }

    public String name() {
        return name;
    }

    public int vcpuCount() {
        return vcpus.length;
    }

    public Vcpu vcpu(int index) {
        return vcpus[index];
    }

    /** The vCPU whose accesses are simulated now. */
    public Vcpu activeVcpu() {
        return active;
    }

    /**
     * Makes vCPU {@code index} the one whose accesses, faults and privileged operations follow,
     * running on {@code core}. A vCPU that last ran on another core has migrated: KVM's
     * vcpu_load() on a new CPU requests KVM_REQ_TLB_FLUSH ("Flush all EPTP/VPID contexts, the new
     * pCPU may have stale TLB entries from its previous association with the vCPU",
     * arch/x86/kvm/vmx/vmx.c vmx_vcpu_load_vmcs()), which on Intel is kvm_vcpu_flush_tlb_all() ->
     * vmx_flush_tlb_all(): INVEPT all-context with EPT, INVVPID all-context without, so the new
     * core's translation caches are emptied for every VM; AMD (svm_flush_tlb_all()) flushes the
     * vCPU's own ASID only. Either way the vCPU starts cold there, and so does its native price
     * (the thread migrates natively too). The core's current vCPU does not change until this one
     * makes an access or a privileged operation (a switch, see {@link Cpu#switchTo}).
     */
    public void select(int index, Cpu core) {
        Vcpu v = vcpus[index];
        if (v != active) {
            save();
            load(v);
        }
        if (v.core == core) {
            return;
        }
        if (v.core != null) {
            v.migrations++;
            // (its old core's entries are not read: the native thread starts cold as well)
            unmirrorEmpty(v);
            nat.flushLinear(0);
            if (!cm.flush_all_contexts()) {
                core.tlbs.flushLinear(tag);
                core.tlbs.flushNested(eptp);
            } else {
                flushAllContexts(core);
            }
            core.flushesReceived++;
        }
        v.core = core;
        cpu = core;
        l1k = core.tlbs.l1[0];
        l2k = core.tlbs.l2[0];
    }

    private void load(Vcpu v) {
        active = v;
        cpu = v.core;
        tag = v.tag | v.asid;
        natTag = v.asid;
        nat = v.nat;
        cur = v.cur;
        mirror = v.mirror;
        l1k = cpu == null ? null : cpu.tlbs.l1[0];
        l2k = cpu == null ? null : cpu.tlbs.l2[0];
        long[] c = v.c;
        accesses = c[0];
        l1Misses = c[1];
        stlbMisses = c[2];
        walks = c[3];
        walkRefs = c[4];
        guestFaults = c[5];
        guestFaultExtraPages = c[6];
        eptViolations = c[7];
        vmExits = c[8];
        exitCycles = c[9];
        nativeL1Misses = c[10];
        nativeWalkRefs = c[11];
        shadowFaults = c[12];
        ptWriteExits = c[13];
        ptWriteEmulations = c[14];
        cr3Exits = c[15];
        invlpgExits = c[16];
        unsyncs = c[17];
        resyncedPages = c[18];
        shadowZaps = c[19];
        switchFlushes = c[20];
        hostFaults = c[21];
        hostZeroedPages = c[22];
    }

    /** Writes the active vCPU's registers back into it. */
    private void save() {
        Vcpu v = active;
        v.cur = cur;
        v.mirror = mirror;
        long[] c = v.c;
        c[0] = accesses;
        c[1] = l1Misses;
        c[2] = stlbMisses;
        c[3] = walks;
        c[4] = walkRefs;
        c[5] = guestFaults;
        c[6] = guestFaultExtraPages;
        c[7] = eptViolations;
        c[8] = vmExits;
        c[9] = exitCycles;
        c[10] = nativeL1Misses;
        c[11] = nativeWalkRefs;
        c[12] = shadowFaults;
        c[13] = ptWriteExits;
        c[14] = ptWriteEmulations;
        c[15] = cr3Exits;
        c[16] = invlpgExits;
        c[17] = unsyncs;
        c[18] = resyncedPages;
        c[19] = shadowZaps;
        c[20] = switchFlushes;
        c[21] = hostFaults;
        c[22] = hostZeroedPages;
    }

    public Paging paging() {
        return paging;
    }

    /** The core the active vCPU runs on. */
    public Cpu cpu() {
        return cpu;
    }

    public void setGuestFaultHandler(GuestFaultHandler handler) {
        this.handler = handler;
    }

    /** Whether the guest uses KVM's paravirtual TLB flush (on by default, as QEMU's -cpu host offers it). */
    public void setPvTlbFlush(boolean on) {
        this.pvTlbFlush = on;
    }

    private boolean pvTlbFlush = true;

    /**
     * Whether the guest kernel uses PCIDs: the CPU has them and the VM's kernel was not booted
     * with nopcid. The native model is the same kernel on the same CPU and uses them alike.
     */
    public void setGuestPcid(boolean on) {
        this.guestPcid = on && cm.pcid();
    }

    private boolean guestPcid;

    /** Whether each access is also priced natively (on by default; off halves the work). */
    public void setNativePricing(boolean on) {
        this.priceNative = on;
        if (!on) {
            disableMirror();
        }
    }

    // ---- address spaces and the guest's page-table writes ---------------------------------

    /** Per address space: the guest's table and, under shadow paging, KVM's shadow of it. */
    static final class Space {
        final int id;
        final RadixTable guest;
        final ShadowTable shadow;
        /**
         * The mm's tlb_gen: how many times the guest changed a present mapping of it (each a
         * flush_tlb_mm_range()); an ASID slot older than this must be flushed before reuse.
         */
        long tlbGen;

        Space(int id, RadixTable guest, ShadowTable shadow) {
            this.id = id;
            this.guest = guest;
            this.shadow = shadow;
        }
    }

    /**
     * A new guest address space (a process's page tables, loaded by CR3); the first one becomes
     * current. Guest table pages get their GPAs from {@code tablePages}.
     */
    public int newAddressSpace(TablePageAllocator tablePages) {
        RadixTable g = new RadixTable(guestLevels, tablePages, tablePages::free);
        int id = spaces.size();
        Space sp = new Space(id, g, paging == Paging.SHADOW ? new ShadowTable(id, g, host, shadowed, shadowPages) : null);
        spaces.add(sp);
        // every vCPU starts in the first address space, in ASID slot 0 (as the boot mm), its
        // shadow root (if any) loaded
        for (Vcpu v : vcpus) {
            if (v == active ? cur == null : v.cur == null) {
                if (v == active) {
                    cur = sp;
                } else {
                    v.cur = sp;
                }
                v.asidSpace[0] = sp;
                v.roots[0] = id << Tlbs.PCID_BITS;
            }
        }
        return sp.id;
    }

    public int addressSpaces() {
        return spaces.size();
    }

    /** The active vCPU's address space (its CR3), or -1 before the first. */
    public int currentAddressSpace() {
        return cur == null ? -1 : cur.id;
    }

    /**
     * The guest kernel maps {@code gva}'s page to {@code gpa} (pageSize 4 KiB, 2 MiB or 1 GiB),
     * writing PTEs (and new table pages) as it goes. Under shadow paging writes to shadowed table
     * pages exit. Changing a present mapping of the current space is followed by INVLPG.
     */
    public void map(int space, long gva, long gpa, long pageSize, boolean writable) {
        Space sp = spaces.get(space);
        int shift = Long.numberOfTrailingZeros(pageSize);
        if (Long.bitCount(pageSize) != 1 || (shift != 12 && shift != 21 && shift != 30)) {
            throw new IllegalArgumentException("page size must be 4 KiB, 2 MiB or 1 GiB, not " + pageSize);
        }
        long va = gva & ~((1L << shift) - 1);
        boolean was = sp.guest.lookup(va) != NOT_MAPPED;
        sp.guest.map(va, gpa, shift, writable, pteWrites);
        if (was) {
            presentChanged(sp, va);
        }
    }

    /** The guest kernel clears the PTE mapping {@code gva}, then INVLPGs it if the space is current. */
    public void unmap(int space, long gva) {
        Space sp = spaces.get(space);
        long old = sp.guest.unmap(gva, pteWrites);
        if (old != NOT_MAPPED) {
            presentChanged(sp, gva);
        }
    }

    /**
     * A present mapping of {@code sp} changed: the guest flushes it on its own vCPU (INVLPG) if
     * the space is loaded there, and on every other vCPU that runs the space, as
     * flush_tlb_mm_range() does (arch/x86/mm/tlb.c: an IPI to each CPU in the mm's cpumask that
     * is not in lazy TLB mode; here: each busy vCPU with the space loaded). Each IPI is a VM exit
     * on the sender (the ICR write) and an interrupt the target takes with an exit of its own; the
     * sender waits for every target to acknowledge, so a target that is preempted (another vCPU
     * runs on its core) makes it wait until that vCPU is scheduled again: priced as half the
     * scheduler's base slice ({@link Cores#preemptedWaitNs}). With KVM_FEATURE_PV_TLB_FLUSH
     * (arch/x86/kernel/kvm.c kvm_flush_tlb_multi()) the guest does not IPI a preempted vCPU: it
     * sets KVM_VCPU_FLUSH_TLB in that vCPU's steal-time record and KVM flushes it at its next
     * entry (record_steal_time() -> kvm_vcpu_flush_tlb_guest()): no exit, no wait.
     */
    private void presentChanged(Space sp, long va) {
        // the mm's tlb_gen moves on; each vCPU that flushes here (flush_tlb_func()) catches its
        // ASID slot up with it, the others flush the slot when they next load the space
        long gen = ++sp.tlbGen;
        if (sp == cur) {
            invlpg(va);
            active.asidGen[active.asid] = gen;
        }
        for (Vcpu o : vcpus) {
            if (o == active || o.cur != sp || o.core == null) {
                continue;
            }
            if (!o.busy) {
                // an idle CPU in lazy TLB mode gets no IPI: it flushes when it runs the mm again
                // (switch_mm_irqs_off() finds its tlb_gen behind)
                o.pvFlushPending = true;
                continue;
            }
            active.shootdowns++;
            o.shootdownsReceived++;
            boolean running = o.core.current == o;
            if (!running && pvTlbFlush) {
                o.pvFlushPending = true;
                continue;
            }
            // the sender's ICR write, and the target's interrupt exit
            chargeExit(active, 0);
            chargeExit(o, cm.ipi_cycles());
            active.shootdownIpis++;
            o.flushIpis++;
            o.core.ipisReceived++;
            o.core.flushesReceived++;
            if (!running) {
                long wait = cores.preemptedWaitNs * cm.mhz() / 1000;
                active.shootdownWaitCycles += wait;
                exitCycles += wait;
            }
            o.asidGen[o.asid] = gen;
            if (!o.mirror) {
                o.nat.invalidatePage(va, o.asid);
            }
            if (cm.vpid() || running) {
                if (paging == Paging.SHADOW) {
                    o.core.tlbs.invalidatePageEveryPcid(va, o.tag);
                } else {
                    o.core.tlbs.invalidatePage(va, o.tag | o.asid);
                }
            }
        }
    }

    /** A VM exit of {@code v} costing {@code extraCycles} beyond the exit itself. */
    private void chargeExit(Vcpu v, long extraCycles) {
        long c = cm.vm_exit_cycles() + extraCycles;
        if (v == active) {
            vmExits++;
            exitCycles += c;
        } else {
            v.c[8]++;
            v.c[9] += c;
        }
    }

    /**
     * The guest kernel wrote {@code [gpa, gpa + bytes)} through its own mappings, as
     * clear_huge_page() zeroes a new huge page: under nested paging every page of it without a
     * nested entry takes an EPT violation, as those writes would. The kernel's own TLB and walk
     * traffic is not modelled, nor its shadow faults under shadow paging.
     */
    public void guestWroteRange(long gpa, long bytes) {
        if (npt == null) {
            return;
        }
        for (long a = gpa; a < gpa + bytes; ) {
            long l = npt.lookup(a);
            if (l == NOT_MAPPED) {
                eptViolation(a, true);
                l = npt.lookup(a);
            }
            long size = 1L << shiftOfLevel(RadixTable.leafLevel(l));
            a = (a & -size) + size;
        }
    }

    /**
     * Whether the nested table maps {@code gpa} (always true without nested paging): an access
     * there takes no EPT violation.
     */
    public boolean nestedPresent(long gpa) {
        if (npt == null) {
            return true;
        }
        long gpn = gpa >>> 12;
        int word = (int) (gpn >>> 6);
        if (word < nested4k.length && (nested4k[word] & (1L << gpn)) != 0) {
            return true;
        }
        int big = (int) (gpa >>> 21);
        return big < nestedLarge.length * 64 && (nestedLarge[big >>> 6] & (1L << big)) != 0;
    }

    /** Whether every guest page-table page of {@code space} has a nested entry (walks through them cannot violate). */
    public boolean tablesNestedPresent(int space) {
        if (npt == null) {
            return true;
        }
        RadixTable g = spaces.get(space).guest;
        return g.allTablePages(this::nestedPresent);
    }

    /** Whether the guest tables of {@code space} map nothing in the 2 MiB around {@code gva}. */
    public boolean guestUnmapped2m(int space, long gva) {
        return spaces.get(space).guest.unmapped2m(gva);
    }

    /** What the guest tables of {@code space} map {@code gva} to, or empty. */
    public Optional<Long> guestPhysical(int space, long gva) {
        long l = spaces.get(space).guest.lookup(gva);
        return l == NOT_MAPPED ? Optional.empty() : Optional.of(RadixTable.resolve(l, gva));
    }

    // ---- privileged guest operations ------------------------------------------------------

    /** Linux's dynamic ASIDs per CPU (arch/x86/mm/tlb.c TLB_NR_DYN_ASIDS). */
    static final int ASIDS = 6;

    /**
     * The guest switches the active vCPU to {@code space} (a context switch: Linux's
     * switch_mm_irqs_off(), arch/x86/mm/tlb.c). With PCIDs, choose_new_asid() picks the vCPU's
     * ASID slot that holds the space, and writes CR3 with NOFLUSH if the slot saw every flush of
     * the space since (its tlb_gen is current); a space without a slot takes the next one round
     * robin (next_asid) and flushes that PCID. Without PCIDs (zen2, or the guest's nopcid) every
     * load flushes the vCPU's linear entries. EPT/NPT do not intercept CR3: the hardware flushes the
     * PCID, or keeps it on NOFLUSH. Under shadow paging every load exits; KVM's kvm_set_cr3()
     * (arch/x86/kvm/x86.c) takes the root from the vCPU's cache of the current and
     * KVM_MMU_NUM_PREV_ROOTS (3) previous ones (fast_pgd_switch(), LRU), and resyncs its unsync
     * pages and flushes the VPID (KVM_REQ_MMU_SYNC, KVM_REQ_TLB_FLUSH_CURRENT, which under shadow
     * paging is INVVPID single-context: every PCID) when the write did not say NOFLUSH or the root
     * was not cached (kvm_mmu_load() of a new root); a flush also frees the cached previous roots
     * of the same PCID (kvm_invalidate_pcid()).
     */
    public void loadCr3(int space) {
        enter();
        Space sp = spaces.get(space);
        Vcpu v = active;
        int asid = 0;
        boolean flush = true;
        if (guestPcid) {
            asid = -1;
            for (int i = 0; i < ASIDS; i++) {
                if (v.asidSpace[i] == sp) {
                    asid = i;
                    flush = v.asidGen[i] < sp.tlbGen;
                    break;
                }
            }
            if (asid < 0) {
                asid = v.nextAsid++;
                if (asid >= ASIDS) {
                    asid = 0;
                    v.nextAsid = 1;
                }
            }
            if (flush) {
                v.asidSpace[asid] = sp;
                v.asidGen[asid] = sp.tlbGen;
            }
        }
        if (paging == Paging.SHADOW) {
            cr3Exits++;
            boolean cached = useRoot(v, space << Tlbs.PCID_BITS | asid);
            if (flush && guestPcid) {
                for (int i = 1; i < v.roots.length; i++) {
                    if (v.roots[i] >= 0 && (v.roots[i] & ((1 << Tlbs.PCID_BITS) - 1)) == asid) {
                        v.roots[i] = -1;
                    }
                }
            }
            boolean reload = flush || !cached;
            int synced = reload ? sp.shadow.resyncAll() : 0;
            resyncedPages += synced;
            exit((long) synced * cm.sync_page_cycles());
            if (reload && cpu != null) {
                cpu.tlbs.flushLinear(v.tag);
            }
        } else if (flush && cpu != null) {
            cpu.tlbs.flushPcid(v.tag | asid);
        }
        if (flush && !mirror) {
            nat.flushPcid(asid);
        }
        v.asid = asid;
        tag = v.tag | asid;
        natTag = asid;
        cur = sp;
    }

    /**
     * Makes {@code root} the vCPU's current shadow root, the others moving down its LRU (the last
     * falls out on a miss), as fast_pgd_switch() rotates mmu->root through mmu->prev_roots;
     * whether it was cached.
     */
    private static boolean useRoot(Vcpu v, int root) {
        int[] r = v.roots;
        int i = 0;
        while (i < r.length - 1 && r[i] != root) {
            i++;
        }
        boolean hit = r[i] == root;
        System.arraycopy(r, 0, r, 1, i);
        r[0] = root;
        return hit;
    }

    /**
     * The guest invalidates one page's translation (INVLPG) in its current PCID. Under shadow
     * paging it exits: KVM resyncs that one entry in every cached root whose shadow page is
     * unsync (kvm_mmu_invlpg(), KVM_MMU_ROOTS_ALL) and flushes the address for every PCID of the
     * VPID (INVVPID individual-address).
     */
    public void invlpg(long gva) {
        enter();
        if (paging == Paging.SHADOW && cur != null) {
            invlpgExits++;
            exit(0);
            cur.shadow.syncOne(gva);
            int[] r = active.roots;
            for (int i = 1; i < r.length; i++) {
                Space prev = r[i] < 0 ? null : spaces.get(r[i] >> Tlbs.PCID_BITS);
                if (prev != null && prev != cur) {
                    prev.shadow.syncOne(gva);
                }
            }
        }
        if (cpu != null) {
            if (paging == Paging.SHADOW) {
                cpu.tlbs.invalidatePageEveryPcid(gva, tag);
            } else {
                cpu.tlbs.invalidatePage(gva, tag);
            }
        }
        if (!mirror) {
            nat.invalidatePage(gva, natTag);
        }
    }

    /**
     * The active vCPU is about to run guest code on its core: if another vCPU ran there last,
     * that is a switch ({@link Cpu#switchTo}); a paravirtual flush asked of it while preempted is
     * done now, at its entry.
     */
    private void enter() {
        Cpu c = cpu;
        if (c == null) {
            return;
        }
        if (c.current != active) {
            c.switchTo(active);
        }
        if (active.flushRequest) {
            serveFlushRequest(active, c);
        }
        if (active.pvFlushPending) {
            active.pvFlushPending = false;
            unmirror();
            c.tlbs.flushLinear(tag);
            if (!mirror) {
                nat.flushLinear(0);
            }
        }
    }

    void countSwitchFlush(Vcpu v) {
        if (v == active) {
            switchFlushes++;
        } else {
            v.c[20]++;
        }
    }

    /** Stops mirroring the active vCPU: the native model takes over from a copy of its linear entries. */
    private void unmirror() {
        unmirror(active);
    }

    /** Stops mirroring {@code v}: its native model takes over from a copy of its linear entries. */
    void unmirror(Vcpu v) {
        if (v == active) {
            if (mirror) {
                if (cpu != null) {
                    nat.copyLinearFrom(cpu.tlbs, tag);
                }
                mirror = false;
            }
        } else if (v.mirror) {
            if (v.core != null) {
                v.nat.copyLinearFrom(v.core.tlbs, v.tag);
            }
            v.mirror = false;
        }
    }

    /** Stops mirroring a vCPU that has not shared a core yet: its native model starts empty. */
    void unmirrorEmpty(Vcpu v) {
        if (v == active) {
            mirror = false;
        } else {
            v.mirror = false;
        }
    }

    /** For tests: price natively with the separate model from the start. */
    void disableMirror() {
        mirror = false;
        for (Vcpu v : vcpus) {
            v.mirror = false;
        }
    }

    /**
     * The host changed the frame behind {@code gpa} (KSM merged it or broke copy-on-write, THP
     * collapsed or split it): as KVM's MMU notifier does, zap the nested entry that maps it (the
     * whole large leaf if it is one) and flush the VM's TLBs (INVEPT single-context), so the next
     * access takes an EPT violation and picks up {@link HostBacking#hpa} afresh. Under shadow
     * paging the sptes that translate the page are found through the rmap and dropped, and the
     * TLBs flushed if there were any (kvm_unmap_gfn_range(), kvm_flush_remote_tlbs()): the next
     * access takes a shadow page fault. Native paging is not affected (its price is the guest's own).
     */
    public void invalidateHostPage(long gpa) {
        if (npt != null) {
            if (zapNested(gpa) > 0) {
                flushAfterZap();
            }
        } else if (paging == Paging.SHADOW && zapShadow(gpa >>> 12) > 0) {
            flushRemote();
        }
    }

    /** Drops the sptes of every address space that translate guest frame {@code gfn}; how many. */
    private int zapShadow(long gfn) {
        int n = 0;
        for (Space sp : spaces) {
            n += sp.shadow.zapGfn(gfn);
        }
        return n;
    }

    /**
     * As {@link #invalidateHostPage} for every nested leaf (or spte) in {@code [gpa, gpa + bytes)},
     * with one flush: KVM's kvm_unmap_gfn_range() for an MMU-notifier range, e.g. khugepaged
     * replacing 512 small pages by one THP. The next access faults the range back in, as one
     * 2 MiB nested leaf when the new backing allows it (the emptied page table below it is freed),
     * or under shadow paging as one large spte when the guest maps the range with a 2 MiB page.
     */
    public void invalidateHostRange(long gpa, long bytes) {
        if (npt == null) {
            if (paging == Paging.SHADOW) {
                int n = 0;
                for (long a = gpa & ~0xFFFL; a < gpa + bytes; a += 4096) {
                    n += zapShadow(a >>> 12);
                }
                if (n > 0) {
                    flushRemote();
                }
            }
            return;
        }
        boolean zapped = false;
        for (long a = gpa; a < gpa + bytes; ) {
            long size = zapNested(a);
            zapped |= size > 0;
            a = size > 0 ? (a & -size) + size : a + 4096;
        }
        if (zapped) {
            flushAfterZap();
        }
    }

    /** Unmaps the nested leaf mapping {@code gpa}; its size in bytes, or 0 if there was none. */
    private long zapNested(long gpa) {
        long old = npt.unmap(gpa, null);
        if (old == NOT_MAPPED) {
            return 0;
        }
        int level = RadixTable.leafLevel(old);
        if (level > 1) {
            markLarge(gpa & -(1L << shiftOfLevel(level)), 1L << shiftOfLevel(level), false);
        }
        if (level == 1) {
            long gpn = gpa >>> 12;
            int word = (int) (gpn >>> 6);
            if (word < nested4k.length) {
                nested4k[word] &= ~(1L << gpn);
            }
        }
        return 1L << shiftOfLevel(level);
    }

    /** Sets or clears the {@link #nestedLarge} bits of a large nested leaf. */
    private void markLarge(long base, long bytes, boolean on) {
        for (long a = base; a < base + bytes; a += 2L << 20) {
            int big = (int) (a >>> 21);
            if ((big >>> 6) >= nestedLarge.length) {
                nestedLarge = Arrays.copyOf(nestedLarge, Math.max((big >>> 6) + 1, nestedLarge.length * 2));
            }
            if (on) {
                nestedLarge[big >>> 6] |= 1L << big;
            } else {
                nestedLarge[big >>> 6] &= ~(1L << big);
            }
        }
    }

    /** After nested entries went: INVEPT single-context, i.e. this VM's TLB and walk-cache entries. */
    private void flushAfterZap() {
        flushRemote();
    }

    /**
     * KVM's remote TLB flush (virt/kvm/kvm_main.c kvm_flush_remote_tlbs() ->
     * kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH)): every vCPU of the VM gets the request
     * and flushes at its next entry; a vCPU in guest mode is kicked out with an IPI first
     * (kvm_request_needs_ipi()) and the requester waits for it. Here a vCPU is in guest mode when
     * it is busy and its core runs it, and is not the vCPU whose own exit made the change (it is
     * in the host already). The flush takes the vCPU's linear and combined entries on its core
     * (with VPID, its tag; without, the untagged entries only if it is the vCPU on that core: a
     * descheduled one has none, its exit flushed them) and, for nested changes, the VM's
     * EPTP-tagged entries on every core its vCPUs run on (INVEPT single-context). Each kick costs
     * the kicked vCPU an exit and the IPI's delivery (ipi_cycles); the requester's side (ksmd,
     * khugepaged, or the faulting vCPU's host work) is not charged to the guest.
     */
    private void flushRemote() {
        for (Vcpu v : vcpus) {
            Cpu c = v == active ? cpu : v.core;
            if (c == null) {
                continue;
            }
            v.remoteFlushes++;
            c.flushesReceived++;
            if (c.current != v) {
                // not in guest mode on its core: it serves the request at its next entry (its
                // own entries cannot be used before then; whatever else the flush takes goes then)
                v.flushRequest = true;
                continue;
            }
            if (v.busy && !(v == active && executing)) {
                chargeExit(v, cm.ipi_cycles());
                v.flushIpis++;
                c.ipisReceived++;
            }
            serveFlushRequest(v, c);
        }
    }

    /**
     * KVM_REQ_TLB_FLUSH served by {@code v} on {@code core} (kvm_vcpu_flush_tlb_all()): on Intel
     * vmx_flush_tlb_all(), INVEPT all-context with EPT (INVVPID all-context without), which
     * empties the core for every VM; on AMD svm_flush_tlb_all(), the vCPU's ASID, guest-physical
     * entries included ({@code flush_all_contexts} in the preset).
     */
    private void serveFlushRequest(Vcpu v, Cpu core) {
        v.flushRequest = false;
        unmirror(v);
        if (cm.flush_all_contexts() && paging != Paging.NATIVE) {
            flushAllContexts(core);
        } else {
            if (cm.vpid() || core.current == v) {
                core.tlbs.flushLinear(v.tag);
            }
            core.tlbs.flushNested(eptp);
        }
    }

    /**
     * INVEPT/INVVPID all-context on {@code core}: every entry of every VM. The vCPU on the core,
     * if it still mirrors its native price, takes over its own model first (a native run is not
     * flushed by another VM's KVM).
     */
    private static void flushAllContexts(Cpu core) {
        if (core.current != null) {
            core.current.mmu.unmirror(core.current);
        }
        core.tlbs.flushAll();
    }

    /**
     * Whether the active vCPU is running guest code now (the engine sets it around a workload's
     * accesses): a host-side change made during them, e.g. a copy-on-write break, comes from its
     * own exit, so it is not kicked.
     */
    private boolean executing;

    public void setExecuting(boolean on) {
        executing = on;
    }

    // ---- the hot path ---------------------------------------------------------------------

    /** One data access by the current address space; faults are taken and handled as needed. */
    public void access(long gva, boolean write) {
        Cpu c = cpu;
        if (c.current != active) {
            enter();
        }
        if (write && zeroSeen) {
            writeProtectFault(gva);
            c = cpu;
        }
        // cycles are derived from these event counts in counters(): the hot path only counts
        accesses++;
        Tlbs t = c.tlbs;
        boolean m = mirror;
        if (!t.l1Hit(gva, tag)) {
            l1Misses++;
            if (m) {
                nativeL1Misses++;
            }
            if (t.l2Hit(gva, tag) < 0) {
                stlbMisses++;
                miss(t, gva, write);
            }
        }
        if (!m && priceNative) {
            priceNative(gva, write);
        }
    }

    /**
     * Accesses {@code gvas[off .. off+len)}, as {@link #access} each; {@code writes} (indexed like
     * {@code gvas}) may be null for all reads. The same results as one call per access, faster:
     * the guest leaf entries of the next 32 accesses are read ahead (through {@link #leafHint}),
     * so their cache misses overlap instead of stalling each walk in turn; and while this VM runs
     * alone with only 4 KiB translations cached and its native price mirrored, each access takes
     * a short path (L1 probe, STLB probe, 2-D walk, fill) with no per-access mode checks.
     */
    public void access(long[] gvas, boolean[] writes, int off, int len) {
        final int chunk = 32;
        int stop = off + len;
        prefetch(gvas, off, Math.min(stop, off + chunk));
        for (int i = off; i < stop; i += chunk) {
            int end = Math.min(stop, i + chunk);
            // the table entries of the next chunk are read now, so their cache misses overlap
            // one another and this chunk's work instead of stalling each walk in turn
            prefetch(gvas, end, Math.min(stop, end + chunk));
            for (int j = i; j < end; j++) {
                long gva = gvas[j];
                boolean write = writes != null && writes[j];
                Tlbs t = cpu.tlbs;
                if (cpu.current != active || t.sizesInUse != 1 || write && zeroSeen) {
                    access(gva, write);
                    continue;
                }
                // access(gva, write) when only 4 KiB translations are cached: the same steps,
                // minus the checks for other page sizes. A miss in the L1 or the STLB is filled
                // with this very key after the STLB hit or the walk (which touch neither), so
                // probe and fill are one pass; a miss that ends otherwise (a fault, a larger
                // translation) takes the fills back first and goes the general way
                accesses++;
                long p = gva >>> 12;
                long k = Tlbs.key(p, 0, tag);
                boolean m = mirror;
                if (!l1k.probeOrInsert(p, k)) {
                    l1Misses++;
                    if (m) {
                        nativeL1Misses++;
                    }
                    if (!l2k.probeOrInsert(p, k)) {
                        stlbMisses++;
                        walks++;
                        int sc = twoD ? walk2d(t, gva, write)
                                : paging == Paging.SHADOW ? walk1d(cur.shadow.table, t, tag, gva, false)
                                : walk1d(cur.guest, t, tag, gva, write);
                        if (sc == 0 && (!m || lastGuestSize == 0)) {
                            // afterWalk() for a 4 KiB translation (as the native walk would find
                            // it, when mirroring): the fills are done
                            walkRefs += lastRefs;
                            if (m) {
                                nativeWalkRefs += twoD ? lastGuestRefs : lastRefs;
                            }
                        } else {
                            l2k.undoInsert(p);
                            l1k.undoInsert(p);
                            if (!afterWalk(t, gva, write, sc)) {
                                miss(t, gva, write);
                            }
                        }
                    }
                }
                if (!m && priceNative) {
                    priceNative(gva, write);
                }
            }
        }
    }

    private void prefetch(long[] gvas, int from, int to) {
        Space sp = cur;
        if (sp == null) {
            return;
        }
        RadixTable g = paging == Paging.SHADOW ? sp.shadow.table : sp.guest;
        int[] lf = g.lf;
        int[] hint = leafHint;
        long acc = 0;
        for (int j = from; j < to; j++) {
            long gva = gvas[j];
            int slot = (hint[(int) (gva >>> 21) & LEAF_HINT_MASK] - 1) * ENTRIES + index(gva, 1);
            acc += slot >= 0 && slot < lf.length ? lf[slot] : g.peek(gva);
        }
        peekSink += acc;
    }

    private void miss(Tlbs t, long gva, boolean write) {
        while (true) {
            walks++;
            int sc;
            switch (paging) {
                case NATIVE:
                    sc = walk1d(cur.guest, t, tag, gva, write);
                    break;
                case SHADOW:
                    sc = walk1d(cur.shadow.table, t, tag, gva, false);
                    break;
                default:
                    sc = walk2d(t, gva, write);
                    break;
            }
            if (afterWalk(t, gva, write, sc)) {
                return;
            }
        }
    }

    /**
     * Counts a walk's references and fills the TLBs with its translation (size code {@code sc});
     * or, if the walk found no translation ({@code sc < 0}), takes the fault and returns false:
     * the access walks again.
     */
    private boolean afterWalk(Tlbs t, long gva, boolean write, int sc) {
        walkRefs += lastRefs;
        if (sc == EPT_VIOLATION) {
            // the exit, then the access walks again; natively it walks once, from where its
            // first walk started down to where the last one ends
            if (firstTop == 0) {
                firstTop = walkTop;
            }
            // (a huge leaf replacing a table flushes, but only a table emptied by zaps, which
            // ended any mirroring already: the native price cannot be cut off mid-access here)
            eptViolation(violationGpa, write);
            return false;
        }
        if (mirror) {
            nativeWalkRefs += paging == Paging.NATIVE ? lastRefs
                    : firstTop != 0 ? firstTop - walkEnd + 1 : lastGuestRefs;
        }
        firstTop = 0;
        if (sc >= 0) {
            if (mirror && lastGuestSize != sc) {
                unmirror();
                nat.fill(gva, lastGuestSize, natTag);
            }
            t.fill(gva, sc, tag);
            return true;
        }
        if (paging == Paging.SHADOW) {
            shadowFault(gva, write);
        } else {
            guestFault(gva, write);
        }
        return false;
    }

    /**
     * The separate native model's share of a guest page fault: a native run faults on the same
     * entry, after the same TLB misses, and its walk's references count. Taken before the guest
     * maps the page; the access's native price then resumes at the walk ({@link #priceNative}).
     */
    private void nativeFaultWalk(long gva, boolean write) {
        Tlbs t = nat;
        if (!nativeProbed) {
            // the lookups miss (the page is not mapped), so they change nothing but the count
            if (!t.l1Hit(gva, natTag)) {
                nativeL1Misses++;
                t.l2Hit(gva, natTag);
            }
            nativeProbed = true;
        }
        walk1d(cur.guest, t, natTag, gva, write);
        nativeWalkRefs += lastRefs;
    }

    /** This access's native lookups were made at its guest fault ({@link #nativeFaultWalk}). */
    private boolean nativeProbed;
    private boolean inNativePrice;

    private void priceNative(long gva, boolean write) {
        if (nativeProbed) {
            nativeProbed = false;
            inNativePrice = true;
            try {
                priceNativeWalk(gva, write);
            } finally {
                inNativePrice = false;
            }
            return;
        }
        inNativePrice = true;
        try {
            priceNativeLookup(gva, write);
        } finally {
            inNativePrice = false;
        }
    }

    private void priceNativeLookup(long gva, boolean write) {
        Tlbs t = nat;
        if (t.sizesInUse == 1) {
            // only 4 KiB translations cached: probe and fill in one pass, as in the batch path
            long p = gva >>> 12;
            long k = Tlbs.key(p, 0, natTag);
            AssocCache l1 = t.l1[0];
            AssocCache l2 = t.l2[0];
            if (l1.probeOrInsert(p, k)) {
                return;
            }
            nativeL1Misses++;
            if (l2.probeOrInsert(p, k)) {
                return;
            }
            int sc = walk1d(cur.guest, t, natTag, gva, write);
            nativeWalkRefs += lastRefs;
            if (sc == 0) {
                return;
            }
            l2.undoInsert(p);
            l1.undoInsert(p);
            if (sc > 0) {
                t.fill(gva, sc, natTag);
                return;
            }
            guestFault(gva, write);
            priceNativeWalk(gva, write);
            return;
        }
        if (t.l1Hit(gva, natTag)) {
            return;
        }
        nativeL1Misses++;
        if (t.l2Hit(gva, natTag) >= 0) {
            return;
        }
        priceNativeWalk(gva, write);
    }

    /** The native model's walk (and fill) after its TLBs missed. */
    private void priceNativeWalk(long gva, boolean write) {
        Tlbs t = nat;
        while (true) {
            int sc = walk1d(cur.guest, t, natTag, gva, write);
            nativeWalkRefs += lastRefs;
            if (sc >= 0) {
                t.fill(gva, sc, natTag);
                return;
            }
            guestFault(gva, write);
        }
    }

    /**
     * A one-dimensional walk of {@code table} with paging-structure caches; returns the TLB size
     * code (0 4K, 1 2M, 2 1G) or -1 if an entry is not present. References go to {@link #lastRefs}.
     */
    private int walk1d(RadixTable table, Tlbs t, int tg, long va, boolean write) {
        // paging-structure caches insert on a miss and are taken back if the walk ends above
        // them, as in walk2d (nothing but this walk touches them meanwhile: it only reads tables)
        AssocCache[] psc = t.psc;
        int levels = table.levels;
        long start = pscLookup(psc, levels, va, tg);
        int level = start < 0 ? levels : (int) (start >>> 32);
        int id = start < 0 ? table.root : (int) start;
        int refs = 0;
        while (true) {
            refs++;
            int slot = id * ENTRIES + index(va, level);
            if (level == 1) {
                leafHint[(int) (va >>> 21) & LEAF_HINT_MASK] = id + 1;
                int e = table.lf[slot];
                lastRefs = refs;
                if (e == 0) {
                    return -1;
                }
                int ad = e | LA | (write ? LD : 0);
                if (ad != e) {
                    // only when a bit changes: a clean cache line needs no write-back
                    table.lf[slot] = ad;
                }
                lastGuestSize = 0;
                return 0;
            }
            long e = table.up[slot];
            if (e == 0) {
                lastRefs = refs;
                undoInserts(psc, va, level);
                return -1;
            }
            if ((e & PS) != 0) {
                table.up[slot] = e | A | (write ? D : 0);
                lastRefs = refs;
                lastGuestSize = level - 1;
                undoInserts(psc, va, level);
                return level - 1;
            }
            int child = childOf(e);
            psc[level].setFront(va >>> shiftOfLevel(level), child);
            id = child;
            level--;
        }
    }

    /**
     * The 2-D walk (EPT/NPT) with guest PSCs, nested TLB and nested PSCs; as {@link #walk1d}.
     *
     * <p>A paging-structure cache that misses is filled with the same key later in the walk, when
     * the walker passes that level, and nothing else uses the cache in between (a walk only
     * reads tables; EPT violations are handled after it, see {@link #EPT_VIOLATION}). So the
     * lookup inserts the key at once (one pass over the set instead of two), the walk sets the
     * entry's payload when it passes the level, and a walk that ends above a level it had
     * inserted (a fault, a large page, an EPT violation) takes that insertion back: the caches end
     * exactly as with lookup-then-fill.
     */
    private int walk2d(Tlbs t, long gva, boolean write) {
        RadixTable g = cur.guest;
        AssocCache[] psc = t.psc;
        int levels = g.levels;
        long epoch = t.epoch;
        long start = pscLookup(psc, levels, gva, tag);
        // a hit gives the next table's host address: no nested translation for it
        boolean known = start >= 0;
        int level = known ? (int) (start >>> 32) : levels;
        int id = known ? (int) start : g.root;
        walkTop = level;
        int refs = 0;
        int guestRefs = 0;
        long gpa;
        int gShift;
        while (true) {
            int slot = id * ENTRIES + index(gva, level);
            guestRefs++;
            walkEnd = level;
            if (!known) {
                // the table's own GPA is translated first (a PSC hit would have given its HPA)
                int r = nested(level == 1 ? g.lfAddr[id] : g.upAddr[id]);
                if (r < 0) {
                    // this level's pending entry goes, and so does the one above that points at
                    // this table: its host address was not found, not a combined entry to keep
                    undoInserts(psc, gva, Math.min(level + 1, levels));
                    return violated(t, epoch, refs - r - 1, guestRefs);
                }
                refs += r;
            }
            if (level == 1) {
                leafHint[(int) (gva >>> 21) & LEAF_HINT_MASK] = id + 1;
                refs++;
                int e = g.lf[slot];
                if (e == 0) {
                    lastRefs = refs;
                    lastGuestRefs = guestRefs;
                    checkUndisturbed(t, epoch);
                    return -1;
                }
                int ad = e | LA | (write ? LD : 0);
                if (ad != e) {
                    // only when a bit changes: a clean cache line needs no write-back
                    g.lf[slot] = ad;
                }
                gpa = RadixTable.leafFrameAddress(e) | (gva & 0xFFF);
                gShift = 12;
                break;
            }
            refs++;
            long e = g.up[slot];
            if (e == 0) {
                lastRefs = refs;
                lastGuestRefs = guestRefs;
                undoInserts(psc, gva, level);
                checkUndisturbed(t, epoch);
                return -1;
            }
            if ((e & PS) != 0) {
                g.up[slot] = e | A | (write ? D : 0);
                gShift = shiftOfLevel(level);
                gpa = (e & ADDR_MASK) | (gva & ((1L << gShift) - 1));
                undoInserts(psc, gva, level);
                break;
            }
            int child = childOf(e);
            psc[level].setFront(gva >>> shiftOfLevel(level), child);
            id = child;
            level--;
            known = false;
        }
        int r = nested(gpa);
        if (r < 0) {
            return violated(t, epoch, refs - r - 1, guestRefs);
        }
        refs += r;
        checkUndisturbed(t, epoch);
        lastRefs = refs;
        lastGuestRefs = guestRefs;
        lastGuestSize = (gShift - 12) / 9;
        int shift = Math.min(gShift, lastNestedShift);
        return (shift - 12) / 9;
    }

    /** A walk that ended in an EPT violation after {@code refs} references: see {@link #EPT_VIOLATION}. */
    private int violated(Tlbs t, long epoch, int refs, int guestRefs) {
        lastRefs = refs;
        lastGuestRefs = guestRefs;
        checkUndisturbed(t, epoch);
        return EPT_VIOLATION;
    }

    /**
     * What a walk returns when a nested entry was missing: an EPT violation is a VM exit, the
     * guest's access is abandoned (its walk's references made, its pending cache fills taken back)
     * and executed again once KVM has installed the entry (SDM vol. 3C 28.3.3: EPT violations are
     * fault-like). The GPA is in {@link #violationGpa}.
     */
    static final int EPT_VIOLATION = -2;
    private long violationGpa;
    /** The guest level the last walk started at (after its PSC lookups) and the level it ended at. */
    private int walkTop;
    private int walkEnd;
    /** The start level of an access's first walk when EPT violations made it walk again, else 0. */
    private int firstTop;

    /**
     * A walk's paging-structure cache lookups, lowest level first: the first hit gives the level
     * to start at and its table, {@code (level << 32) | table id}; -1 if none hits. Every cache
     * that misses on the way gets the key inserted (see {@link #walk2d}).
     */
    private static long pscLookup(AssocCache[] caches, int levels, long addr, int tag) {
        for (int l = 2; l <= levels; l++) {
            long p = addr >>> shiftOfLevel(l);
            long v = caches[l].getOrInsert(p, Tlbs.key(p, 0, tag));
            if (v != AssocCache.MISS) {
                return ((long) (l - 1) << 32) | v;
            }
        }
        return -1;
    }

    /** Takes back the insertions a walk that stopped at {@code level} made in caches 2..level. */
    private static void undoInserts(AssocCache[] caches, long addr, int level) {
        for (int l = 2; l <= level; l++) {
            caches[l].undoInsert(addr >>> shiftOfLevel(l));
        }
    }

    /** The fused lookups above rely on no flush during a walk; fail loudly if one ever happens. */
    private static void checkUndisturbed(Tlbs t, long epoch) {
        if (t.epoch != epoch) {
            throw new IllegalStateException("the translation caches were flushed during a page walk");
        }
    }

    /**
     * Nested references to translate {@code gpa}, or -(references + 1) when an entry is missing
     * (an EPT violation: the GPA is in {@link #violationGpa}, and every pending insertion of this
     * translation has been taken back). The nested TLB and nested PSCs insert on a miss as the
     * guest PSCs do in {@link #walk2d}.
     */
    private int nested(long gpa) {
        // small enough for the JIT to inline at the walk's call sites; the nested walk is not.
        // Entries are as large as the nested leaf (SDM vol. 3C 28.3.1: guest-physical mappings
        // are per page of the EPT leaf's size), so a 2 MiB-backed range needs one entry.
        Tlbs t = cpu.tlbs;
        AssocCache ntlb = t.ntlb;
        if (t.ntlbSizes <= 1) {
            // only 4 KiB entries so far: look up and fill in one pass
            long gp = gpa >>> 12;
            long v = ntlb.getOrInsert(gp, Tlbs.key(gp, 0, eptp));
            if (v != AssocCache.MISS) {
                lastNestedShift = 12;
                return 0;
            }
            int refs = nestedWalk(gpa);
            if (refs < 0 || lastNestedShift != 12) {
                ntlb.undoInsert(gp);
                if (refs >= 0) {
                    fillNtlb(t, gpa);
                }
                return refs;
            }
            t.ntlbSizes = 1;
            return refs;
        }
        return nestedAnySize(t, gpa);
    }

    /** {@link #nested} once the nested TLB holds entries of more than one size. */
    private int nestedAnySize(Tlbs t, long gpa) {
        int sizes = t.ntlbSizes;
        for (int s = 0; s < 3; s++) {
            if ((sizes & (1 << s)) != 0) {
                long p = gpa >>> Tlbs.shiftOfSize(s);
                if (t.ntlb.get(p, Tlbs.key(p, s, eptp)) != AssocCache.MISS) {
                    lastNestedShift = Tlbs.shiftOfSize(s);
                    return 0;
                }
            }
        }
        int refs = nestedWalk(gpa);
        if (refs >= 0) {
            fillNtlb(t, gpa);
        }
        return refs;
    }

    /** A nested TLB entry for the leaf the nested walk just found ({@link #lastNestedShift}). */
    private void fillNtlb(Tlbs t, long gpa) {
        int s = (lastNestedShift - 12) / 9;
        long p = gpa >>> lastNestedShift;
        t.ntlb.put(p, Tlbs.key(p, s, eptp), 0);
        t.ntlbSizes |= 1 << s;
    }

    /**
     * The nested walk after a nested TLB miss: references made, the leaf's shift in
     * lastNestedShift; or, when an entry is missing, -(references made + 1), the GPA in
     * {@link #violationGpa} and the walk's pending cache fills taken back.
     */
    private int nestedWalk(long gpa) {
        RadixTable n = npt;
        AssocCache[] npsc = cpu.tlbs.npsc;
        int levels = n.levels;
        long start = pscLookup(npsc, levels, gpa, eptp);
        int level = start < 0 ? levels : (int) (start >>> 32);
        int id = start < 0 ? n.root : (int) start;
        int refs = 0;
        while (true) {
            refs++;
            if (level == 1) {
                // same answer as n.lf[slot] != 0, from a bitmap 32 times smaller (cache-resident)
                long gpn = gpa >>> 12;
                int word = (int) (gpn >>> 6);
                if (word >= nested4k.length || (nested4k[word] & (1L << gpn)) == 0) {
                    violationGpa = gpa;
                    return -(refs + 1);
                }
                lastNestedShift = 12;
                return refs;
            }
            long e = n.up[id * ENTRIES + index(gpa, level)];
            if (e == 0) {
                undoInserts(npsc, gpa, level);
                violationGpa = gpa;
                return -(refs + 1);
            }
            if ((e & PS) != 0) {
                undoInserts(npsc, gpa, level);
                lastNestedShift = shiftOfLevel(level);
                return refs;
            }
            int child = childOf(e);
            npsc[level].setFront(gpa >>> shiftOfLevel(level), child);
            id = child;
            level--;
        }
    }

    // ---- faults and exits -----------------------------------------------------------------

    private void exit(long extraCycles) {
        vmExits++;
        if (!cm.vpid()) {
            // without VPID the exit and the entry after it flush the VM's linear and combined
            // mappings (SDM vol. 3C 28.3.3.1); a native run has no exits: its price goes its own
            // way. An exit means the VM was running: if another was current, that is a switch.
            if (cpu == null) {
                // not on a core yet (set-up before the first run): nothing cached to flush
            } else if (cpu.current != active) {
                enter();
            } else {
                unmirror();
                cpu.tlbs.flushLinear(tag);
            }
        }
        long c = cm.vm_exit_cycles() + extraCycles;
        exitCycles += c;
    }

    private void guestFault(long gva, boolean write) {
        guestFaults++;
        if (!mirror && priceNative && !inNativePrice) {
            nativeFaultWalk(gva, write);
        }
        if (handler == null) {
            throw new IllegalStateException(String.format("guest page fault at 0x%x and no guest fault handler", gva));
        }
        handler.onGuestFault(this, cur.id, gva, write);
        long mapped = cur.guest.lookup(gva);
        if (mapped == NOT_MAPPED) {
            throw new IllegalStateException(String.format("the guest fault handler did not map 0x%x", gva));
        }
        // a guest THP fault zeroes the whole huge page (clear_huge_page())
        guestFaultExtraPages += (1L << (shiftOfLevel(RadixTable.leafLevel(mapped)) - 12)) - 1;
    }

    /**
     * An EPT violation at {@code gpa}. A read of anonymous memory never written maps the zero page
     * read-only (see {@link #installNested}); a write faults the page in.
     */
    private void eptViolation(long gpa, boolean write) {
        eptViolations++;
        exit(cm.ept_violation_cycles());
        hostFault(installNested(gpa, write));
        if (zeroFaulted) {
            // do_anonymous_page() or do_huge_pmd_anonymous_page() mapping the zero page: a host
            // fault with nothing to allocate or zero
            hostFaults++;
        }
    }

    /**
     * A write to a page whose nested leaf or spte maps the zero page read-only: an EPT violation
     * (or, under shadow paging, a page fault) whose handler faults the page in for writing (GUP
     * with FOLL_WRITE: wp_page_copy(), or do_huge_zero_wp_pmd() allocating a THP for the huge zero
     * page), which the MMU notifier follows by zapping the read-only entry and flushing; the
     * handler then maps the new page writable, and the access goes on. Taken before the access
     * looks the TLBs up, as a TLB entry filled by a read carries no write permission; the walk
     * that would find the read-only leaf is not counted (the access walks again afterwards).
     */
    private void writeProtectFault(long gva) {
        Space sp = cur;
        if (sp == null || paging == Paging.NATIVE) {
            return;
        }
        long gl = sp.guest.lookup(gva);
        if (gl == NOT_MAPPED) {
            return;
        }
        long gpa = RadixTable.resolve(gl, gva);
        if (!host.zeroMapped(gpa)) {
            return;
        }
        if (paging == Paging.SHADOW) {
            if (sp.shadow.table.lookup(gva) == NOT_MAPPED) {
                return; // the walk's shadow fault maps it for the write
            }
            shadowFaults++;
            exit(cm.shadow_fault_cycles());
            hostFault(host.faultIn(gpa & ~0xFFFL));
            // a shadow fault like any other: recycling at the shadow page limit first
            makeShadowPagesAvailable();
            fillShadow(sp.shadow, gva, true);
            return;
        }
        if (npt.lookup(gpa) == NOT_MAPPED) {
            return; // the walk's EPT violation faults it in for the write
        }
        eptViolations++;
        exit(cm.ept_violation_cycles());
        hostFault(installNested(gpa, true));
    }

    /** Whether a write to {@code gpa} would take a write-protection fault (it maps the zero page). */
    public boolean writeFaults(long gpa) {
        return zeroSeen && host.zeroMapped(gpa);
    }

    /**
     * The host's share of an EPT violation or shadow fault that had to fault the page in
     * (do_anonymous_page(), do_huge_pmd_anonymous_page() or hugetlb_no_page()): its fixed part
     * and the zeroing of every 4 KiB of it. Nothing when the host page was present.
     */
    private void hostFault(long zeroedBytes) {
        if (zeroedBytes > 0) {
            hostFaults++;
            hostZeroedPages += zeroedBytes >>> 12;
        }
    }

    /**
     * KVM's EPT violation handler: the largest nested leaf the host backing, the memslot and
     * alignment allow.
     * Returns the bytes the host zeroed faulting the page in (0 if it was present).
     *
     * <p>A read ({@code write} false) of anonymous memory never written faults it in without
     * FOLL_WRITE (hva_to_pfn_slow()): the host maps the zero page, or the huge zero page in a
     * THP range, and KVM maps it read-only, as large as the host mapping (its attempt to get the
     * page writable, get_user_page_fast_only(FOLL_WRITE), fails for the zero page). Sets
     * {@link #zeroFaulted} when that took a host fault (the zero mapping was new).
     */
    private long installNested(long gpa, boolean write) {
        zeroFaulted = false;
        if (!write) {
            boolean was = host.zeroMapped(gpa);
            int zeroShift = host.mapZero(gpa & ~0xFFFL);
            if (zeroShift > 0) {
                zeroSeen = true;
                zeroFaulted = !was;
                mapNested(gpa, Math.min(zeroShift, host.maxLeafShift(gpa)), false);
                return 0;
            }
        }
        // KVM faults the host page in first (__kvm_faultin_pfn(): a THP may come with it), then
        // maps as large as the host's page table now allows (kvm_mmu_max_mapping_level())
        long zeroed = host.faultIn(gpa & ~0xFFFL);
        mapNested(gpa, host.maxLeafShift(gpa), true);
        return zeroed;
    }

    /**
     * The largest nested leaf up to {@code shift} that alignment and the table allow for
     * {@code gpa} (the caller caps {@code shift} by the host page and the memslot).
     */
    private void mapNested(long gpa, int shift, boolean writable) {
        while (true) {
            long mask = (1L << shift) - 1;
            long base = gpa & ~mask;
            long hpa = host.hpa(base);
            if ((hpa & mask) == 0) {
                try {
                    if (npt.map(base, hpa, shift, writable, null)) {
                        // a huge leaf replaced an emptied table (after a THP collapse): walk
                        // caches may still point at that table, and KVM flushes after freeing it
                        flushAfterZap();
                    }
                    if (shift > 12) {
                        markLarge(base, 1L << shift, true);
                    }
                    if (shift == 12) {
                        long gpn = base >>> 12;
                        int word = (int) (gpn >>> 6);
                        if (word >= nested4k.length) {
                            nested4k = Arrays.copyOf(nested4k, Math.max(word + 1, nested4k.length * 2));
                        }
                        nested4k[word] |= 1L << gpn;
                    }
                    return;
                } catch (IllegalStateException overlapping) {
                    // smaller nested pages already map part of this range: fall back to smaller
                }
            }
            if (shift == 12) {
                throw new IllegalStateException(String.format("cannot map gpa 0x%x in the nested table", gpa));
            }
            shift = shift == 30 ? 21 : 12;
        }
    }

    /**
     * A shadow-table miss: KVM's page-fault handler walks the guest tables in software; if the
     * guest maps the page it installs shadow entries (write-protecting the guest tables it shadows),
     * otherwise it injects the fault into the guest.
     */
    private void shadowFault(long gva, boolean write) {
        shadowFaults++;
        exit(cm.shadow_fault_cycles());
        makeShadowPagesAvailable();
        boolean mapped = fillShadow(cur.shadow, gva, write);
        hostFault(cur.shadow.faultedInBytes);
        if (cur.shadow.zeroFaulted) {
            hostFaults++;
        }
        if (!mapped) {
            guestFault(gva, write);
        }
    }

    /**
     * KVM's shadow fill for {@code gva} (see {@link ShadowTable#fill}); a large spte that replaced
     * a table flushes this VM's TLBs. False if the guest maps nothing there.
     */
    private boolean fillShadow(ShadowTable sh, long gva, boolean write) {
        boolean mapped = sh.fill(gva, write);
        zeroSeen |= sh.mappedZero;
        if (sh.droppedOnFill) {
            sh.droppedOnFill = false;
            flushRemote();
        }
        return mapped;
    }

    /** KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO and KVM_MIN_ALLOC_MMU_PAGES (arch/x86/include/asm/kvm_host.h). */
    static final long MEMSLOT_PAGES_TO_MMU_PAGES_RATIO = 50;
    static final long MIN_ALLOC_MMU_PAGES = 64;
    /** KVM_MIN_FREE_MMU_PAGES and KVM_REFILL_PAGES: when to recycle, and how far. */
    static final long MIN_FREE_MMU_PAGES = 5;
    static final long REFILL_PAGES = 25;

    /**
     * KVM's default limit on a VM's shadow pages for {@code ramBytes} of guest RAM in memslots
     * (kvm_arch_commit_memory_region(): n_max_mmu_pages = memslot pages / 50, at least 64).
     */
    public static long shadowPageLimit(long ramBytes) {
        return Math.max(MIN_ALLOC_MMU_PAGES, (ramBytes >>> 12) / MEMSLOT_PAGES_TO_MMU_PAGES_RATIO);
    }

    /** Limits the VM's shadow pages, all address spaces together (n_max_mmu_pages). */
    public void setShadowPageLimit(long pages) {
        this.maxShadowPages = pages;
    }

    /**
     * KVM's make_mmu_pages_available() at a shadow fault: when fewer than 5 pages are left under
     * the limit, kvm_mmu_zap_oldest_mmu_pages() zaps the oldest shadow pages (roots in use
     * skipped) until 25 are free, then one remote TLB flush (kvm_mmu_commit_zap_page()). A page
     * with shadow pages below it is passed over here (see {@link ShadowTable#zapIfChildless}).
     * Each zap counts in shadowZaps.
     */
    private void makeShadowPagesAvailable() {
        if (maxShadowPages == Long.MAX_VALUE) {
            return;
        }
        long used = 0;
        for (Space sp : spaces) {
            used += sp.shadow.table.tableCount();
        }
        long avail = maxShadowPages - used;
        if (avail >= MIN_FREE_MMU_PAGES) {
            return;
        }
        if (shadowPages.size() > 2 * used + 64) {
            shadowPages.retain((key, born) -> spaces.get(ShadowPageList.space(key)).shadow
                    .alive(ShadowPageList.level(key), ShadowPageList.id(key), born));
        }
        long zapped = 0;
        for (int left = shadowPages.size(); left > 0 && zapped < REFILL_PAGES - avail; left--) {
            long key = shadowPages.oldestKey();
            long born = shadowPages.oldestBirth();
            shadowPages.removeOldest();
            ShadowTable sh = spaces.get(ShadowPageList.space(key)).shadow;
            int level = ShadowPageList.level(key);
            int id = ShadowPageList.id(key);
            if (!sh.alive(level, id, born)) {
                continue;
            }
            if (sh.zapIfChildless(level, id)) {
                zapped++;
            } else {
                shadowPages.requeue(key, born);
            }
        }
        if (zapped > 0) {
            shadowZaps += zapped;
            flushRemote();
        }
    }

    /** The guest wrote an entry of one of its table pages (called by the guest RadixTable). */
    private void onGuestPteWrite(RadixTable table, int level, long tableAddress, int index) {
        long ref = shadowed.get(tableAddress >>> 12);
        if (ref == LongLongMap.ABSENT) {
            return;
        }
        int outcome = spaces.get(ShadowTable.spaceOf(ref)).shadow.guestWrite(ref, index);
        switch (outcome & ~ShadowTable.DROPPED) {
            case ShadowTable.UNSYNCED:
                // the write hit a write-protected page: a page fault exit; KVM's fault path walks
                // the guest and shadow tables before it unsyncs the page (mmu.rst, "Page faults")
                ptWriteExits++;
                unsyncs++;
                exit(cm.shadow_fault_cycles());
                break;
            case ShadowTable.EMULATED_AND_ZAPPED:
                shadowZaps++;
                // fall through
            case ShadowTable.EMULATED:
                ptWriteExits++;
                ptWriteEmulations++;
                exit(cm.pte_write_emulation_cycles());
                break;
            default:
                break;
        }
        if ((outcome & ShadowTable.DROPPED) != 0) {
            // dropped shadow entries may be cached: KVM flushes the TLBs after a zap
            flushRemote();
        }
    }

    /** For tests: every shadow table's rmap matches its sptes. */
    void checkShadowRmaps() {
        for (Space sp : spaces) {
            if (sp.shadow != null) {
                sp.shadow.checkRmap();
            }
        }
    }

    /** Sptes installed by prefetch, all address spaces. For tests. */
    long prefetchedSptes() {
        long n = 0;
        for (Space sp : spaces) {
            n += sp.shadow == null ? 0 : sp.shadow.prefetched;
        }
        return n;
    }

    RadixTable guestTable(int space) {
        return spaces.get(space).guest;
    }

    /** What the shadow tables of {@code space} map {@code gva} to (an HPA), or -1. For tests. */
    long shadowLookup(int space, long gva) {
        ShadowTable s = spaces.get(space).shadow;
        long l = s == null ? NOT_MAPPED : s.table.lookup(gva);
        return l == NOT_MAPPED ? -1L : s.hpaOf(l, gva);
    }

    // ---- queries: translate and the architectural walk -------------------------------------

    /** gva -> gpa -> hva -> hpa in {@code space}, faulting nested entries in silently; empty if unmapped. */
    public Optional<Translation> translate(int space, long gva) {
        Space sp = spaces.get(space);
        long gl = sp.guest.lookup(gva);
        if (gl == NOT_MAPPED) {
            return Optional.empty();
        }
        long gpa = RadixTable.resolve(gl, gva);
        long guestSize = 1L << shiftOfLevel(RadixTable.leafLevel(gl));
        long hpa;
        long hostSize;
        if (paging.nested()) {
            long nl = npt.lookup(gpa);
            if (nl == NOT_MAPPED) {
                installNested(gpa, false);
                nl = npt.lookup(gpa);
            }
            hpa = RadixTable.resolve(nl, gpa);
            hostSize = 1L << shiftOfLevel(RadixTable.leafLevel(nl));
        } else {
            hpa = host.hpa(gpa);
            hostSize = 1L << host.backingPageShift(gpa);
        }
        return Optional.of(new Translation(gva, gpa, ramHva + gpa, hpa, guestSize, hostSize));
    }

    /**
     * The architectural walk of {@code gva} with empty TLBs and caches: one record per memory
     * reference, in order. Missing nested (or shadow) entries are filled first, silently, as
     * the first access would; the walk stops at a non-present guest entry. Counters are untouched.
     */
    public List<WalkRef> walk(int space, long gva) {
        Space sp = spaces.get(space);
        List<WalkRef> out = new ArrayList<>();
        switch (paging) {
            case NATIVE:
                walkRecords(sp.guest, gva, WalkRef.Dimension.GUEST, out, f -> f);
                break;
            case SHADOW:
                if (sp.guest.lookup(gva) != NOT_MAPPED && sp.shadow.table.lookup(gva) == NOT_MAPPED) {
                    fillShadow(sp.shadow, gva, false);
                }
                walkRecords(sp.shadow.table, gva, WalkRef.Dimension.SHADOW, out, host::hpa);
                break;
            default:
                walk2dRecords(sp.guest, gva, out);
                break;
        }
        return out;
    }

    /**
     * The references of a 1-D walk of {@code t} for {@code va}; {@code frames} turns a leaf's
     * frame into the address the walker reaches (the host mapping, for shadow entries that record
     * their gfn).
     */
    private static void walkRecords(RadixTable t, long va, WalkRef.Dimension dim, List<WalkRef> out,
                                    LongUnaryOperator frames) {
        int id = t.root;
        for (int l = t.levels; l >= 1; l--) {
            int idx = index(va, l);
            long tableAddr = l == 1 ? t.lfAddr[id] : t.upAddr[id];
            if (l == 1) {
                int e = t.lf[id * ENTRIES + idx];
                long page = e == 0 ? -1 : frames.applyAsLong(RadixTable.leafFrameAddress(e));
                out.add(new WalkRef(out.size() + 1, dim, l, tableAddr, idx, tableAddr + 8L * idx, va, page, e == 0 ? 0 : 4096));
                return;
            }
            long e = t.up[id * ENTRIES + idx];
            if (e == 0) {
                out.add(new WalkRef(out.size() + 1, dim, l, tableAddr, idx, tableAddr + 8L * idx, va, -1, 0));
                return;
            }
            if ((e & PS) != 0) {
                out.add(new WalkRef(out.size() + 1, dim, l, tableAddr, idx, tableAddr + 8L * idx, va,
                        frames.applyAsLong(e & ADDR_MASK), 1L << shiftOfLevel(l)));
                return;
            }
            int child = childOf(e);
            out.add(new WalkRef(out.size() + 1, dim, l, tableAddr, idx, tableAddr + 8L * idx, va,
                    l - 1 == 1 ? t.lfAddr[child] : t.upAddr[child], 0));
            id = child;
        }
    }

    private void walk2dRecords(RadixTable g, long gva, List<WalkRef> out) {
        int id = g.root;
        for (int l = g.levels; l >= 1; l--) {
            int idx = index(gva, l);
            long tableGpa = l == 1 ? g.lfAddr[id] : g.upAddr[id];
            nestedRecords(tableGpa, out);
            long gpa;
            if (l == 1) {
                int e = g.lf[id * ENTRIES + idx];
                out.add(new WalkRef(out.size() + 1, WalkRef.Dimension.GUEST, l, tableGpa, idx, tableGpa + 8L * idx, gva,
                        e == 0 ? -1 : RadixTable.leafFrameAddress(e), e == 0 ? 0 : 4096));
                if (e == 0) {
                    return;
                }
                gpa = RadixTable.leafFrameAddress(e) | (gva & 0xFFF);
            } else {
                long e = g.up[id * ENTRIES + idx];
                boolean table = e != 0 && (e & PS) == 0;
                long next = e == 0 ? -1 : table ? (l - 1 == 1 ? g.lfAddr[childOf(e)] : g.upAddr[childOf(e)]) : e & ADDR_MASK;
                out.add(new WalkRef(out.size() + 1, WalkRef.Dimension.GUEST, l, tableGpa, idx, tableGpa + 8L * idx, gva,
                        next, e == 0 || table ? 0 : 1L << shiftOfLevel(l)));
                if (e == 0) {
                    return;
                }
                if (table) {
                    id = childOf(e);
                    continue;
                }
                gpa = (e & ADDR_MASK) | (gva & ((1L << shiftOfLevel(l)) - 1));
            }
            nestedRecords(gpa, out);
            return;
        }
    }

    private void nestedRecords(long gpa, List<WalkRef> out) {
        if (npt.lookup(gpa) == NOT_MAPPED) {
            installNested(gpa, false);
        }
        walkRecords(npt, gpa, WalkRef.Dimension.NESTED, out, f -> f);
    }

    // ---- accounting -----------------------------------------------------------------------

    /** The VM's counters: the sums over its vCPUs. */
    public MmuCounters counters() {
        save();
        long[] sum = new long[COUNTERS];
        for (Vcpu v : vcpus) {
            for (int i = 0; i < COUNTERS; i++) {
                sum[i] += v.c[i];
            }
        }
        return countersOf(sum);
    }

    /** One vCPU's counters. */
    public MmuCounters counters(int vcpu) {
        save();
        return countersOf(vcpus[vcpu].c);
    }

    private MmuCounters countersOf(long[] c) {
        long accesses = c[0];
        long faults = c[5] * cm.guest_fault_cycles() + c[6] * cm.clear_page_cycles();
        // the host's faults are virtualization's cost: a native process's faults are the guest's
        long hostFaultCycles = c[21] * cm.host_fault_cycles() + c[22] * cm.clear_page_cycles();
        long cycles = accesses * tlbHit + c[1] * stlbHit + c[4] * walkRef + c[9] + faults + hostFaultCycles;
        long nativeCycles = priceNative ? accesses * tlbHit + c[10] * stlbHit + c[11] * walkRef + faults : 0;
        return new MmuCounters(paging.word(), accesses, c[1], c[2], c[3], c[4],
                c[5], c[7], c[8], c[9], faults, cycles, nativeCycles, c[11],
                c[12], c[13], c[14], c[15], c[16], c[17], c[18], c[19], c[20], c[21], hostFaultCycles);
    }

    /** What one vCPU did beyond its MMU counters: migrations, flushes and shootdowns. */
    public VcpuStats vcpuStats(int vcpu) {
        Vcpu v = vcpus[vcpu];
        Cpu c = v == active ? cpu : v.core;
        return new VcpuStats(vcpu, c == null ? -1 : c.index(), v.migrations, v.remoteFlushes, v.flushIpis,
                v.shootdowns, v.shootdownIpis, v.shootdownsReceived, v.shootdownWaitCycles);
    }

    public void resetCounters() {
        accesses = l1Misses = stlbMisses = walks = walkRefs = 0;
        guestFaults = guestFaultExtraPages = eptViolations = vmExits = exitCycles = nativeL1Misses = nativeWalkRefs = 0;
        shadowFaults = ptWriteExits = ptWriteEmulations = cr3Exits = invlpgExits = 0;
        unsyncs = resyncedPages = shadowZaps = switchFlushes = hostFaults = hostZeroedPages = 0;
        for (Vcpu v : vcpus) {
            if (v != active) {
                Arrays.fill(v.c, 0);
            }
            v.migrations = v.remoteFlushes = v.flushIpis = v.shootdowns = v.shootdownIpis = 0;
            v.shootdownsReceived = v.shootdownWaitCycles = 0;
        }
    }

    /** Guest table footprint of one address space, per level (top level first). */
    public List<TableStats> guestTableStats(int space) {
        return spaces.get(space).guest.stats("guest");
    }

    /** Nested (EPT/NPT) table footprint per level; empty unless nested paging. */
    public List<TableStats> nestedTableStats() {
        return npt == null ? List.of() : npt.stats("nested");
    }

    /** Shadow table footprint per level, summed over address spaces; empty unless shadow paging. */
    public List<TableStats> shadowTableStats() {
        if (paging != Paging.SHADOW) {
            return List.of();
        }
        long[] tables = new long[6];
        long[] entries = new long[6];
        for (Space sp : spaces) {
            for (TableStats ts : sp.shadow.table.stats("shadow")) {
                tables[ts.level()] += ts.tables();
                entries[ts.level()] += ts.entries();
            }
        }
        List<TableStats> out = new ArrayList<>();
        for (int l = guestLevels; l >= 1; l--) {
            out.add(new TableStats("shadow", l, tables[l], entries[l], tables[l] * 4096L));
        }
        return out;
    }

    /** Bytes of guest table pages (the guest's PageTables), all address spaces. */
    public long guestTableBytes() {
        long b = 0;
        for (Space sp : spaces) {
            b += sp.guest.bytes();
        }
        return b;
    }

    /** Bytes of nested and shadow table pages (the host's SecPageTables). */
    public long secondaryTableBytes() {
        long b = npt == null ? 0 : npt.bytes();
        for (Space sp : spaces) {
            if (sp.shadow != null) {
                b += sp.shadow.table.bytes();
            }
        }
        return b;
    }

    /** Java heap held by all tables of this VM (for the memory budget). */
    long heapBytes() {
        long b = 4L * leafHint.length + (npt == null ? 0 : npt.heapBytes());
        for (Space sp : spaces) {
            b += sp.guest.heapBytes();
            if (sp.shadow != null) {
                b += sp.shadow.heapBytes();
            }
        }
        return b + shadowPages.heapBytes();
    }
}
