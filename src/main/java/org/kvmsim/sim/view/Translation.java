package org.kvmsim.sim.view;

/**
 * All four names of one byte: guest-virtual, guest-physical, the QEMU process's virtual address
 * (RAM base + the page's offset in guest RAM), host-physical; the page sizes on each side of the
 * translation; and the KVM memslot holding the gpa (its number, first gpa and bytes; -1, 0, 0
 * when not known).
 */
public record Translation(long gva, long gpa, long hva, long hpa, long guestPageSize, long hostPageSize,
                          int memslot, long memslotGpa, long memslotBytes) {

    /** A translation without its memslot. */
    public Translation(long gva, long gpa, long hva, long hpa, long guestPageSize, long hostPageSize) {
        this(gva, gpa, hva, hpa, guestPageSize, hostPageSize, -1, 0, 0);
    }
}
