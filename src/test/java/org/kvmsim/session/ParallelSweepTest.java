package org.kvmsim.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import tech.tablesaw.api.Table;

/**
 * Sweep values run in parallel on scratch sessions: what the script prints, in what order, and
 * every table are byte for byte those of a sequential sweep; an interrupt stops every worker.
 */
class ParallelSweepTest {

    private static final String SCRIPT = """
            host hv1 { memory = 16 GiB; cpu = skylake; thp = madvise
              hugepages pool2m { page_size = 2 MiB; count = 1024 } }
            vm g1 on hv1 { memory = 1 GiB; vcpus = 2 }
            workload w on g1 { pattern = zipf(0.99); footprint = 512 MiB; accesses = 400_000; writes = 10%; seed = 5 }
            run 1 s
            sweep g1.backing in [anonymous, thp, hugepages pool2m, anonymous] {
              print "value"
              workload w2 on g1 { pattern = uniform; footprint = 256 MiB; accesses = 300_000; seed = 9 }
              run 1 s
              show mmu g1
              show meminfo
            }
            sweep hv1.thp in [never, always] { show vms }
            """;

    /** Everything the session sent out, rendered, in order. */
    private static String transcript(String threads, String text) {
        String before = System.getProperty("kvmsim.sweep.threads");
        System.setProperty("kvmsim.sweep.threads", threads);
        try {
            StringBuilder sb = new StringBuilder();
            Output out = new Output() {
                public void print(String t) {
                    sb.append("print: ").append(t).append('\n');
                }

                public void table(Table t) {
                    sb.append(Render.text(t));
                }

                public void chart(String name, byte[] png, String svg) {
                    sb.append("chart ").append(name).append('\n');
                }
            };
            Session.Result r = new Session(3).execute(new SourceFile("sweep.kvm", text), out);
            sb.append("ok=").append(r.ok()).append(' ').append(r.diagnostics());
            return sb.toString();
        } finally {
            if (before == null) System.clearProperty("kvmsim.sweep.threads");
            else System.setProperty("kvmsim.sweep.threads", before);
        }
    }

    @Test
    void parallelSweepPrintsWhatASequentialOnePrints() {
        String seq = transcript("1", SCRIPT);
        assertTrue(seq.contains("ok=true"), seq);
        assertEquals(seq, transcript("4", SCRIPT));
        assertEquals(seq, transcript("2", SCRIPT));
    }

    @Test
    void aFailingValueFailsAsInASequentialSweep() {
        String failing = """
                host hv1 { memory = 4 GiB; hugepages p { page_size = 2 MiB; count = 64 } }
                vm g1 on hv1 { memory = 1 GiB }
                sweep g1.backing in [anonymous, hugepages p, anonymous] { print "v"; run 1 s; show vms }
                """;
        String seq = transcript("1", failing);
        assertTrue(seq.contains("ok=false"), seq);
        assertEquals(seq, transcript("3", failing));
    }

    @Test
    void anInterruptStopsEveryWorker() throws Exception {
        String before = System.getProperty("kvmsim.sweep.threads");
        System.setProperty("kvmsim.sweep.threads", "4");
        try {
            Session s = new Session(1);
            CountDownLatch started = new CountDownLatch(1);
            List<Session.Result> result = new ArrayList<>();
            Thread t = new Thread(() -> result.add(s.execute(new SourceFile("long.kvm", """
                    host hv1 { memory = 16 GiB }
                    vm g1 on hv1 { memory = 1 GiB }
                    sweep g1.vcpus in [1, 2, 3, 4] {
                      workload w on g1 { pattern = uniform; footprint = 512 MiB; accesses = 2_000_000_000 }
                      run 100 s
                      show mmu
                    }
                    """), new Output() {
                public void print(String text) {}

                public void table(Table table) {}

                public void chart(String name, byte[] png, String svg) {}

                public void progress(long done, long total) {
                    started.countDown();
                }
            })));
            t.start();
            assertTrue(started.await(60, TimeUnit.SECONDS));
            s.interrupt();
            // uninterrupted, the four values take minutes (8 G accesses): a wait of a minute tells
            // a stop from a run to the end without hanging on the machine's load
            t.join(60_000);
            assertFalse(t.isAlive(), "the sweep still runs a minute after the interrupt");
            assertTrue(result.get(0).interrupted(), result.toString());
            // no worker goes on in the background (their threads end just after the sweep returns)
            long until = System.nanoTime() + 30_000_000_000L;
            while (Thread.getAllStackTraces().keySet().stream().anyMatch(th -> th.getName().equals("kvmsim-sweep") && th.isAlive())
                    && System.nanoTime() < until) {
                Thread.sleep(20);
            }
            assertTrue(Thread.getAllStackTraces().keySet().stream()
                    .noneMatch(th -> th.getName().equals("kvmsim-sweep") && th.isAlive()), "a sweep worker still runs");
        } finally {
            if (before == null) System.clearProperty("kvmsim.sweep.threads");
            else System.setProperty("kvmsim.sweep.threads", before);
        }
    }
}
