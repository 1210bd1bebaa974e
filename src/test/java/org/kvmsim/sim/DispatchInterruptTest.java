package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Declarations;

/**
 * Interrupts in the middle of a dispatch (the windows of several VMs, or of several vCPUs on one
 * core, simulated together): what was made counts, the rest is made at the next run, and the
 * result is the uninterrupted one; no window is lost when its VM stops or restarts meanwhile.
 */
class DispatchInterruptTest {

    private final String threadsBefore = System.getProperty("kvmsim.threads");

    @AfterEach
    void restoreThreads() {
        if (threadsBefore == null) System.clearProperty("kvmsim.threads");
        else System.setProperty("kvmsim.threads", threadsBefore);
    }

    static Declarations declare(String script) {
        Frontend.Result r = Frontend.compile(new SourceFile("t.kvm", script), new Declarations(), List.of());
        assertTrue(r.ok(), () -> r.diagnostics().list().toString());
        return r.declarations();
    }

    static Engine started(Declarations d) {
        Engine e = new Engine(7);
        e.sync(d);
        e.startPending(d);
        return e;
    }

    /** Interrupts at the n-th look the engine takes from inside an event (not between events). */
    static final class InsideAt implements Engine.Monitor {
        final int n;
        int looks;

        InsideAt(int n) {
            this.n = n;
        }

        public void tick(long doneNs, long totalNs) {
            if (StackWalker.getInstance().walk(s -> s.anyMatch(f -> f.getMethodName().equals("worked")))) {
                if (++looks == n) throw new Engine.Interrupted();
            }
        }
    }

    @Test
    void anInterruptedTurnOnASharedCoreCountsWhatItMade() {
        Declarations d = declare("""
                host hv1 { memory = 8 GiB; thp = never; cpus = 1 }
                vm g on hv1 { memory = 2 GiB; vcpus = 2 }
                workload w on g { pattern = zipf(0.99); footprint = 1 GiB; accesses = 3_000_000; writes = 10% }
                """);
        Engine whole = started(d);
        whole.scheduleWorkloads(d, 1_000_000);
        whole.runFor(2_000_000);
        Engine cut = started(d);
        cut.scheduleWorkloads(d, 1_000_000);
        cut.monitor(new InsideAt(3));
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(1_000_000));
        cut.monitor(null);
        cut.runFor(whole.now() - cut.now());
        assertEquals(whole.view().vm("g").mmu(), cut.view().vm("g").mmu());
        assertEquals(whole.view().host("hv1").cpus(), cut.view().host("hv1").cpus());
    }

    private static final String TWO = """
            host hv1 { memory = 8 GiB; thp = never }
            vm g1 on hv1 { memory = 2 GiB }
            vm g2 on hv1 { memory = 2 GiB }
            workload w1 on g1 { pattern = uniform; footprint = 256 MiB; accesses = 3_000_000 }
            workload w2 on g2 { pattern = uniform; footprint = 256 MiB; accesses = 3_000_000 }
            """;

    @Test
    void stoppingTheVmOfTheWindowThatFiredKeepsTheOthers() {
        Declarations d = declare(TWO);
        Engine cut = started(d);
        cut.scheduleWorkloads(d, 10_000_000);
        cut.monitor(new InsideAt(2));
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(10_000_000));
        cut.monitor(null);
        cut.stop("g1");
        cut.runFor(20_000_000);
        assertEquals(3_000_000, cut.view().vm("g2").mmu().accesses());
    }

    @Test
    void aVmRestartedMeanwhileDoesNotInheritTheOldGuestsWorkload() {
        Declarations d = declare(TWO);
        Engine cut = started(d);
        cut.scheduleWorkloads(d, 10_000_000);
        cut.monitor(new InsideAt(2));
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(10_000_000));
        cut.monitor(null);
        cut.stop("g2");
        cut.start("g2", d);
        cut.runFor(20_000_000);
        assertEquals(0, cut.view().vm("g2").mmu().accesses());
        assertEquals(3_000_000, cut.view().vm("g1").mmu().accesses());
    }

    private static final String WARM = """
            host hv1 { memory = 8 GiB; thp = never; cpus = 3 }
            vm g1 on hv1 { memory = 1 GiB; vcpus = 2 }
            vm g2 on hv1 { memory = 1 GiB; vcpus = 2 }
            workload w on g1, g2 { pattern = uniform; footprint = 16 MiB; accesses = 200_000 }
            """;

    private void interruptedWarm(String threads) {
        System.setProperty("kvmsim.threads", threads);
        Declarations d = declare(WARM);
        Declarations d2 = declare(WARM + """
                workload w on g1, g2 { pattern = uniform; footprint = 16 MiB; accesses = 6_000_000; writes = 10% }
                """);
        Engine whole = started(d);
        whole.scheduleWorkloads(d, 1_000_000);
        whole.runFor(1_000_000);
        whole.scheduleWorkloads(d2, 2_000_000);
        whole.runFor(2_000_000);
        Engine cut = started(d);
        cut.scheduleWorkloads(d, 1_000_000);
        cut.runFor(1_000_000);
        cut.scheduleWorkloads(d2, 2_000_000);
        cut.monitor(new InsideAt(3));
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(2_000_000));
        cut.monitor(null);
        cut.runFor(2_000_000 - (cut.now() - 1_000_000));
        assertEquals(whole.view().vm("g1").mmu(), cut.view().vm("g1").mmu());
        assertEquals(whole.view().vm("g2").mmu(), cut.view().vm("g2").mmu());
    }

    @Test
    void anInterruptedFirstPhaseResumesToTheSameCountsOnOneThread() {
        interruptedWarm("1");
    }

    @Test
    void anInterruptedFirstPhaseResumesToTheSameCountsOnTwoThreads() {
        interruptedWarm("2");
    }

    /** The cases above run on as many threads as they set, whichever test set it before. */
    @Test
    void theWorkerPoolFollowsTheThreadsSetting() {
        System.setProperty("kvmsim.threads", "1");
        assertEquals(1, ((java.util.concurrent.ThreadPoolExecutor) Dispatch.Parallel.pool()).getCorePoolSize());
        System.setProperty("kvmsim.threads", "2");
        assertEquals(2, ((java.util.concurrent.ThreadPoolExecutor) Dispatch.Parallel.pool()).getCorePoolSize());
        assertEquals(Dispatch.Parallel.pool(), Dispatch.Parallel.pool(), "kept while the setting stays");
    }

    @Test
    void anInterruptStopsTheWorkersOfAFirstPhase() {
        System.setProperty("kvmsim.threads", "2");
        String s = """
                host hv1 { memory = 8 GiB; thp = never }
                vm g1 on hv1 { memory = 1 GiB }
                vm g2 on hv1 { memory = 1 GiB }
                workload w on g1, g2 { pattern = uniform; footprint = 16 MiB; accesses = 100_000 }
                """;
        Declarations d = declare(s);
        Engine e = started(d);
        e.scheduleWorkloads(d, 1_000_000);
        e.runFor(1_000_000);
        Declarations d2 = declare(s + "workload w on g1, g2 { pattern = uniform; footprint = 16 MiB; accesses = 20_000_000 }\n");
        e.scheduleWorkloads(d2, 1_000_000);
        // the first look while the workers run: they stop at their next batch, long before the
        // window's 20 M accesses each are made
        e.monitor((done, total) -> {
            throw new Engine.Interrupted();
        });
        assertThrows(Engine.Interrupted.class, () -> e.runFor(1_000_000));
        long made = e.view().vm("g1").mmu().accesses() + e.view().vm("g2").mmu().accesses();
        assertTrue(made < 100_000 + 20_000_000, "made " + made);
        e.monitor(null);
        e.runFor(1_000_000);
        assertEquals(2 * 20_100_000L, e.view().vm("g1").mmu().accesses() + e.view().vm("g2").mmu().accesses());
    }
}
