package org.kvmsim.kernel;

/** The kernel's own log lines: stderr, which Jupyter keeps in the server's log, never in a cell. */
final class KernelLog {

    private KernelLog() {}

    static void warn(String message) {
        System.err.println("kvmsim kernel: " + message);
    }
}
