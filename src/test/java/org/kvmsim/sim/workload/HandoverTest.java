package org.kvmsim.sim.workload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The producer thread behind ReadAhead and DecompressAhead: order, recycling, and its end. */
class HandoverTest {

    /** A producer of the numbers 0, 1, 2, ... in one-long arrays, counting the arrays it makes. */
    private static Handover.Producer<long[], long[]> counting(AtomicInteger made, long upTo) {
        return h -> {
            for (long i = 0; i < upTo && h.live(); i++) {
                long[] a = h.recycled();
                if (a == null) {
                    a = new long[1];
                    made.incrementAndGet();
                }
                a[0] = i;
                h.put(a);
            }
        };
    }

    private static Thread thread(String name) {
        for (Thread t : Thread.getAllStackTraces().keySet()) if (t.getName().equals(name)) return t;
        return null;
    }

    @Test
    void chunksArriveInOrderAndTheirArraysAreReused() throws InterruptedException {
        AtomicInteger made = new AtomicInteger();
        Object owner = new Object();
        Handover<long[], long[]> h = new Handover<>(4, owner, "handover-order", counting(made, 10_000));
        for (long i = 0; i < 10_000; i++) {
            long[] a = h.take();
            assertEquals(i, a[0]);
            h.recycle(a);
        }
        // four in the queue, one with the consumer, one being filled
        assertTrue(made.get() <= 6, made.get() + " arrays");
        h.close();
    }

    @Test
    void aProducerThatDiesWithoutItsLastChunkDoesNotLeaveItsConsumerWaiting() throws InterruptedException {
        Object owner = new Object();
        Handover<long[], long[]> h = new Handover<>(2, owner, "handover-dies", hh -> {
            hh.put(new long[] {7});
            throw new OutOfMemoryError("made up");
        });
        assertEquals(7, h.take()[0], "what it handed over first still arrives");
        Handover.Gone g = org.junit.jupiter.api.Assertions.assertThrows(Handover.Gone.class, h::take);
        assertTrue(g.getCause() instanceof OutOfMemoryError, String.valueOf(g.getCause()));
        // and again: never a wait
        org.junit.jupiter.api.Assertions.assertThrows(Handover.Gone.class, h::take);
    }

    @Test
    void aReadAheadErrorStaysForEveryLaterCall() {
        PackedReader failing = new PackedReader() {
            int calls;

            public int nextPacked(long[] out, long[] fetches, int at, int n) {
                if (calls++ > 0) throw new TraceException("t.lackey:9: not a lackey line");
                out[at] = 0x1000;
                if (fetches != null) fetches[at] = 0;
                return 1;
            }

            public long instructions() {
                return 0;
            }

            public void close() {}
        };
        ReadAhead r = new ReadAhead(failing);
        long[] a = new long[4];
        boolean[] w = new boolean[4];
        TraceException first = org.junit.jupiter.api.Assertions.assertThrows(TraceException.class, () -> r.next(a, w, 4));
        assertEquals("t.lackey:9: not a lackey line", first.getMessage());
        // the next run asks again: the same error, not a wait for a thread that has ended
        TraceException again = org.junit.jupiter.api.Assertions.assertThrows(TraceException.class, () -> r.next(a, w, 4));
        assertEquals(first.getMessage(), again.getMessage());
        r.close();
    }

    @Test
    void closingStopsTheProducer() throws InterruptedException {
        Object owner = new Object();
        Handover<long[], long[]> h = new Handover<>(2, owner, "handover-close", counting(new AtomicInteger(), Long.MAX_VALUE));
        h.take();
        Thread t = thread("handover-close");
        h.close();
        if (t != null) t.join();
        assertFalse(t != null && t.isAlive());
    }

    @Test
    void anOwnerDroppedUnclosedLetsTheProducerEnd() throws InterruptedException {
        Object owner = new Object();
        Handover<long[], long[]> h = new Handover<>(2, owner, "handover-dropped", counting(new AtomicInteger(), Long.MAX_VALUE));
        h.take();
        Thread t = thread("handover-dropped");
        assertTrue(t != null && t.isAlive(), "the producer waits for its consumer");
        owner = null;
        h = null;
        // liveness, not timing: collect until the weakly held owner is gone and the thread sees it
        for (int i = 0; i < 100 && t.isAlive(); i++) {
            System.gc();
            t.join(100);
        }
        assertFalse(t.isAlive());
    }
}
