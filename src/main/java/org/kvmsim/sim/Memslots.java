package org.kvmsim.sim;

import org.kvmsim.model.Machine;

/**
 * Guest RAM in guest-physical memory as QEMU lays it out for a pc or q35 machine, and the KVM
 * memslots it registers for it (KVM_SET_USER_MEMORY_REGION through kvm_set_phys_mem()).
 *
 * <p>QEMU splits RAM at {@code below_4g_mem_size} (hw/i386/pc_piix.c, pc_q35.c): pc keeps up to
 * 0xe0000000 (3.5 GiB) below 4 GiB and, when RAM reaches 3.5 GiB, 3 GiB (gigabyte_align, every
 * pc-i440fx since 1.7); q35 keeps RAM under 0xb0000000 (2.75 GiB) whole and splits larger RAM at
 * 2 GiB. The rest is mapped from 4 GiB up, so above 4 GiB gpa = ram offset + (4 GiB - lowmem):
 * a whole number of GiB, 1 GiB alignment survives. Below 4 GiB the VGA window (0xa0000-0xbffff)
 * and the PAM/ROM area (0xc0000-0xfffff) overlay RAM, so QEMU's flat view has RAM ranges
 * [0, 0xa0000), [0x100000, lowmem) and [4 GiB, 4 GiB + rest).
 *
 * <p>Slot numbers, as assumed here: QEMU registers RAM below and above 4 GiB in pc_memory_init()
 * before the BIOS ROM, and KVM's listener takes the lowest free slot for each range in address
 * order, so slot 0 is [0, 0xa0000), 1 is [1 MiB, lowmem), 2 is RAM above 4 GiB. The ROM, PAM and
 * BIOS slots (read-only or shadowed by SeaBIOS) come later and hold no guest data: not modelled,
 * as SMRAM/TSEG (only an SMM-enabled firmware closes it) is not.
 *
 * <p>KVM never maps a huge page across a slot's edge: kvm_alloc_memslot_metadata()
 * (arch/x86/kvm/x86.c) sets disallow_lpage on the first and last huge-page frame of a slot at
 * each level where its start or end is unaligned, and on every frame of a level where the gfn and
 * the host virtual address are not aligned alike; kvm_mmu_max_mapping_level() honours it. So GPA
 * 0-2 MiB maps 4 KiB pages only and GPA 0-1 GiB no 1 GiB page, whatever backs it.
 */
final class Memslots {
    static final long VGA_START = 0xa0000L;
    static final long HIGH_RAM_GPA = 1L << 32;
    /** Where the guest's RAM above the ROM area starts; Linux reserves all below it too. */
    static final long LOW_RAM_GPA = 0x100000L;

    /** One KVM memslot: its number, guest-physical range and offset in QEMU's RAM block. */
    record Slot(int id, long gpa, long size, long ramOffset) {
        long end() {
            return gpa + size;
        }
    }

    private final Slot[] slots;
    /** RAM below 4 GiB (QEMU's below_4g_mem_size). */
    final long lowmem;

    Memslots(Machine machine, long ram) {
        lowmem = lowmem(machine, ram);
        int n = 0;
        Slot[] s = new Slot[3];
        s[n] = new Slot(n, 0, Math.min(lowmem, VGA_START), 0);
        n++;
        if (lowmem > LOW_RAM_GPA) {
            s[n] = new Slot(n, LOW_RAM_GPA, lowmem - LOW_RAM_GPA, LOW_RAM_GPA);
            n++;
        }
        if (ram > lowmem) {
            s[n] = new Slot(n, HIGH_RAM_GPA, ram - lowmem, lowmem);
            n++;
        }
        slots = java.util.Arrays.copyOf(s, n);
    }

    /** below_4g_mem_size of a machine with {@code ram} bytes (no max-ram-below-4g given). */
    static long lowmem(Machine machine, long ram) {
        long low;
        if (machine == Machine.Q35) {
            low = ram >= 0xb0000000L ? 0x80000000L : 0xb0000000L;
        } else {
            low = 0xe0000000L;
            if (ram >= low) low = 0xc0000000L;
        }
        return Math.min(ram, low);
    }

    /** The guest-physical page of RAM page {@code ramPage} (its page in QEMU's RAM block). */
    long gpaPage(long ramPage) {
        long low = lowmem >>> 12;
        return ramPage < low ? ramPage : ramPage - low + (HIGH_RAM_GPA >>> 12);
    }

    /** The RAM page behind guest-physical page {@code gpaPage}; throws if no RAM is there. */
    long ramPage(long gpaPage) {
        long low = lowmem >>> 12, high = HIGH_RAM_GPA >>> 12;
        if (gpaPage < low) return gpaPage;
        if (gpaPage >= high && slots[slots.length - 1].gpa() == HIGH_RAM_GPA
                && gpaPage < slots[slots.length - 1].end() >>> 12) {
            return gpaPage - high + low;
        }
        throw new IllegalArgumentException(String.format("gpa 0x%x is not guest RAM", gpaPage << 12));
    }

    /** RAM pages below {@code lowmem} then above 4 GiB: a range must not cross this page. */
    long splitPage() {
        return lowmem >>> 12;
    }

    /** The slot holding {@code gpa}, or null (the VGA window, ROMs, the PCI hole). */
    Slot slotOf(long gpa) {
        for (Slot s : slots) if (gpa >= s.gpa() && gpa < s.end()) return s;
        return null;
    }

    /**
     * log2 of the largest page KVM may map at {@code gpa} when the host page behind it is
     * {@code 1 << backingShift}: the largest of 1 GiB, 2 MiB, 4 KiB not above it whose frame
     * around {@code gpa} lies wholly in one slot (disallow_lpage), with the slot's gfn and
     * host virtual address ({@code ramHva} + its RAM offset) aligned alike at that size.
     */
    int maxLeafShift(long gpa, int backingShift, long ramHva) {
        Slot s = slotOf(gpa);
        if (s == null) return 12;
        for (int shift = backingShift; shift > 12; shift = shift >= 30 ? 21 : 12) {
            long size = 1L << shift;
            long base = gpa & -size;
            boolean coAligned = ((s.gpa() ^ (ramHva + s.ramOffset())) & (size - 1)) == 0;
            if (base >= s.gpa() && base + size <= s.end() && coAligned) return shift;
        }
        return 12;
    }
}
