package org.kvmsim.sim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.mmu.Cpu;
import org.kvmsim.sim.mmu.Mmu;
import org.kvmsim.sim.mmu.Vcpu;

/**
 * The workload windows due at one instant on one host, simulated together: each vCPU with work
 * is a task on a core (the scheduler balances them first), the tasks that share a core take
 * turns by the base slice, and each core's tasks run in turn, core after core.
 *
 * <p>Two phases, so that cores that share nothing can be simulated at once. Tasks are grouped:
 * tasks on one core, and tasks of one VM (they share its tables), are in one group; different
 * groups share only host state (memory, KSM, the content serial). In the first phase each group
 * runs until its first access that could reach host state ({@link Workloads#access}); groups are
 * independent there, so they may run on separate threads. In the second phase each group, in
 * order, makes the writes its first phase handed on and runs the rest of its work. The order is
 * fixed by the groups, never by the threads, so the output is the same for any number of threads
 * ({@code KVMSIM_THREADS}, default the machine's processors). A dispatch with one group has no
 * first phase (it would change nothing). A group with a shadow-paged VM, or an EPT/NPT VM some of
 * whose guest page-table pages have no nested entry yet, has none either.
 */
final class Dispatch {
    private final Engine e;
    private final HostState h;
    final List<Workloads.SliceTimer> members;
    private final List<Group> groups = new ArrayList<>();
    private boolean firstPhaseDone;
    /** Set by the engine's thread to stop the first phase's workers (an interrupt). */
    private volatile boolean stop;

    /** One vCPU's work in this window: its VM's threads on it, and the window's length. */
    static final class Task {
        final VmState vm;
        /** The VM's MMU when planned: a VM restarted since is another guest. */
        final Mmu mmu;
        final int vcpu;
        final List<Workloads.GuestThread> threads = new ArrayList<>();
        final long step;
        /** Accesses its threads make in a window at their nominal rate (what a slice's length is reckoned in). */
        long sliceAccesses;

        Task(VmState vm, int vcpu, long step) {
            this.vm = vm;
            this.mmu = vm.mmu;
            this.vcpu = vcpu;
            this.step = step;
        }

        long left() {
            long n = 0;
            for (Workloads.GuestThread g : threads) n += g.sliceLeft;
            return n;
        }
    }

    /** The tasks on one core, in turn order, and where the turns are. */
    static final class CoreWork {
        final int core;
        final List<Task> tasks = new ArrayList<>();
        int turn;
        /** Accesses the current task may still make in its turn (-1: a new turn). */
        long quota = -1;

        CoreWork(int core) {
            this.core = core;
        }
    }

    /** Writes of new content a group's first phase handed on, in order. */
    static final class Deferred {
        final boolean parallel;
        private final Dispatch owner;
        private final List<VmState> vms = new ArrayList<>();
        private long[] pages = new long[64];

        Deferred(Dispatch owner, boolean parallel) {
            this.owner = owner;
            this.parallel = parallel;
        }

        /** Whether the engine's thread asked the first phase's workers to stop (an interrupt). */
        boolean stopped() {
            return owner.stop;
        }

        void add(VmState v, long page) {
            if (vms.size() == pages.length) pages = java.util.Arrays.copyOf(pages, pages.length * 2);
            pages[vms.size()] = page;
            vms.add(v);
        }
    }

    static final class Group {
        final List<CoreWork> cores = new ArrayList<>();
        boolean firstPhase;
        boolean firstPhaseEnded;
        Deferred deferred;
    }

    Dispatch(Engine e, HostState h, List<Workloads.SliceTimer> members) {
        this.e = e;
        this.h = h;
        this.members = members;
        plan();
    }

    private void plan() {
        // tasks: one per (VM, vCPU) with work, in the members' order
        Map<Vcpu, Task> byVcpu = new LinkedHashMap<>();
        for (Workloads.SliceTimer m : members) {
            VmState v = m.run.vm;
            for (Workloads.GuestThread g : m.run.threads) {
                if (g.sliceLeft == 0 && g.len == 0) continue;
                Vcpu x = v.mmu.vcpu(g.vcpu);
                Task t = byVcpu.computeIfAbsent(x, k -> new Task(v, g.vcpu, m.step));
                t.threads.add(g);
                t.sliceAccesses += g.perSlice;
            }
        }
        List<Task> tasks = new ArrayList<>(byVcpu.values());
        List<Vcpu> busy = new ArrayList<>(byVcpu.keySet());
        List<VmState> owners = new ArrayList<>();
        for (Task t : tasks) owners.add(t.vm);
        int[] coreOf = h.sched.balance(busy, owners);
        Map<Integer, CoreWork> work = new LinkedHashMap<>();
        for (int k = 0; k < tasks.size(); k++) work.computeIfAbsent(coreOf[k], CoreWork::new).tasks.add(tasks.get(k));
        // the scheduler's running vCPU on a core goes on first, with what is left of its slice
        for (CoreWork w : work.values()) {
            Vcpu running = h.sched.running(w.core);
            for (int i = 0; i < w.tasks.size(); i++) {
                Task t = w.tasks.get(i);
                if (t.vm.mmu.vcpu(t.vcpu) == running) {
                    w.turn = i;
                    if (w.tasks.size() > 1) w.quota = accessesIn(t, h.sched.sliceLeft(w.core));
                }
            }
        }
        // groups: union of tasks on one core and tasks of one VM
        Map<Object, Group> groupOf = new LinkedHashMap<>();
        Map<Mmu, VmState> vmOf = new LinkedHashMap<>();
        for (Task t : tasks) vmOf.put(t.vm.mmu, t.vm);
        for (CoreWork w : work.values()) {
            Group g = null;
            // the core's VMs, and the VM of the vCPU it ran last: switching away from that one
            // touches its state (its native model)
            List<VmState> vms = new ArrayList<>();
            for (Task t : w.tasks) vms.add(t.vm);
            Vcpu last = h.cores.get(w.core).current();
            if (last != null && vmOf.containsKey(last.mmu())) vms.add(vmOf.get(last.mmu()));
            for (VmState v : vms) {
                Group o = groupOf.get(v);
                if (o != null && o != g) g = g == null ? o : merge(groupOf, g, o);
            }
            if (g == null) {
                g = new Group();
                groups.add(g);
            }
            g.cores.add(w);
            for (VmState v : vms) groupOf.put(v, g);
        }
        for (Group g : groups) {
            g.firstPhase = groups.size() > 1 && eligible(g);
            g.deferred = new Deferred(this, false);
        }
    }

    /** Moves {@code from}'s cores into {@code into}. */
    private Group merge(Map<Object, Group> groupOf, Group into, Group from) {
        into.cores.addAll(from.cores);
        groups.remove(from);
        groupOf.replaceAll((k, g) -> g == from ? into : g);
        return into;
    }

    /** Whether a group's VMs can take a first phase (see the class comment). */
    private static boolean eligible(Group g) {
        for (CoreWork w : g.cores) {
            for (Task t : w.tasks) {
                Mmu mmu = t.vm.mmu;
                if (mmu.paging() == Paging.SHADOW) return false;
                for (Workloads.GuestThread th : t.threads) if (!mmu.tablesNestedPresent(th.run.space)) return false;
            }
        }
        return true;
    }

    /** The accesses task {@code t} makes in {@code ns} of its window, at least one. */
    private static long accessesIn(Task t, long ns) {
        if (t.step <= 0) return Math.max(1, t.sliceAccesses);
        return Math.max(1, (t.sliceAccesses * ns + t.step - 1) / t.step);
    }

    void run() {
        if (!firstPhaseDone) {
            firstPhase();
            firstPhaseDone = true;
        }
        for (Group g : groups) {
            Deferred d = g.deferred;
            for (int i = 0; i < d.vms.size(); i++) {
                VmState v = d.vms.get(i);
                // a first phase wrote only new content, which cannot fail: a VM killed since is gone
                if (v.running()) e.guest.write(v, d.pages[i], e.nextUnique());
            }
            g.deferred = new Deferred(this, false);
            runGroup(g, null);
        }
    }

    private void firstPhase() {
        List<Group> todo = new ArrayList<>();
        for (Group g : groups) if (g.firstPhase && !g.firstPhaseEnded) todo.add(g);
        int threads = Math.min(todo.size(), Parallel.threads());
        if (threads <= 1) {
            for (Group g : todo) {
                runGroup(g, g.deferred);
                g.firstPhaseEnded = true;
            }
            return;
        }
        stop = false;
        List<Future<?>> futures = new ArrayList<>();
        ExecutorService pool = Parallel.pool();
        for (Group g : todo) {
            Deferred d = new Deferred(this, true);
            d.vms.addAll(g.deferred.vms);
            d.pages = java.util.Arrays.copyOf(g.deferred.pages, Math.max(64, g.deferred.pages.length));
            g.deferred = d;
            futures.add(pool.submit(() -> {
                if (runGroup(g, d)) g.firstPhaseEnded = true;
            }));
        }
        RuntimeException failure = null;
        for (Future<?> f : futures) {
            while (true) {
                try {
                    f.get(20, TimeUnit.MILLISECONDS);
                    break;
                } catch (TimeoutException t) {
                    if (failure == null) {
                        try {
                            e.worked(Engine.POLL_WORK);
                        } catch (RuntimeException ex) {
                            failure = ex;
                            stop = true;
                        }
                    }
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    stop = true;
                } catch (ExecutionException ex) {
                    Throwable c = ex.getCause();
                    if (failure == null) failure = c instanceof RuntimeException re ? re : new IllegalStateException(c);
                    stop = true;
                    break;
                }
            }
        }
        if (failure != null) throw failure;
    }

    /**
     * Runs a group's cores one after the other, each core's tasks in turns; in the first phase
     * ({@code ready} not null) until its first access that could reach host state. False if the
     * first phase was stopped from outside (an interrupt) before it ended.
     */
    private boolean runGroup(Group g, Deferred ready) {
        for (CoreWork w : g.cores) {
            Cpu core = h.cores.get(w.core);
            while (true) {
                if (ready != null && ready.parallel && stop) return false;
                Task t = next(w);
                if (t == null) break;
                Mmu mmu = t.mmu;
                if (!t.vm.running() || t.vm.mmu != mmu) {
                    // its guest stopped (or was killed, or restarted: another guest) since
                    for (Workloads.GuestThread th : t.threads) {
                        th.sliceLeft = 0;
                        th.len = 0;
                    }
                    continue;
                }
                long quota = w.tasks.size() == 1 ? Long.MAX_VALUE : w.quota;
                mmu.select(t.vcpu, core);
                h.sched.setRunning(w.core, mmu.vcpu(t.vcpu));
                mmu.setExecuting(true);
                long[] made = {0};
                boolean stopped = false;
                try {
                    // the window's work first, then (sharing the core) ahead into later windows
                    // until the slice ends
                    for (int pass = 0; pass < (w.tasks.size() > 1 ? 2 : 1) && !stopped; pass++) {
                        for (Workloads.GuestThread th : t.threads) {
                            if (made[0] >= quota) break;
                            if (e.workloads.access(th, quota - made[0], ready, pass == 1, made) < 0) {
                                stopped = true;
                                break;
                            }
                        }
                    }
                } catch (Engine.VmGone gone) {
                    for (Workloads.GuestThread th : t.threads) {
                        th.sliceLeft = 0;
                        th.len = 0;
                    }
                } finally {
                    mmu.setExecuting(false);
                    // also when an interrupt ends the turn: the accesses made count against it
                    endTurn(w, t, core, made[0], stopped);
                }
                if (ready != null && ready.parallel && stop) return false;
                if (stopped) return true;
            }
        }
        return true;
    }

    /**
     * Books a turn of {@code made} accesses: the core's busy time and, on a shared core, the
     * slice: used up, the next task's turn with a full one (in the next window too, should this
     * one end first); else, out of work, what is left carries, should it be the last to run here.
     * A first phase that stopped mid-turn keeps the turn.
     */
    private void endTurn(CoreWork w, Task t, Cpu core, long made, boolean stopped) {
        // the time its accesses take at their nominal rate (the slice's share of the window)
        core.busyNs += made * t.step / Math.max(1, t.sliceAccesses);
        if (w.tasks.size() == 1) {
            // alone on the core: never preempted, a full slice should another join it
            h.sched.setSliceLeft(w.core, h.sched.baseSliceNs());
            return;
        }
        w.quota -= made;
        if (w.quota <= 0) {
            h.sched.setSliceLeft(w.core, h.sched.baseSliceNs());
            w.quota = -1;
            w.turn = (w.turn + 1) % w.tasks.size();
            Task next = w.tasks.get(w.turn);
            h.sched.setRunning(w.core, next.mmu.vcpu(next.vcpu));
        } else {
            h.sched.setSliceLeft(w.core, w.quota * t.step / Math.max(1, t.sliceAccesses));
            if (!stopped && !interrupted(t)) {
                w.quota = -1;
                w.turn = (w.turn + 1) % w.tasks.size();
            }
        }
    }

    /** Whether {@code t} still has work (an interrupt, not the end of its work, ended its turn). */
    private static boolean interrupted(Task t) {
        return t.left() > 0 || hasPartialBatch(t);
    }

    /** The task whose turn it is on {@code w} (starting a new turn with a full slice), or null when all are done. */
    private Task next(CoreWork w) {
        for (int i = 0; i < w.tasks.size(); i++) {
            Task t = w.tasks.get(w.turn);
            if (t.left() > 0 || hasPartialBatch(t)) {
                if (w.quota < 0) w.quota = accessesIn(t, h.sched.baseSliceNs());
                return t;
            }
            w.turn = (w.turn + 1) % w.tasks.size();
            w.quota = -1;
        }
        return null;
    }

    private static boolean hasPartialBatch(Task t) {
        for (Workloads.GuestThread g : t.threads) if (g.len > 0) return true;
        return false;
    }

    /**
     * The worker threads of first phases: KVMSIM_THREADS (or the kvmsim.threads property), else
     * one per processor. The pool follows the setting: asked with another size than it has, it
     * is replaced (a JVM that changed the setting, as tests do, once kept the first size for
     * good). A replaced pool is not shut down, since a dispatch may still submit to it; its
     * threads, like every pool's, end after a while idle.
     */
    static final class Parallel {
        private static java.util.concurrent.ThreadPoolExecutor pool;

        static int threads() {
            return Engine.threadsSetting(System.getProperty("kvmsim.threads", System.getenv("KVMSIM_THREADS")));
        }

        static synchronized ExecutorService pool() {
            int n = threads();
            if (pool == null || pool.getCorePoolSize() != n) {
                pool = new java.util.concurrent.ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS,
                        new java.util.concurrent.LinkedBlockingQueue<>(), r -> {
                            Thread t = new Thread(r, "kvmsim-core");
                            t.setDaemon(true);
                            return t;
                        });
                pool.allowCoreThreadTimeOut(true);
            }
            return pool;
        }
    }
}
