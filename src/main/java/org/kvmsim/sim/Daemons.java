package org.kvmsim.sim;

import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.kvmsim.model.ThpMode;
import org.kvmsim.sim.hugetlb.Khugepaged;
import org.kvmsim.sim.hugetlb.ThpMapping;

/**
 * The hosts' kernel threads as timers: ksmd (pages_to_scan pages a wake-up, then
 * sleep_millisecs) and khugepaged (a pass, then scan_sleep_millisecs; idle while it has no mm).
 * Each host state gets its own; a host declared anew gets new ones and the old ones fall silent.
 */
final class Daemons {
    private final Engine e;

    /**
     * One ksmd timer per host state (a host declared anew gets its own ksmd), in the order the
     * hosts' ksmds started: {@link #kickKsmd} schedules wake-ups at one instant in this order,
     * which fixes their firing order (HostState has identity equality, so this keys by identity;
     * an IdentityHashMap's iteration order would vary between JVM runs).
     */
    private final Map<HostState, KsmdTimer> ksmdTimers = new LinkedHashMap<>();
    /** khugepaged's thread per host state (identity: see ksmdTimers), made at its first use. */
    private final Map<HostState, KhugepagedThread> khugepaged = new IdentityHashMap<>();

    Daemons(Engine e) {
        this.e = e;
    }

    /** At the start of every run: timers for new hosts, and a wake-up for an idle ksmd with work. */
    void start() {
        for (HostState h : e.hosts.values()) {
            if (h.ksmd != null && !ksmdTimers.containsKey(h)) {
                // ksmd starts idle and scans as soon as it has work (see KsmdTimer)
                KsmdTimer t = new KsmdTimer(h);
                t.idle = true;
                ksmdTimers.put(h, t);
            }
        }
        kickKsmd();
    }

    /** Wakes an idle ksmd that now has work (a VM registered, or run = 1 was written). */
    private void kickKsmd() {
        for (KsmdTimer t : ksmdTimers.values()) {
            if (t.idle && t.host.ksmd.shouldRun()) {
                t.idle = false;
                e.schedule(e.now, t);
            }
        }
    }

    /** Pages ksmd scans between two counts of work. */
    private static final int SCAN_CHUNK = 256;

    /**
     * ksmd's wake-up: scan pages_to_scan pages, then sleep sleep_millisecs (ksm_scan_thread()).
     * When ksmd has nothing to do (run != 1 or no mm_slot) it does not poll: it waits on
     * ksm_thread_wait until __ksm_enter() or run_store() wakes it, and then scans at once
     * (mm/ksm.c ksm_scan_thread: ksm_do_scan() first, the sleep after it). {@link #kickKsmd}
     * does that wake-up at the start of every run, the only moment a slot or run can change.
     */
    private static final class KsmdTimer extends Timer {
        final HostState host;
        boolean idle;
        /** Pages the wake-up under way may still scan (0 once done); -1 between wake-ups. */
        int budget = -1;

        KsmdTimer(HostState host) {
            this.host = host;
        }

        @Override
        void fire(Engine e) {
            if (e.hosts.get(host.decl.name()) != host) return; // the host was declared again
            if (budget < 0) {
                if (!host.ksmd.shouldRun()) {
                    idle = true; // wait_event_freezable(ksm_thread_wait, ksmd_should_run())
                    return;
                }
                budget = host.ksmd.knobs().pagesToScan();
            }
            // Full scans are not events: `show ksm history` has one row per scan, and small VMs
            // finish one every wake-up (50 a second), which would drown the event log.
            // The wake-up's pages_to_scan go in chunks, so a large one can be interrupted: small
            // ones, since one page can cost far more than an access (a merge that walks a chain
            // of thousands of duplicate KSM pages, as millions of zero pages make).
            while (budget > 0) {
                int chunk = Math.min(budget, SCAN_CHUNK);
                int n = host.ksmd.scan(e.now, chunk);
                budget = n < chunk ? 0 : budget - n;
                e.worked(n);
            }
            budget = -1;
            e.schedule(at + Math.max(1, host.ksmd.knobs().sleepMillisecs()) * 1_000_000L, this);
        }

        @Override
        boolean cutShort() {
            return budget >= 0;
        }
    }

    // --- khugepaged

    private KhugepagedThread khugepaged(HostState h) {
        return khugepaged.computeIfAbsent(h, x -> new KhugepagedThread(x));
    }

    /**
     * __khugepaged_enter(): the mapping joins khugepaged's list; into an empty list, the thread
     * is woken at once (wake_up_interruptible(&khugepaged_wait)), which ends its wait for work.
     */
    void khugepagedEnter(HostState h, ThpMapping m) {
        if (h.khugepaged.register(m)) {
            KhugepagedThread t = khugepaged(h);
            if (t.state == KhugepagedThread.IDLE) t.scanAt(e, e.now);
        }
    }

    /**
     * enabled_store() -> start_stop_khugepaged(): leaving never starts the thread, which scans at
     * once; never stops it; any other write wakes it, which ends only a sleep after an allocation
     * failure (the timed sleep waits for its expiry, khugepaged_should_wakeup()).
     */
    void thpEnabledWritten(HostState h, ThpMode old) {
        KhugepagedThread t = khugepaged(h);
        if (h.thp.mode == ThpMode.NEVER) {
            t.stop(h);
        } else if (t.state == KhugepagedThread.STOPPED || old == ThpMode.NEVER) {
            t.scanAt(e, e.now);
        } else if (t.state == KhugepagedThread.ALLOC_SLEEP && h.khugepaged.hasWork()) {
            t.scanAt(e, e.now);
        }
    }

    /**
     * scan_sleep_millisecs_store(), alloc_sleep_millisecs_store(): khugepaged_sleep_expire = 0
     * and a wake-up, so a sleeping thread scans at once.
     */
    void khugepagedSleepWritten(HostState h) {
        KhugepagedThread t = khugepaged(h);
        if (t.state == KhugepagedThread.SLEEP || t.state == KhugepagedThread.ALLOC_SLEEP) t.scanAt(e, e.now);
    }

    /**
     * The khugepaged thread (khugepaged()): khugepaged_do_scan(), then khugepaged_wait_work():
     * with work, a timed sleep of scan_sleep_millisecs (0 in Linux means no sleep; here 1 ms, so
     * simulated time moves); without, a wait until __khugepaged_enter() wakes it. The thread runs
     * from boot unless THP is never, and its first pass finds the list empty, so it starts idle.
     * The sleep inside a pass after an allocation failure is its own state. Each wake-up is a new
     * {@link Timer}; one no longer current (cut short by a knob write) does nothing when it fires.
     */
    private static final class KhugepagedThread {
        static final int STOPPED = 0, IDLE = 1, SLEEP = 2, ALLOC_SLEEP = 3, SCAN = 4;
        final HostState host;
        int state;
        Timer current;

        KhugepagedThread(HostState host) {
            this.host = host;
            state = host.thp.mode == ThpMode.NEVER ? STOPPED : IDLE;
        }

        void scanAt(Engine e, long at) {
            state = SCAN;
            Timer t = new Timer() {
                @Override
                void fire(Engine e) {
                    if (current == this) wake(e, this);
                }
            };
            current = t;
            e.schedule(at, t);
        }

        void stop(HostState h) {
            state = STOPPED;
            current = null;
            h.khugepaged.abandonPass();
        }

        private void wake(Engine e, Timer t) {
            if (e.hosts.get(host.decl.name()) != host) return; // the host was declared again
            Khugepaged k = host.khugepaged;
            Khugepaged.PassEnd end = k.scan();
            int collapsed = k.takeCollapsed();
            if (collapsed > 0) {
                e.event("thp_collapse", host.decl.name(), collapsed + " huge pages collapsed (" + collapsed * 512L + " pages of 4 KiB)");
            }
            if (end == Khugepaged.PassEnd.ALLOC_SLEEP) {
                // khugepaged_alloc_sleep() inside the pass
                scanAt(e, t.at + host.thp.allocSleepMillis * 1_000_000L);
                state = ALLOC_SLEEP;
            } else if (k.hasWork()) {
                scanAt(e, t.at + Math.max(1, host.thp.scanSleepMillis) * 1_000_000L);
                state = SLEEP;
            } else {
                state = IDLE;
                current = null;
            }
        }
    }
}
