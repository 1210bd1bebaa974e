package org.kvmsim.sim.workload;

/**
 * A trace that cannot be read: the message names the file and, for a malformed line or record,
 * where ("trace.lackey.xz:17: ..."), as the user sees it; never a stack trace.
 */
public final class TraceException extends RuntimeException {
    public TraceException(String message) {
        super(message);
    }
}
