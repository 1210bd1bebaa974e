package org.kvmsim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden tests: every script under scripts/ok runs (exit 0) and prints exactly its .out; every
 * script under scripts/err fails (exit 1) and reports exactly its .err. A script without its
 * .out or .err fails: expected output is only ever written on purpose, with
 * {@code mvn -B -o test -Dtest=GoldenScriptsTest -Dkvmsim.regenerate=true}, which writes every
 * script's current output (new scripts' too) into src/test/resources/scripts; then read the diff
 * and the new files before committing them.
 *
 * <p>{@code mvn verify} runs this class again under a Turkish locale (pom.xml, execution
 * turkish-locale), where every script must print the same bytes. That run sets
 * kvmsim.golden.checkOnly, so it never writes expected files.
 */
class GoldenScriptsTest {

    static final Path ROOT = Path.of("src/test/resources/scripts");
    static final boolean REGENERATE = Boolean.getBoolean("kvmsim.regenerate") && !Boolean.getBoolean("kvmsim.golden.checkOnly");

    @TempDir
    Path out;

    static Stream<Path> ok() throws IOException {
        return scripts("ok");
    }

    static Stream<Path> err() throws IOException {
        return scripts("err");
    }

    private static Stream<Path> scripts(String dir) throws IOException {
        try (Stream<Path> s = Files.list(ROOT.resolve(dir))) {
            List<Path> l = s.filter(p -> p.toString().endsWith(".kvm")).sorted().toList();
            return l.stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ok")
    void okScriptsRunAndPrintTheirOutput(Path script) throws IOException {
        Run r = run(script);
        String want = expected(script, ".out", r.stdout);
        assertEquals(want, r.stdout, "output of " + script);
        assertEquals("", r.stderr, "stderr of " + script);
        assertEquals(0, r.rc, "exit code of " + script);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("err")
    void errScriptsReportTheirDiagnostics(Path script) throws IOException {
        Run r = run(script);
        String want = expected(script, ".err", r.stderr);
        assertEquals(want, r.stderr, "diagnostics of " + script);
        assertEquals(1, r.rc, "exit code of " + script);
    }

    record Run(int rc, String stdout, String stderr) {}

    private Run run(Path script) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.run(new String[] {"run", script.toString(), "--out", out.toString()}, new PrintWriter(o), new PrintWriter(e));
        return new Run(rc, o.toString(), e.toString());
    }

    /** The script's expected output, written from {@code actual} first when regenerating. */
    private static String expected(Path script, String ext, String actual) throws IOException {
        Path expected = Path.of(script.toString().replaceAll("\\.kvm$", ext));
        if (REGENERATE) {
            Files.writeString(expected, actual, StandardCharsets.UTF_8);
        }
        if (!Files.exists(expected)) {
            fail(script + " has no " + expected.getFileName() + ": write it on purpose with -Dkvmsim.regenerate=true"
                    + " and read it before committing it");
        }
        return Files.readString(expected, StandardCharsets.UTF_8);
    }
}
