package org.kvmsim.sim;

import java.util.Arrays;
import org.kvmsim.model.Paging;
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
        long page = v.slots.ramPage(gpa >>> 12);
        if (v.anon != null && v.anon.isZeroMapped(page)) {
            // read, never written: the zero page, or the huge zero page's 4 KiB at this offset
            long frame = v.anon.isHugeZero(page) ? h.hugeZeroFrame + (page & 511) : h.zeroFrame;
            return (frame << 12) | (gpa & 0xfff);
        }
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

    /**
     * A write fault (GUP with FOLL_WRITE). Whatever made the page present before (prealloc, the
     * guest's image or contents, an earlier fault, a KSM merge) left nothing to zero, unless the
     * guest's page-fault handler faulted it in for this access ({@link #touchForGuestFault});
     * otherwise the host page the fault just took (also over the zero page).
     */
    @Override
    public long faultIn(long gpa) {
        long page = v.slots.ramPage(gpa >>> 12);
        boolean present = mapped(page);
        // a write fault: a page mapping the zero page gets one of its own (hpa() would only
        // look the zero page up)
        e.qemu.touch(v, page);
        if (!v.running()) throw new Engine.VmGone();
        return !present || paid(hostPageBase(page)) ? hostPageBytes(page) : 0;
    }

    @Override
    public int mapZero(long gpa) {
        int shift = e.qemu.readFault(v, v.slots.ramPage(gpa >>> 12));
        if (!v.running()) throw new Engine.VmGone();
        return shift;
    }

    @Override
    public boolean zeroMapped(long gpa) {
        return v.anon != null && v.anon.isZeroMapped(v.slots.ramPage(gpa >>> 12));
    }

    /**
     * The guest kernel's page-fault handler makes page {@code page} present and writes it (its
     * clear_page(), the program's first data). In KVM that write takes the EPT violation (or
     * shadow fault) that faults the host page in; here the host page comes in now, outside the
     * MMU, and the violation of the access the guest fault belongs to, which follows at once (or
     * the shadow fault of the first access to it), pays for it through {@link #faultIn}.
     */
    void touchForGuestFault(long page) {
        if (v.decl.paging() == Paging.NATIVE) {
            e.qemu.touch(v, page);
            return;
        }
        boolean present = mapped(page);
        e.qemu.touch(v, page);
        if (!present && v.running() && mapped(page)) {
            long base = hostPageBase(page);
            int word = (int) (base >>> 6);
            if (word >= owed.length) owed = Arrays.copyOf(owed, Math.max(word + 1, owed.length * 2));
            owed[word] |= 1L << base;
        }
    }

    /** Host pages faulted in by the guest's fault handler and not yet paid for: a bit per first 4 KiB page. */
    private long[] owed = new long[0];

    /**
     * A page the guest's fault handler made present but no MMU fault has paid for yet is not
     * present to KVM: there the guest's write that faults it in has not happened. Nor is a page
     * that maps the zero page (its frame is not the mapping's: {@link #mapped} is false).
     */
    @Override
    public boolean present(long gpa) {
        long page = v.slots.ramPage(gpa >>> 12);
        return v.running() && mapped(page) && !owed(hostPageBase(page));
    }

    private boolean owed(long base) {
        int word = (int) (base >>> 6);
        return word < owed.length && (owed[word] & (1L << base)) != 0;
    }

    private boolean paid(long base) {
        int word = (int) (base >>> 6);
        if (!owed(base)) return false;
        owed[word] &= ~(1L << base);
        return true;
    }

    private boolean mapped(long page) {
        if (v.huge != null) return v.huge.frameOf(page / (v.huge.pool().pageBytes() >>> 12)) >= 0;
        return v.anon.frameOf(page) >= 0;
    }

    /** The first 4 KiB page of the host page behind {@code page}. */
    private long hostPageBase(long page) {
        return page & -(hostPageBytes(page) >>> 12);
    }

    private long hostPageBytes(long page) {
        if (v.huge != null) return v.huge.pool().pageBytes();
        return v.anon.isHuge(page) ? 2L << 20 : 4096;
    }

    @Override
    public int backingPageShift(long gpa) {
        if (v.huge != null) return Long.numberOfTrailingZeros(v.huge.pool().pageBytes());
        long page = v.slots.ramPage(gpa >>> 12);
        return v.anon != null && (v.anon.isHuge(page) || v.anon.isHugeZero(page)) ? 21 : 12;
    }

    /** The host page's size, capped where it would cross the edge of a KVM memslot. */
    @Override
    public int maxLeafShift(long gpa) {
        return v.slots.maxLeafShift(gpa, backingPageShift(gpa), Qemu.RAM_HVA);
    }

    /** Where QEMU sees guest-physical address {@code gpa}: its RAM block's mapping. */
    long hva(long gpa) {
        return Qemu.RAM_HVA + (v.slots.ramPage(gpa >>> 12) << 12) + (gpa & 0xfff);
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
