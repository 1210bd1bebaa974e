package org.kvmsim.sim.mmu;

/**
 * One memory reference made by the page walker. {@code tableAddress} and {@code entryAddress} are
 * guest-physical for the guest dimension under nested paging and host-physical otherwise
 * (for native paging they are the machine's physical addresses, i.e. the GPA).
 */
public record WalkRef(int step, Dimension dimension, int level, long tableAddress, int index, long entryAddress) {

    public enum Dimension {
        GUEST, NESTED, SHADOW;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
