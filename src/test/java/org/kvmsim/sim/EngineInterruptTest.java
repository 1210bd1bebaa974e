package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
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
}
