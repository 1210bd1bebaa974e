package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Content;
import org.kvmsim.model.Declarations;
import org.kvmsim.sim.view.VmRunState;

/**
 * An interrupt inside an event (a workload slice, a ksmd wake-up, a VM's start) leaves a state a
 * later run continues from: the work made counts, the rest follows at the next run, and the end
 * result is the uninterrupted one. The interrupt comes from a monitor that stops after a fixed
 * number of looks, so these tests do not depend on the machine's speed.
 */
class EngineInterruptTest {

    private static Declarations declare(String script) {
        Frontend.Result r = Frontend.compile(new SourceFile("t.kvm", script), new Declarations(), List.of());
        assertTrue(r.ok(), () -> r.diagnostics().list().toString());
        return r.declarations();
    }

    /** A monitor that interrupts at its n-th look, and counts the looks with a run under way. */
    private static final class StopAt implements Engine.Monitor {
        int looks, stopAt;

        StopAt(int stopAt) {
            this.stopAt = stopAt;
        }

        @Override
        public void tick(long doneNs, long totalNs) {
            if (++looks == stopAt) throw new Engine.Interrupted();
        }
    }

    /**
     * A monitor that interrupts at its first look from inside an event (Engine.worked), not
     * between events: where an event's bookkeeping must already be in step.
     */
    private static final class InsideAnEvent implements Engine.Monitor {
        boolean fired;

        @Override
        public void tick(long doneNs, long totalNs) {
            if (fired) return;
            if (StackWalker.getInstance().walk(s -> s.anyMatch(f -> f.getMethodName().equals("worked")))) {
                fired = true;
                throw new Engine.Interrupted();
            }
        }
    }

    private static Engine started(Declarations d) {
        Engine e = new Engine(7);
        e.sync(d);
        e.startPending(d);
        return e;
    }

    private static final String ONE_SLICE = """
            host hv1 { memory = 8 GiB; thp = never }
            vm g on hv1 { memory = 2 GiB }
            workload w on g { pattern = zipf(0.99); footprint = 1 GiB; accesses = 3_000_000; writes = 10% }
            """;

    @Test
    void aSliceCutShortResumesAtTheNextRunAndEndsAsIfUninterrupted() {
        Declarations d = declare(ONE_SLICE);
        // one slice of 3 M accesses (run 1 ms): an interrupt can only land inside it
        Engine whole = started(d);
        whole.scheduleWorkloads(d, 1_000_000);
        whole.runFor(1_000_000);
        whole.runFor(1_000_000);

        Engine cut = started(d);
        cut.scheduleWorkloads(d, 1_000_000);
        cut.monitor(new StopAt(3));
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(1_000_000));
        long made = cut.view().vm("g").mmu().accesses();
        assertTrue(made > 0 && made < 3_000_000, "the interrupt landed inside the slice: " + made);
        assertEquals(0, made % 4096, "whole batches count");
        assertTrue(cut.now() < 1_000_000, "the clock stays where the run stopped");
        cut.monitor(null);
        cut.runFor(1_000_000);
        cut.runFor(whole.now() - cut.now());
        assertEquals(whole.view().vm("g").mmu(), cut.view().vm("g").mmu());
        assertEquals(whole.now(), cut.now());
    }

    private static final String BIG_SCAN = """
            ksm policy wide { pages_to_scan = 200_000; sleep = 20 ms }
            host hv1 { memory = 8 GiB; ksm = wide; thp = never }
            image base { footprint = 512 MiB; shared = 60%; zero = 10% }
            vm g1 on hv1 { memory = 1 GiB; image = base }
            vm g2 like g1
            """;

    @Test
    void aKsmdWakeUpCutShortScansTheRestFirstAndCountsAsIfUninterrupted() {
        Declarations d = declare(BIG_SCAN);
        Engine whole = started(d);
        whole.runFor(200_000_000);

        Engine cut = started(d);
        cut.monitor(new StopAt(2));
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(200_000_000));
        long scanned = cut.view().host("hv1").ksmCounters().pagesScanned();
        assertTrue(scanned > 0 && scanned < 200_000, "inside the first wake-up: " + scanned);
        cut.monitor(null);
        cut.runFor(200_000_000 - cut.now());
        assertEquals(whole.view().host("hv1").ksmCounters(), cut.view().host("hv1").ksmCounters());
        assertEquals(whole.view().host("hv1").meminfo(), cut.view().host("hv1").meminfo());
    }

    private static final String TRACE_BESIDE_UNIFORM = """
            host hv1 { memory = 8 GiB; thp = never }
            vm g on hv1 { memory = 2 GiB }
            workload z on g { pattern = uniform; footprint = 16 MiB; accesses = 50_000 }
            workload w on g { trace = "%s" }
            """;

    @Test
    void anInterruptWhileATraceIsCountedSchedulesNothingAndTheNextRunCountsAgain(@TempDir Path dir) throws IOException {
        // a synthetic workload beside the trace: neither may be half scheduled by the cut run
        Path trace = TestTraces.lackey(dir.resolve("t.lackey"), 100_000, 3, 0x10000000L, 5000);
        Declarations d = declare(TRACE_BESIDE_UNIFORM.formatted(trace));
        Engine whole = started(d);
        whole.runFor(1_000_000);
        whole.scheduleWorkloads(d, 1_000_000);
        whole.runFor(1_000_000);

        // the first look from inside the count of the trace file (it is counted anew: another
        // path, as far as the process's counts go)
        Path copy = Files.copy(trace, dir.resolve("copy.lackey"));
        Declarations dc = declare(TRACE_BESIDE_UNIFORM.formatted(copy));
        Engine fresh = started(dc);
        fresh.monitor((done, total) -> {
            if (StackWalker.getInstance().walk(s -> s.anyMatch(f -> f.getMethodName().equals("countTraces")))) {
                throw new Engine.Interrupted();
            }
        });
        assertThrows(Engine.Interrupted.class, () -> fresh.scheduleWorkloads(dc, 1_000_000));
        fresh.monitor(null);
        fresh.runFor(1_000_000);
        assertEquals(0, fresh.view().vm("g").mmu().accesses(), "nothing of the cut run was scheduled");
        fresh.scheduleWorkloads(dc, 1_000_000);
        fresh.runFor(1_000_000);
        assertEquals(150_000, fresh.view().vm("g").mmu().accesses());
        assertEquals(whole.view().vm("g").mmu(), fresh.view().vm("g").mmu());
    }

    @Test
    void aStartCutShortIsUndoneAndTheVmStartsAfreshLater() {
        Declarations d = declare("""
                host hv1 { memory = 4 GiB; thp = never }
                vm g on hv1 { memory = 1 GiB; prealloc = on }
                """);
        Engine e = new Engine(7);
        e.sync(d);
        var before = e.view().host("hv1").meminfo();
        e.monitor(new StopAt(2));
        assertThrows(Engine.Interrupted.class, () -> e.startPending(d));
        assertEquals(VmRunState.DECLARED, e.view().vm("g").state());
        assertEquals(before, e.view().host("hv1").meminfo(), "its memory went back");
        assertEquals(0, e.events().size(), "no vm_start for a start that did not happen");
        e.monitor(null);
        e.startPending(d);
        assertEquals(VmRunState.RUNNING, e.view().vm("g").state());
        assertEquals(1L << 30, e.view().vm("g").rssBytes());
    }

    @Test
    void anInterruptAfterASlicesLastBatchKeepsTheWorkloadGoing() {
        // 1000 slices of 1000 accesses: each slice is one batch, so the look inside it comes
        // after its last batch
        Declarations d = declare("""
                host hv1 { memory = 8 GiB; thp = never }
                vm g on hv1 { memory = 2 GiB }
                workload w on g { pattern = uniform; footprint = 64 MiB; accesses = 1_000_000; writes = 10% }
                """);
        Engine whole = started(d);
        whole.scheduleWorkloads(d, 1_000_000_000L);
        whole.runFor(1_000_000_000L);
        Engine cut = started(d);
        cut.scheduleWorkloads(d, 1_000_000_000L);
        InsideAnEvent m = new InsideAnEvent();
        cut.monitor(m);
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(1_000_000_000L));
        cut.monitor(null);
        cut.runFor(1_000_000_000L - cut.now());
        assertEquals(whole.view().vm("g").mmu(), cut.view().vm("g").mmu());
    }

    @Test
    void anInterruptAfterAWakeUpsLastChunkKeepsKsmdRunning() {
        Declarations d = declare("""
                ksm policy p { }
                host hv1 { memory = 8 GiB; ksm = p; thp = never }
                image base { footprint = 512 MiB; shared = 60%; zero = 10% }
                vm g1 on hv1 { memory = 1 GiB; image = base }
                vm g2 like g1
                """);
        Engine whole = started(d);
        whole.runFor(30_000_000_000L);
        Engine cut = started(d);
        cut.monitor(new InsideAnEvent()); // inside a wake-up of 100 pages: after its only chunk
        assertThrows(Engine.Interrupted.class, () -> cut.runFor(30_000_000_000L));
        cut.monitor(null);
        cut.runFor(30_000_000_000L - cut.now());
        assertEquals(whole.view().host("hv1").ksmCounters(), cut.view().host("hv1").ksmCounters());
    }

    @Test
    void anUndoneStartKeepsWhatItDidToOthers() {
        Declarations d = declare("""
                host hv1 { memory = 4 GiB; thp = never }
                vm a on hv1 { memory = 3 GiB; prealloc = on }
                vm b on hv1 { memory = 2 GiB; prealloc = on }
                """);
        Engine e = new Engine(7);
        e.sync(d);
        e.start("a", d);
        // b's prealloc makes the OOM killer take a; then the start is interrupted
        e.monitor((done, total) -> {
            if (e.view().vm("a").state() == VmRunState.KILLED) throw new Engine.Interrupted();
        });
        assertThrows(Engine.Interrupted.class, () -> e.start("b", d));
        assertEquals(VmRunState.KILLED, e.view().vm("a").state());
        assertEquals(VmRunState.DECLARED, e.view().vm("b").state());
        assertEquals(List.of("vm_start a", "oom_kill a"),
                e.events().stream().map(ev -> ev.kind() + " " + ev.subject()).toList());
    }

    @Test
    void anUndoneRestartLeavesAStoppedVmStopped() {
        Declarations d = declare("""
                host hv1 { memory = 4 GiB; thp = never }
                vm g on hv1 { memory = 1 GiB; prealloc = on }
                """);
        Engine e = started(d);
        e.stop("g");
        e.monitor(new InsideAnEvent());
        assertThrows(Engine.Interrupted.class, () -> e.start("g", d));
        assertEquals(VmRunState.STOPPED, e.view().vm("g").state());
        e.monitor(null);
        e.startPending(d);
        assertEquals(VmRunState.STOPPED, e.view().vm("g").state(), "the next run does not start it");
    }

    @Test
    void aWriteCutShortKeepsThePagesItWroteAndTheGuestAllocatesPastThem() {
        Declarations d = declare("""
                host hv1 { memory = 8 GiB; thp = never }
                vm g on hv1 { memory = 2 GiB }
                """);
        Engine e = started(d);
        Content changing = new Content(Content.Kind.CHANGING, 0, null, 10_000_000L);
        e.monitor(new InsideAnEvent());
        assertThrows(Engine.Interrupted.class, () -> e.write("g", 0, 199_999, changing));
        VmState v = e.vms.get("g");
        long written = v.memory.presentPages();
        assertTrue(written > 0 && written < 200_000, "cut short: " + written);
        assertEquals(written, v.nextFreeGuestPage, "the guest's allocator is past the pages written");
        // the range written so far changes, as a whole write's would
        long before = v.memory.content(0);
        e.monitor(null);
        e.runFor(20_000_000L);
        assertTrue(v.memory.content(0) != before, "page 0 changed");
    }
}
