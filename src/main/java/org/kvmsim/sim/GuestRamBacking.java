package org.kvmsim.sim;

import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mmu.HostBacking;

/**
 * The host side of a VM's guest RAM, as its MMU sees it: the frame behind a guest-physical
 * address (faulting it in, as KVM's __kvm_faultin_pfn() does through GUP), the size of the host
 * page behind it, and frames for EPT/NPT or shadow table pages (SecPageTables).
 */
final class GuestRamBacking implements HostBacking {
    private final Engine e;
    private final VmState v;
    private final HostState h;

    GuestRamBacking(Engine e, VmState v, HostState h) {
        this.e = e;
        this.v = v;
        this.h = h;
    }

    @Override
    public long hpa(long gpa) {
        long page = gpa >>> 12;
        e.qemu.touch(v, page);
        if (!v.running()) throw new Engine.VmGone();
        long frame;
        if (v.huge != null) {
            long per = v.huge.pool().pageBytes() >>> 12;
            frame = v.huge.frameOf(page / per) + page % per;
        } else {
            frame = v.anon.frameOf(page);
        }
        return (frame << 12) | (gpa & 0xfff);
    }

    @Override
    public int backingPageShift(long gpa) {
        if (v.huge != null) return Long.numberOfTrailingZeros(v.huge.pool().pageBytes());
        return v.anon != null && v.anon.isHuge(gpa >>> 12) ? 21 : 12;
    }

    @Override
    public long allocTablePage() {
        int f = h.mem.alloc(0, v.decl.node());
        if (f < 0) throw new Engine.SimError("host '" + h.decl.name() + "' has no free page for an EPT/shadow table");
        h.mem.add(HostMemory.Counter.SEC_PAGE_TABLES, 1);
        v.tableFrames.add(f);
        return (long) f << 12;
    }

    @Override
    public void freeTablePage(long hpa) {
        h.mem.free((int) (hpa >>> 12), 0);
        h.mem.add(HostMemory.Counter.SEC_PAGE_TABLES, -1);
        v.tableFrames.remove((int) (hpa >>> 12));
    }
}
