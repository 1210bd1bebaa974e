package org.kvmsim.sim.mmu;

/**
 * The guest OS's page-fault handler: called when an access finds no guest mapping. It is expected
 * to call {@link Mmu#map} (as the guest kernel would write its PTEs); the access is then retried.
 */
@FunctionalInterface
public interface GuestFaultHandler {

    void onGuestFault(Mmu mmu, int space, long gva, boolean write);
}
