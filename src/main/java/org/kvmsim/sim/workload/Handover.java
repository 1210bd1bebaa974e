package org.kvmsim.sim.workload;

import java.lang.ref.WeakReference;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A producer thread handing chunks to one consumer, in order, through a small bounded queue; the
 * arrays of the chunks the consumer is done with go back to the producer through a second queue,
 * so a stream allocates {@code depth + 2} of them, not one per chunk. The thread holds its owner
 * (the consumer's object) only weakly: an owner dropped unclosed (a VM stopped, a session reset)
 * lets the thread end too, at its next chunk. A producer that dies without handing over its last
 * chunk (an Error such as OutOfMemoryError, which producers do not catch) does not leave its
 * consumer waiting: once the producer has ended and nothing is left, {@link #take} throws
 * {@link Gone} with the cause. What {@link ReadAhead} (parsed accesses) and {@link DecompressAhead}
 * (decompressed bytes) share.
 *
 * @param <C> a chunk
 * @param <F> the arrays of a chunk, recycled
 */
final class Handover<C, F> {

    /** The producer's work, on the thread: {@link #put} chunks while {@link #live}. Must not hold the owner. */
    interface Producer<C, F> {
        void run(Handover<C, F> h);
    }

    private final BlockingQueue<C> queue;
    private final BlockingQueue<F> free;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final WeakReference<Object> owner;
    /** Set when the producer's work returns or throws; what it threw, if anything. */
    private volatile boolean ended;
    private volatile Throwable failure;

    /** The producer ended with nothing more for the consumer (its cause: what the producer threw, or null). */
    static final class Gone extends RuntimeException {
        Gone(Throwable cause) {
            super(cause == null ? "the producer ended" : cause.toString(), cause);
        }
    }

    /** Starts {@code producer} on a daemon thread called {@code thread}. */
    Handover(int depth, Object owner, String thread, Producer<C, F> producer) {
        this.queue = new ArrayBlockingQueue<>(depth);
        this.free = new ArrayBlockingQueue<>(depth + 2);
        this.owner = new WeakReference<>(owner);
        Thread t = new Thread(() -> {
            try {
                producer.run(this);
            } catch (Throwable x) {
                failure = x;
            } finally {
                ended = true;
            }
        }, thread);
        t.setDaemon(true);
        t.start();
    }

    /** For the producer: whether to go on (not closed, and the owner still there). */
    boolean live() {
        return !closed.get() && owner.get() != null;
    }

    /** For the producer: arrays the consumer is done with, or null (then it makes new ones). */
    F recycled() {
        return free.poll();
    }

    /** For the producer: hands {@code c} over, waiting while the consumer is behind; drops it once not {@link #live}. */
    void put(C c) {
        try {
            while (live() && !queue.offer(c, 50, TimeUnit.MILLISECONDS)) {
                // the consumer is behind (or gone: then live() ends the wait)
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** For the consumer: the next chunk, waiting for it; {@link Gone} once the producer has ended and none is left. */
    C take() throws InterruptedException {
        while (true) {
            C c = queue.poll(50, TimeUnit.MILLISECONDS);
            if (c != null) return c;
            // ended is set after the producer's last put: a chunk it handed over is seen first
            if (ended && queue.isEmpty()) throw new Gone(failure);
        }
    }

    /** For the consumer: gives the arrays of a chunk it is done with back. */
    void recycle(F arrays) {
        free.offer(arrays);
    }

    /** For the consumer: stops the producer (at its next chunk) and drops what it made ahead. */
    void close() {
        closed.set(true);
        queue.clear();
    }
}
