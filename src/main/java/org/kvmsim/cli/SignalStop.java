package org.kvmsim.cli;

import java.io.PrintWriter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP during `kvmsim run`: the session is asked to stop, the run
 * says where it stopped, and the process exits with the JVM's status for the signal (130 for
 * SIGINT). The JVM runs shutdown hooks on these signals and exits once they return, so the hook
 * interrupts the session and waits until the run has reported, but at most {@link #GRACE_MS}: a
 * signal ends the process promptly even if the run does not stop in time (then it says so).
 * Java frames are never printed either way.
 */
final class SignalStop implements AutoCloseable {

    /**
     * How long the hook waits for the run to stop and report before the JVM exits anyway. A run
     * stops within milliseconds of being asked (the engine polls between chunks of accesses), so
     * the hook rarely waits long; the margin is for a loaded machine, where a Spark sweep's job
     * cancellation took over 500 ms (the former value) under two busy loops on two cores.
     * System property {@code kvmsim.signal.graceMillis} sets it (tests that assert the report
     * give it room, so their outcome does not hang on the machine's load).
     */
    static final long GRACE_MS = Long.getLong("kvmsim.signal.graceMillis", 3000);

    private final Runnable interrupt;
    private final PrintWriter err;
    private final CountDownLatch reported = new CountDownLatch(1);
    private final Thread hook;

    /** {@code interrupt} asks every session of the command to stop (they may be several: `run A B`). */
    SignalStop(Runnable interrupt, PrintWriter err) {
        this.interrupt = interrupt;
        this.err = err;
        this.hook = new Thread(this::onSignal, "kvmsim-signal");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    private void onSignal() {
        if (reported.getCount() == 0) return;
        interrupt.run();
        try {
            if (!reported.await(GRACE_MS, TimeUnit.MILLISECONDS)) {
                err.println("kvmsim: interrupted; the run did not stop within " + GRACE_MS + " ms");
                err.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The run has ended and printed what it had to say: a signal from now on only exits. */
    @Override
    public void close() {
        reported.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already exiting (a signal came): the hook is running or has run
        }
    }
}
