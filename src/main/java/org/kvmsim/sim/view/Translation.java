package org.kvmsim.sim.view;

/**
 * All four names of one byte: guest-virtual, guest-physical, the QEMU process's virtual address
 * (RAM base + gpa), host-physical; plus the page sizes on each side of the translation.
 */
public record Translation(long gva, long gpa, long hva, long hpa, long guestPageSize, long hostPageSize) {
}
