package org.kvmsim.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import tech.tablesaw.api.Table;

/**
 * A sweep's values as tasks that only see the script's text and send back bytes (what a Spark
 * executor does, here on a thread pool that finishes them in reverse order): the session prints
 * what a local sweep prints (a plot in the body of a table made before the sweep too); a stop cancels the rest and says how far the sweep got.
 */
class RemoteSweepTest {

    private static final String SCRIPT = """
            host hv1 { memory = 16 GiB; cpu = skylake; thp = madvise
              hugepages pool2m { page_size = 2 MiB; count = 1024 } }
            vm g1 on hv1 { memory = 1 GiB; vcpus = 2 }
            workload w on g1 { pattern = zipf(0.99); footprint = 512 MiB; accesses = 200_000; writes = 10%; seed = 5 }
            run 1 s
            show vms
            sweep g1.backing in [anonymous, thp, hugepages pool2m] {
              print "value"
              run 1 s
              show mmu g1
              show meminfo
              plot mmu { x = vm; y = cycles }
              plot vms { x = name; y = rss_bytes }
            }
            sweep hv1.thp in [never, always] { show vms }
            """;

    /** Runs every task at once and hands the results over in value order, as SparkSweeps does. */
    private static final class Threads implements Session.RemoteSweeps {
        int tasks;

        @Override
        public boolean run(SweepTask task, Session.ValueSink inOrder, BooleanSupplier stop) {
            ExecutorService pool = Executors.newFixedThreadPool(task.values());
            try {
                List<Future<byte[]>> results = new ArrayList<>();
                for (int i = 0; i < task.values(); i++) {
                    int v = i;
                    tasks++;
                    results.add(pool.submit(() -> task.run(v)));
                }
                for (int i = 0; i < results.size(); i++) {
                    if (stop.getAsBoolean()) return false;
                    inOrder.accept(i, results.get(i).get());
                }
                return true;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static String transcript(Session s, String text) {
        StringBuilder sb = new StringBuilder();
        Output out = new Output() {
            public void print(String t) {
                sb.append("print: ").append(t).append('\n');
            }

            public void table(Table t) {
                sb.append(Render.text(t));
            }

            public void chart(String name, byte[] png, String svg) {
                sb.append("chart ").append(name).append(' ').append(png.length).append(' ').append(svg.hashCode()).append('\n');
            }
        };
        Session.Result r = s.execute(new SourceFile("sweep.kvm", text), out);
        sb.append("ok=").append(r.ok()).append(' ').append(r.diagnostics());
        return sb.toString();
    }

    @Test
    void tasksFromTheScriptsTextPrintWhatALocalSweepPrints() {
        String local = transcript(new Session(3), SCRIPT);
        assertTrue(local.contains("ok=true") && local.contains("chart "), local);
        Session s = new Session(3);
        Threads remote = new Threads();
        s.remoteSweeps(remote);
        assertEquals(local, transcript(s, SCRIPT));
        assertEquals(5, remote.tasks);
    }

    @Test
    void aStopCancelsTheSweepAndSaysHowFarItGot() {
        Session s = new Session(3);
        s.remoteSweeps((task, inOrder, stop) -> {
            inOrder.accept(0, task.run(0));
            s.interrupt(); // Ctrl-C while value 1 runs
            return !stop.getAsBoolean();
        });
        String t = transcript(s, SCRIPT);
        assertTrue(t.contains("interrupted: with 1 of 3 sweep values done"), t);
        assertFalse(t.contains("ok=true"), t);
    }

    @Test
    void tablesTravelAsTheirRawValues() {
        Table t = Table.create("t", tech.tablesaw.api.LongColumn.create("n", new long[] {1, Long.MIN_VALUE, -7}),
                tech.tablesaw.api.DoubleColumn.create("x", new double[] {0.1, Double.NaN, 1e-300}),
                tech.tablesaw.api.StringColumn.create("s", List.of("a", "", "é ü")));
        Table back = Wire.tables(Wire.tables(List.of(t))).get(0);
        assertEquals(Render.text(t), Render.text(back));
        assertEquals(Render.csv(t), Render.csv(back));
        assertEquals(t.name(), back.name());
    }
}
