package org.kvmsim.sim.view;

import java.util.Locale;

/** Where a VM is in its life, as QEMU's process would be. */
public enum VmRunState {
    DECLARED, RUNNING, STOPPED, FAILED, KILLED;

    /** The word tables print ("running"); cased with Locale.ROOT, whatever the user's locale. */
    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }
}
