package org.kvmsim.sim.mmu;

import org.kvmsim.model.Paging;
import org.kvmsim.model.CpuModel;

/** A VM with one address space over a linear host, for tests. */
final class Rig {

    static final long GVA = 0x7f00_0000_0000L;
    static final long TABLES_GPA = 0x1000_0000L;
    static final long DATA_GPA = 0x4000_0000L;

    final Cpu cpu;
    final LinearHostBacking host;
    final Mmu mmu;
    final int space;
    private long nextTable = TABLES_GPA;
    private long nextData = DATA_GPA;

    Rig(Paging paging, CpuModel model, int guestLevels, int nestedLevels, int hostShift) {
        this(paging, new Cpu(model), guestLevels, nestedLevels, hostShift);
    }

    Rig(Paging paging, Cpu cpu, int guestLevels, int nestedLevels, int hostShift) {
        this.cpu = cpu;
        this.host = new LinearHostBacking(1L << 34, hostShift, 1L << 38);
        this.mmu = new Mmu(paging, cpu, guestLevels, nestedLevels, host, 0x7f80_0000_0000L);
        this.space = mmu.newAddressSpace(this::allocTable);
        mmu.setGuestFaultHandler((m, sp, gva, write) -> m.map(sp, gva & ~0xFFFL, allocData(4096), 4096, true));
    }

    Rig(Paging paging) {
        this(paging, CpuModel.skylake(), 4, 4, 12);
    }

    long allocTable() {
        long a = nextTable;
        nextTable += 4096;
        return a;
    }

    long allocData(long size) {
        nextData = (nextData + size - 1) & -size;
        long a = nextData;
        nextData += size;
        return a;
    }

    void map(long gva, long size) {
        mmu.map(space, gva, allocData(size), size, true);
    }

    /** A model with every paging-structure cache and the nested TLB disabled. */
    static CpuModel noWalkCaches(CpuModel m) {
        for (String k : new String[] {"psc_pml5_entries", "psc_pml4_entries", "psc_pdpt_entries", "psc_pde_entries",
                "ntlb_entries", "npsc_pml4_entries", "npsc_pdpt_entries", "npsc_pde_entries"}) {
            m = m.with(k, 0);
        }
        return m;
    }

    /** No TLBs at all either: every access walks. */
    static CpuModel noCaches(CpuModel m) {
        m = noWalkCaches(m);
        for (String k : new String[] {"l1_4k_entries", "l1_2m_entries", "l1_1g_entries", "stlb_entries", "stlb_1g_entries"}) {
            m = m.with(k, 0);
        }
        return m;
    }
}
