package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.model.Declarations;
import org.kvmsim.sim.view.MmuCounters;

/** A trace is counted and decoded once per process, however many engines ask for it at once. */
class TraceCountsTest {

    /**
     * This JVM's decoded copies in the temporary folder: others' come and go meanwhile (another
     * JVM's, or a killed one's that this JVM's first copy deletes), so only names with this
     * process's token are counted (DecodedTrace.Owner: the token starts with the pid in hex).
     */
    private static long copies() throws IOException {
        String mine = "kvmsim-trace-" + Long.toHexString(ProcessHandle.current().pid()) + "x";
        try (var s = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return s.filter(f -> f.getFileName().toString().startsWith(mine) && f.toString().endsWith(".decoded")).count();
        }
    }

    @Test
    void enginesAskingForOneTraceAtOnceShareOneCount(@TempDir Path dir) throws Exception {
        Path trace = TestTraces.lackey(dir.resolve("shared.lackey"), 300_000, 4, 0x20000000L, 9000);
        Declarations d = DispatchInterruptTest.declare("""
                host hv1 { memory = 8 GiB; thp = never }
                vm g on hv1 { memory = 2 GiB }
                workload w on g { trace = "%s" }
                """.formatted(trace));
        long before = copies();
        long counts = Workloads.COUNTS_MADE.get();
        int engines = 4;
        CyclicBarrier start = new CyclicBarrier(engines);
        ExecutorService pool = Executors.newFixedThreadPool(engines);
        try {
            List<Future<MmuCounters>> results = new java.util.ArrayList<>();
            for (int i = 0; i < engines; i++) {
                results.add(pool.submit(() -> {
                    Engine e = DispatchInterruptTest.started(d);
                    start.await();
                    e.scheduleWorkloads(d, 1_000_000);
                    e.runFor(1_000_000);
                    return e.view().vm("g").mmu();
                }));
            }
            MmuCounters first = results.get(0).get();
            assertEquals(300_000, first.accesses());
            for (Future<MmuCounters> f : results) assertEquals(first, f.get());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(counts + 1, Workloads.COUNTS_MADE.get(), "one pass over the trace for the four engines");
        assertEquals(before + 1, copies(), "one decoded copy for the four engines");
    }
}
