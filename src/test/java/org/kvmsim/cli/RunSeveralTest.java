package org.kvmsim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.SharedDir;

/**
 * `kvmsim run A B C` runs the scripts side by side and prints, on stdout and on stderr, byte for
 * byte what running them one after another prints, with the exit code of the worst; `check
 * --memory` says what heap a script needs; Ctrl-C stops every script and each says where.
 */
class RunSeveralTest {

    @TempDir
    Path dir;

    record Run(int rc, String out, String err) {}

    private static Run cli(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.run(args, new PrintWriter(o), new PrintWriter(e));
        return new Run(rc, o.toString(), e.toString());
    }

    private static List<String> sharedExamples() throws Exception {
        try (var s = Files.list(SharedDir.examples())) {
            return s.filter(p -> p.toString().endsWith(".kvm")).sorted().map(Path::toString).toList();
        }
    }

    private void sideBySideIsOneAfterAnother(String format) throws Exception {
        List<String> scripts = sharedExamples();
        StringBuilder out = new StringBuilder(), err = new StringBuilder();
        int rc = 0;
        for (String s : scripts) {
            Run r = cli("run", "--format", format, "--out", dir.resolve("one").toString(), s);
            out.append(r.out());
            err.append(r.err());
            rc = Math.max(rc, r.rc());
        }
        assertEquals(1, rc, "pool-too-small.kvm fails, as it should");
        String before = System.getProperty("kvmsim.sweep.threads");
        System.setProperty("kvmsim.sweep.threads", "3");
        try {
            List<String> args = new ArrayList<>(List.of("run", "--format", format, "--out", dir.resolve("one").toString()));
            args.addAll(scripts);
            assertEquals(new Run(rc, out.toString(), err.toString()), cli(args.toArray(String[]::new)));
        } finally {
            if (before == null) System.clearProperty("kvmsim.sweep.threads");
            else System.setProperty("kvmsim.sweep.threads", before);
        }
    }

    @Test
    void scriptsSideBySidePrintWhatTheyPrintOneAfterAnother() throws Exception {
        sideBySideIsOneAfterAnother("text");
    }

    @Test
    void inJsonEachScriptIsOneDocumentInArgumentOrder() throws Exception {
        sideBySideIsOneAfterAnother("json");
    }

    @Test
    void checkMemorySaysWhatHeapAScriptNeeds() throws Exception {
        Path f = dir.resolve("big.kvm");
        Files.writeString(f, """
                host hv1 { memory = 64 GiB; thp = never }
                vm g1 on hv1 { memory = 24 GiB; vcpus = 1; prealloc = on }
                sweep g1.prealloc in [on, off] { run 1 s; show vms }
                """);
        Run r = cli("check", "--memory", f.toString());
        assertEquals(0, r.rc(), r.err());
        // prealloc touches all 24 GiB, 6 M pages; the guard's heap per page (Engine) decides the figure
        assertTrue(r.out().startsWith(f + ": its engines need about "), r.out());
        assertTrue(r.out().contains("run it with KVMSIM_HEAP="), r.out());
        Run plain = cli("check", f.toString());
        assertEquals("", plain.out());
    }

    @Test
    void ctrlCStopsEveryScriptAndEachSaysWhere() throws Exception {
        String longRun = """
                host hv1 { memory = 8 GiB; thp = never }
                vm g1 on hv1 { memory = 2 GiB; vcpus = 1 }
                workload w on g1 { pattern = zipf(0.99); footprint = 256 MiB; accesses = 2_000_000_000; seed = 3 }
                run 100 s
                show mmu
                """;
        Path a = dir.resolve("a.kvm"), b = dir.resolve("b.kvm");
        Files.writeString(a, longRun);
        Files.writeString(b, longRun);
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dkvmsim.sweep.threads=2", "-Dkvmsim.signal.graceMillis=60000", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "run", a.toString(), b.toString());
        pb.environment().put("KVMSIM_PROGRESS", "lines");
        Process p = pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        // the first progress line (after 5 s) says the runs are under way
        var err = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        String first = err.readLine();
        assertTrue(first != null && first.startsWith("kvmsim: "), String.valueOf(first));
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the command did not stop");
        StringBuilder rest = new StringBuilder();
        for (String line; (line = err.readLine()) != null; ) rest.append(line).append('\n');
        assertEquals(RunCommand.INTERRUPTED, p.exitValue(), rest.toString());
        assertTrue(rest.toString().contains(a + ":4:1: interrupted: at "), rest.toString());
        assertTrue(rest.toString().contains(b + ":4:1: interrupted: at "), rest.toString());
    }
}
