package org.kvmsim.sim.mmu;

import org.kvmsim.model.CpuModel;

/**
 * The translation caches of one CPU, as a {@link CpuModel} lays them out: L1 DTLBs per page size
 * (or one unified array), the STLB (4K+2M unified, 1G separate), paging-structure caches for the
 * guest/native dimension (PML5E, PML4E, PDPTE, PDE) and, for two-dimensional walks, a nested TLB
 * (GPA page -> HPA) and nested paging-structure caches.
 *
 * <p>Keys are {@code page << 18 | sizeCode << 16 | tag}. For linear and combined entries (L1,
 * STLB, guest PSCs) the tag is {@code vpid << PCID_BITS | pcid}: the VPID/ASID (0 when the CPU
 * has none, and for native), so different VMs' translations coexist when tagged and are flushed
 * by every VM entry and exit when not (SDM vol. 3C 28.3.3.1); and the guest's PCID slot (0 when
 * it uses none), so its address spaces' translations coexist too (SDM vol. 3A 4.10.1). Whatever
 * flushes a vCPU's linear entries ({@link #flushLinear}) takes all its PCIDs; a CR3 load takes
 * one ({@link #flushPcid}). Guest-physical entries (nested TLB and PSCs) are tagged by the
 * VM's EPTP, whatever VPID says: VM transitions leave them alone. A paging-structure cache at level L is keyed by the address bits
 * above level L's shift and holds the id of the table the cached entry points to, so a hit lets
 * the walker start below level L.
 *
 * <p>Differences from hardware: page sizes in use are tracked ({@link #sizesInUse}) so lookups
 * skip page sizes with no entries; hardware probes them in parallel, so this changes speed only.
 */
final class Tlbs {

    static final int TAG_BITS = 16;
    /** The low bits of a linear tag that hold the guest's PCID slot (Linux uses 6 of the 8). */
    static final int PCID_BITS = 3;
    /** The bits of a linear tag that name the vCPU (its VPID), above the PCID slot. */
    static final long VCPU_MASK = ((1L << TAG_BITS) - 1) & ~((1L << PCID_BITS) - 1);

    final CpuModel model;
    final AssocCache[] l1 = new AssocCache[3];
    final AssocCache[] l2 = new AssocCache[3];
    /** Guest/native paging-structure caches by the level of the cached entry (2 = PDE .. 5 = PML5E). */
    final AssocCache[] psc = new AssocCache[6];
    final AssocCache ntlb;
    /**
     * Page sizes the nested TLB may hold entries of (bit 0 4 KiB, 1 2 MiB, 2 1 GiB), as
     * {@link #sizesInUse}; only ever grows (a hint that lets lookups skip sizes).
     */
    int ntlbSizes;
    final AssocCache[] npsc = new AssocCache[6];
    int sizesInUse;
    /** Counts every invalidation and flush, so a page walk can check that none happened during it. */
    long epoch;

    Tlbs(CpuModel m) {
        this.model = m;
        if (m.l1_unified()) {
            AssocCache u = new AssocCache(m.l1_4k_entries(), m.l1_4k_ways(), false);
            l1[0] = u;
            l1[1] = u;
            l1[2] = u;
        } else {
            l1[0] = new AssocCache(m.l1_4k_entries(), m.l1_4k_ways(), false);
            l1[1] = new AssocCache(m.l1_2m_entries(), m.l1_2m_ways(), false);
            l1[2] = new AssocCache(m.l1_1g_entries(), m.l1_1g_ways(), false);
        }
        l2[0] = new AssocCache(m.stlb_entries(), m.stlb_ways(), false);
        l2[1] = m.stlb_holds_2m() ? l2[0] : new AssocCache(0, 1, false);
        l2[2] = new AssocCache(m.stlb_1g_entries(), m.stlb_1g_ways(), false);
        psc[2] = new AssocCache(m.psc_pde_entries(), Math.min(m.psc_ways(), Math.max(1, m.psc_pde_entries())));
        psc[3] = fa(m.psc_pdpt_entries());
        psc[4] = fa(m.psc_pml4_entries());
        psc[5] = fa(m.psc_pml5_entries());
        // tag-only: an entry's size is in its key
        ntlb = new AssocCache(m.ntlb_entries(), m.ntlb_ways(), false);
        npsc[2] = new AssocCache(m.npsc_pde_entries(), Math.min(m.psc_ways(), Math.max(1, m.npsc_pde_entries())));
        npsc[3] = fa(m.npsc_pdpt_entries());
        npsc[4] = fa(m.npsc_pml4_entries());
        npsc[5] = fa(m.npsc_pml5_entries());
    }

    /** Fully associative. */
    private static AssocCache fa(int entries) {
        return new AssocCache(entries, Math.max(1, entries));
    }

    static long key(long page, int sizeCode, int tag) {
        return (page << 18) | ((long) sizeCode << 16) | tag;
    }

    static int shiftOfSize(int sizeCode) {
        return 12 + 9 * sizeCode;
    }

    /** L1 DTLB lookup over the page sizes in use; true on a hit. */
    boolean l1Hit(long va, int tag) {
        int mask = sizesInUse;
        if ((mask & 1) != 0) {
            long p = va >>> 12;
            if (l1[0].probe(p, key(p, 0, tag))) {
                return true;
            }
        }
        if ((mask & 2) != 0) {
            long p = va >>> 21;
            if (l1[1].probe(p, key(p, 1, tag))) {
                return true;
            }
        }
        if ((mask & 4) != 0) {
            long p = va >>> 30;
            return l1[2].probe(p, key(p, 2, tag));
        }
        return false;
    }

    /** STLB lookup; the size code of the hit (and refills the L1), or -1 on a miss. */
    int l2Hit(long va, int tag) {
        int mask = sizesInUse;
        for (int s = 0; s < 3; s++) {
            if ((mask & (1 << s)) != 0) {
                long p = va >>> shiftOfSize(s);
                long k = key(p, s, tag);
                if (l2[s].probe(p, k)) {
                    l1[s].put(p, k, 0);
                    return s;
                }
            }
        }
        return -1;
    }

    /** Installs a translation of the given size after a walk (STLB and L1). */
    void fill(long va, int sizeCode, int tag) {
        long p = va >>> shiftOfSize(sizeCode);
        long k = key(p, sizeCode, tag);
        l2[sizeCode].put(p, k, 0);
        l1[sizeCode].put(p, k, 0);
        sizesInUse |= 1 << sizeCode;
    }

    /**
     * INVLPG: drops the translations of {@code va} for {@code tag} (the current PCID) and that
     * tag's PSC entries.
     */
    void invalidatePage(long va, int tag) {
        epoch++;
        for (int s = 0; s < 3; s++) {
            long p = va >>> shiftOfSize(s);
            long k = key(p, s, tag);
            l1[s].invalidate(p, k);
            l2[s].invalidate(p, k);
        }
        for (int l = 2; l <= 5; l++) {
            psc[l].flushTag(tag, TAG_BITS);
        }
    }

    /**
     * INVLPG as KVM emulates it under shadow paging (INVVPID individual-address): the
     * translations of {@code va} for every PCID of {@code tag}'s vCPU, and its PSC entries.
     */
    void invalidatePageEveryPcid(long va, int tag) {
        epoch++;
        long vcpu = tag & VCPU_MASK;
        for (int s = 0; s < 3; s++) {
            long p = va >>> shiftOfSize(s);
            for (int pcid = 0; pcid < 1 << PCID_BITS; pcid++) {
                long k = key(p, s, (int) (vcpu | pcid));
                l1[s].invalidate(p, k);
                l2[s].invalidate(p, k);
            }
        }
        for (int l = 2; l <= 5; l++) {
            psc[l].flushMasked(vcpu, VCPU_MASK);
        }
    }

    /**
     * All linear translations and guest PSC entries of {@code tag}'s vCPU, every PCID: a CR3 load
     * without PCIDs, a flush of the VPID (INVVPID single-context, a remote flush, a migration),
     * or an exit without VPID (tag 0).
     */
    void flushLinear(int tag) {
        flushWhere(tag & VCPU_MASK, VCPU_MASK);
    }

    /** A CR3 load without NOFLUSH while the guest uses PCIDs: that PCID's entries of the vCPU only. */
    void flushPcid(int tag) {
        flushWhere(tag, (1L << TAG_BITS) - 1);
    }

    private void flushWhere(long tag, long mask) {
        epoch++;
        for (AssocCache c : l1) {
            c.flushMasked(tag, mask);
        }
        for (AssocCache c : l2) {
            c.flushMasked(tag, mask);
        }
        for (int l = 2; l <= 5; l++) {
            psc[l].flushMasked(tag, mask);
        }
        if (l1[0].live() == 0 && l1[1].live() == 0 && l1[2].live() == 0
                && l2[0].live() == 0 && l2[1].live() == 0 && l2[2].live() == 0) {
            sizesInUse = 0;
        }
    }

    /**
     * Makes this (a native model's caches, VPID 0) a copy of {@code other}'s linear entries of
     * {@code tag}'s vCPU, each keeping its PCID: L1, STLB and PSCs, way order kept, so LRU
     * continues exactly.
     */
    void copyLinearFrom(Tlbs other, int tag) {
        epoch++;
        long vcpu = tag & VCPU_MASK;
        for (int s = 0; s < 3; s++) {
            if (l1[s] != l1[(s + 2) % 3] || s == 0) {
                l1[s].copyMasked(other.l1[s], vcpu, VCPU_MASK);
            }
            if (s != 1 || l2[1] != l2[0]) {
                l2[s].copyMasked(other.l2[s], vcpu, VCPU_MASK);
            }
        }
        for (int l = 2; l <= 5; l++) {
            psc[l].copyMasked(other.psc[l], vcpu, VCPU_MASK);
        }
        sizesInUse = other.sizesInUse;
    }

    /** Everything, every tag (INVEPT or INVVPID all-context). */
    void flushAll() {
        epoch++;
        for (AssocCache c : new AssocCache[] {l1[0], l1[1], l1[2], l2[0], l2[1], l2[2], ntlb,
                psc[2], psc[3], psc[4], psc[5], npsc[2], npsc[3], npsc[4], npsc[5]}) {
            c.flush();
        }
        sizesInUse = 0;
        ntlbSizes = 0;
    }

    /** Flushes the nested structures of one tag (nested entries were zapped). */
    void flushNested(int tag) {
        epoch++;
        ntlb.flushTag(tag, TAG_BITS);
        for (int l = 2; l <= 5; l++) {
            npsc[l].flushTag(tag, TAG_BITS);
        }
    }
}
