package org.kvmsim.sim;

/**
 * Something that happens at a simulated time; it may reschedule itself. Timers due at one
 * instant fire in the order they were scheduled ({@code seq}), which keeps runs deterministic.
 */
abstract class Timer implements Comparable<Timer> {
    long at;
    long seq;

    abstract void fire(Engine e);

    /**
     * After an interrupt inside {@link #fire}: whether it must go back in the queue at this
     * instant (its fire was under way; the next one finishes it, if only by rescheduling).
     */
    boolean cutShort() {
        return false;
    }

    @Override
    public int compareTo(Timer o) {
        return at != o.at ? Long.compare(at, o.at) : Long.compare(seq, o.seq);
    }
}
