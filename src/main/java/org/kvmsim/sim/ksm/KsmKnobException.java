package org.kvmsim.sim.ksm;

/** A write to a KSM knob that sysfs would refuse; {@code errno} is "EINVAL" or "EBUSY". */
public final class KsmKnobException extends RuntimeException {
    private final String errno;

    KsmKnobException(String errno, String message) {
        super(message + " (" + errno + ")");
        this.errno = errno;
    }

    public String errno() {
        return errno;
    }
}
