package org.kvmsim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Progress of a long `kvmsim run` as a user sees it: under a pseudo-terminal (util-linux
 * `script`, the process's stdin, stdout and stderr on one pty) a bar redrawn with \r; none in
 * --format json, whose standard output stays one JSON document.
 */
class ProgressTest {

    /** A run of a few seconds: long enough for the bar, which waits a second. */
    private static final String LONG = """
            host hv1 { memory = 8 GiB; thp = never }
            vm g1 on hv1 { memory = 2 GiB; vcpus = 1 }
            workload w on g1 { pattern = zipf(0.99); footprint = 512 MiB; accesses = 20_000_000; seed = 3 }
            run 10 s
            show mmu
            """;

    @TempDir
    Path dir;

    /** `kvmsim ARGS` under a pty; what the terminal showed (stdout and stderr together). */
    private String underPty(Map<String, String> env, String... args) throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux script is not installed");
        StringBuilder cmd = new StringBuilder();
        for (String a : List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Main.class.getName())) {
            cmd.append('\'').append(a).append("' ");
        }
        for (String a : args) cmd.append('\'').append(a).append("' ");
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/script", "-q", "-e", "-c", cmd.toString(), "/dev/null")
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().remove("KVMSIM_PROGRESS");
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void aTerminalSeesABarRedrawnInPlace() throws Exception {
        Path s = dir.resolve("long.kvm");
        Files.writeString(s, LONG);
        String shown = underPty(Map.of(), "run", s.toString());
        // simulated time, accesses done (a count as a person reads it), wall time, estimate
        assertTrue(shown.matches("(?s).*\r\\[#*\\.*\\] [0-9.]+ s of 10 s simulated, [0-9.]+( [kMG])? accesses, \\d+ s elapsed, (about \\d+ s|\\?) left.*"), shown);
        assertTrue(shown.contains("accesses"), "the table follows the bar: " + shown);
    }

    @Test
    void jsonOutputHasNoProgress() throws Exception {
        Path s = dir.resolve("long.kvm");
        Files.writeString(s, LONG);
        String shown = underPty(Map.of("KVMSIM_PROGRESS", "bar"), "run", s.toString(), "--format", "json");
        assertFalse(shown.contains("simulated"), shown);
        assertFalse(shown.contains("\r["), shown);
        assertTrue(JsonParser.parseString(shown.strip()).getAsJsonObject().has("tables"), shown);
    }

    @Test
    void quietAndPipedRuns() {
        // off: nothing at all; lines: no \r, and nothing in a run shorter than a second
        String before = System.getProperty("kvmsim.progress");
        System.setProperty("kvmsim.progress", "lines");
        try {
            StringWriter o = new StringWriter(), e = new StringWriter();
            Path s = dir.resolve("short.kvm");
            Files.writeString(s, "host hv1 { memory = 1 GiB }\nrun 1 s\n");
            assertEquals(0, Main.run(new String[] {"run", s.toString()}, new PrintWriter(o), new PrintWriter(e)));
            assertEquals("", e.toString());
            assertEquals(Progress.Mode.OFF, Progress.detect(true, false));
            assertEquals(Progress.Mode.OFF, Progress.detect(false, true));
            assertEquals(Progress.Mode.LINES, Progress.detect(false, false));
        } catch (Exception x) {
            throw new AssertionError(x);
        } finally {
            if (before == null) System.clearProperty("kvmsim.progress");
            else System.setProperty("kvmsim.progress", before);
        }
    }

    @Test
    void timesReadAsAPersonSaysThem() {
        assertEquals("42 s", Progress.time(42_000_000_000L));
        assertEquals("3 min 05 s", Progress.time(185_000_000_000L));
        assertEquals("2.5 h", Progress.time(9_000_000_000_000L));
        assertEquals("950", Progress.count(950));
        assertEquals("12.3 k", Progress.count(12_345));
        assertEquals("4.57 M", Progress.count(4_567_890));
        assertEquals("1.20 G", Progress.count(1_200_000_000L));
    }
}
