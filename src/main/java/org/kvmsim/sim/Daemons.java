package org.kvmsim.sim;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The hosts' kernel threads as timers: ksmd (pages_to_scan pages a wake-up, then
 * sleep_millisecs) and khugepaged (scan_sleep_millisecs between wake-ups). Each host state gets
 * its own, started at the first run that sees it; a host declared anew gets new ones and the old
 * ones fall silent.
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
    private final Set<HostState> khugepagedStarted = Collections.newSetFromMap(new IdentityHashMap<>());

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
            if (khugepagedStarted.add(h)) {
                e.schedule(e.now + h.khugepaged.sleepMillis() * 1_000_000L, new KhugepagedTimer(h));
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

    /** khugepaged's wake-up: collapse what it can, sleep scan_sleep_millisecs. */
    private static final class KhugepagedTimer extends Timer {
        final HostState host;

        KhugepagedTimer(HostState host) {
            this.host = host;
        }

        @Override
        void fire(Engine e) {
            if (e.hosts.get(host.decl.name()) != host) return; // the host was declared again
            int collapsed = host.khugepaged.wake();
            if (collapsed > 0) {
                e.event("thp_collapse", host.decl.name(), collapsed + " huge pages collapsed (" + collapsed * 512L + " pages of 4 KiB)");
            }
            e.schedule(at + host.khugepaged.sleepMillis() * 1_000_000L, this);
        }
    }
}
