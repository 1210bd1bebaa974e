package org.kvmsim.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.cli.Main;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Session;

/**
 * `kvmsim sweep --spark` on an embedded Spark (local[2], in this JVM: surefire's argLine carries
 * the options Spark needs on Java 17) prints what `kvmsim run` prints, byte for byte: tables,
 * prints, a failing value's diagnostic, exported files and their contents, for several scripts
 * in one Spark session. One Spark context per command, so the whole test is two commands.
 */
class SparkSweepTest {

    private static final String SWEEPS = """
            host hv1 { memory = 16 GiB; cpu = skylake; thp = madvise
              hugepages pool2m { page_size = 2 MiB; count = 1024 } }
            vm g1 on hv1 { memory = 1 GiB; vcpus = 2 }
            workload w on g1 { pattern = zipf(0.99); footprint = 512 MiB; accesses = 200_000; writes = 10%; seed = 5 }
            run 1 s
            show vms
            sweep g1.backing in [anonymous, thp, hugepages pool2m, anonymous] {
              print "value"
              workload w2 on g1 { pattern = uniform; footprint = 256 MiB; accesses = 100_000; seed = 9 }
              run 1 s
              show mmu g1
              show meminfo
              export vms to "vms.csv"
            }
            show vms
            sweep hv1.thp in [never, always] { show vms }
            """;

    private static final String FAILING = """
            host hv1 { memory = 4 GiB; hugepages p { page_size = 2 MiB; count = 64 } }
            vm g1 on hv1 { memory = 1 GiB }
            sweep g1.backing in [anonymous, hugepages p, anonymous] { print "v"; run 1 s; show vms }
            """;

    private static final String RESET = """
            host hv1 { memory = 4 GiB }
            vm g1 on hv1 { memory = 1 GiB }
            run 1 s
            reset
            ksm policy slow { pages_to_scan = 100; sleep = 20 ms }
            host hv2 { memory = 8 GiB; ksm = slow }
            image img { footprint = 64 MiB; shared = 70%; zero = 20% }
            vm a on hv2 { memory = 256 MiB; image = img }
            vm b like a
            sweep hv2.ksm.pages_to_scan in [100, 1000] { run 2 s; show ksm }
            """;

    @TempDir
    Path dir;

    record Run(int rc, String out, String err) {}

    private Run cli(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.run(args, new PrintWriter(o), new PrintWriter(e));
        return new Run(rc, o.toString(), e.toString());
    }

    private List<String> scripts() throws Exception {
        List<String> files = new ArrayList<>();
        for (String[] s : new String[][] {{"sweeps.kvm", SWEEPS}, {"failing.kvm", FAILING}, {"reset.kvm", RESET}}) {
            Path f = dir.resolve(s[0]);
            Files.writeString(f, s[1]);
            files.add(f.toString());
        }
        return files;
    }

    @Test
    void sparkPrintsWhatALocalRunPrints() throws Exception {
        List<String> files = scripts();
        List<String> local = new ArrayList<>(List.of("run", "--out", dir.resolve("local").toString()));
        local.addAll(files);
        List<String> spark = new ArrayList<>(List.of("sweep", "--spark", "--master", "local[2]", "--out", dir.resolve("spark").toString()));
        spark.addAll(files);
        Run a = cli(local.toArray(String[]::new));
        Run b = cli(spark.toArray(String[]::new));
        assertEquals(1, a.rc(), a.err()); // failing.kvm fails, as it does alone
        assertTrue(a.out().contains("sweep_meminfo") && a.out().contains("pages_to_scan"), a.out());
        assertTrue(a.err().contains("failing.kvm:2:1: error: with g1.backing = hugepages p"), a.err());
        assertEquals(a, b);
        // an export in a sweep's body is written by the driver, in value order: the last value's
        assertEquals(Files.readString(dir.resolve("local/vms.csv")), Files.readString(dir.resolve("spark/vms.csv")));
    }

    @Test
    void withoutSparkOrWithABadMasterItSaysSoInOneLine() throws Exception {
        Path f = dir.resolve("one.kvm");
        Files.writeString(f, FAILING);
        Run r = cli("sweep", "--master", "local[2]", f.toString());
        assertEquals(2, r.rc());
        assertEquals("kvmsim: --master names a Spark master: it needs --spark\n", r.err());
        Run bad = cli("sweep", "--spark", "--master", "nonsense://x", f.toString());
        assertEquals(1, bad.rc(), bad.err());
        assertTrue(bad.err().startsWith("kvmsim: cannot start Spark on nonsense://x: "), bad.err());
        assertEquals(1, bad.err().lines().count(), bad.err());
    }

    /**
     * Scripts side by side share one Spark context: a value that fails in one script cancels that
     * script's job and no other, even where the jobs share a group (their numbers once raced, and
     * one script's failure cancelled the other's sweep at "3 of 4 done"). Here every job is put in
     * one group, and the failing script's job starts while the long one's last value runs.
     */
    @Test
    void aFailingScriptCancelsItsOwnJobOnly() throws Exception {
        try (SparkSweeps spark = new SparkSweeps("local[2]")) {
            spark.groups = () -> 1;
            Session longOne = new Session(1);
            Session failing = new Session(1);
            longOne.remoteSweeps(spark);
            failing.remoteSweeps(spark);
            java.util.concurrent.CountDownLatch submitted = new java.util.concurrent.CountDownLatch(1);
            List<String> longOut = java.util.Collections.synchronizedList(new ArrayList<>());
            // the third value runs longest, so the failing script's tasks run while it does
            java.util.concurrent.CompletableFuture<Session.Result> longRun = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> longOne.execute(new SourceFile("long.kvm", """
                            host hv1 { memory = 8 GiB; thp = never }
                            vm g1 on hv1 { memory = 1 GiB }
                            workload w on g1 { pattern = uniform; footprint = 64 MiB; accesses = 3_000_000; seed = 1 }
                            print "sweeping"
                            sweep w.accesses in [100_000, 100_000, 30_000_000] {
                              run 1 s
                              show mmu
                            }
                            """), new Collect(longOut, submitted)));
            assertTrue(submitted.await(60, java.util.concurrent.TimeUnit.SECONDS));
            Session.Result failed = failing.execute(new SourceFile("failing.kvm", FAILING), new Collect(new ArrayList<>(), null));
            assertFalse(failed.ok());
            assertTrue(failed.diagnostics().get(0).message().startsWith("with g1.backing = hugepages p: "),
                    failed.diagnostics().toString());
            Session.Result r = longRun.get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(r.ok(), r.diagnostics().toString());
            assertTrue(longOut.contains("table sweep 3"), longOut.toString());
        }
    }

    /** Prints and tables' names; {@code first} counted down at the first print. */
    private record Collect(List<String> lines, java.util.concurrent.CountDownLatch first) implements org.kvmsim.session.Output {
        public void print(String text) {
            lines.add(text);
            if (first != null) first.countDown();
        }

        public void table(tech.tablesaw.api.Table table) {
            lines.add("table " + table.name() + " " + table.rowCount());
        }

        public void chart(String name, byte[] png, String svg) {}
    }

    /**
     * A failed job is said by its own first line (the task, its executor, the exception), not by
     * the empty "Exception thrown in awaitResult: " that waiting on the job wraps it in.
     */
    @Test
    void aFailedJobSaysWhatFailed() {
        var job = new org.apache.spark.SparkException("Job aborted due to stage failure: Task 3 in stage 0.0 failed 1 times, "
                + "most recent failure: Lost task 3.0 (TID 3): java.lang.IllegalStateException: x\n\tat a.b(C.java:1)\nDriver stacktrace:");
        var waited = new org.apache.spark.SparkException("Exception thrown in awaitResult: ", job);
        assertEquals("Job aborted due to stage failure: Task 3 in stage 0.0 failed 1 times, most recent failure: "
                + "Lost task 3.0 (TID 3): java.lang.IllegalStateException: x", SparkSweeps.why(waited));
        assertEquals("java.lang.IllegalStateException", SparkSweeps.why(new IllegalStateException()));
    }

    /**
     * Ctrl-C during a Spark sweep: the job is cancelled and the run says where it stopped, exit
     * 130, though Spark's own shutdown hook stops its context at the same time (the race that
     * once printed an internal error).
     */
    @Test
    void ctrlCStopsTheSparkJobAndSaysWhere() throws Exception {
        Path f = dir.resolve("long.kvm");
        Files.writeString(f, """
                host hv1 { memory = 8 GiB; thp = never }
                vm g1 on hv1 { memory = 2 GiB; vcpus = 1 }
                workload w on g1 { pattern = zipf(0.99); footprint = 256 MiB; accesses = 2_000_000_000; seed = 3 }
                print "started"
                sweep g1.paging in [ept, shadow] { run 100 s; show mmu }
                """);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-D") && !a.startsWith("-Dkvmsim")).toList());
        // the report is asserted: the signal's hook waits for it however loaded the machine is
        cmd.add("-Dkvmsim.signal.graceMillis=60000");
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "sweep", "--spark", "--master", "local[2]", "-q", f.toString()));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("started", out.readLine()); // Spark is up and the script runs
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the command did not stop");
        String err = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(130, p.exitValue(), err);
        assertTrue(err.matches("(?s)(.*\\n)?" + java.util.regex.Pattern.quote(f.toString()) + ":5:1: interrupted: [^\\n]*\\n"), err);
    }
}
