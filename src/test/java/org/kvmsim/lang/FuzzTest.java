package org.kvmsim.lang;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.kvmsim.SharedDir;
import org.kvmsim.model.Declarations;
import org.kvmsim.query.Queries;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;

/**
 * Mutated scripts (10,000 a build) must only ever yield diagnostics: no exception, no stack
 * trace, a rendering for every error. Mutations start from the shared examples and the golden
 * scripts: deletions, insertions of tokens and bytes, duplications, swaps, huge numbers.
 */
class FuzzTest {

    private static final List<String> SEEDS = seeds();
    private static final String[] TOKENS = {"{", "}", "[", "]", "(", ")", "=", ";", "\n", "..", ".", ",", "%", "#",
            "\"", "host", "vm", "on", "like", "show", "run", "until", "sweep", "in", "pages", "map", "size", "page",
            "0x", "0xffffffffffffffffffff", "99999999999999999999999", "1.5", "GiB", "ms", "ksm", "policy",
            "hugepages", "same", "zero", "image", "changing", "every", "write", "set", "plot", "export", "print",
            "\u0000", "\u00ff", "\ud83d\ude00", "\t", "\r", "_", "-1", "0", "like a", "reset", "start", "stop"};

    private static List<String> seeds() {
        List<String> out = new ArrayList<>();
        List<Path> dirs = new ArrayList<>(List.of(Path.of("src/test/resources/scripts/ok"), Path.of("src/test/resources/scripts/err")));
        Path examples = SharedDir.examplesIfPresent("mutating the golden scripts only");
        if (examples != null) dirs.add(0, examples);
        for (Path d : dirs) {
            try (Stream<Path> s = Files.list(d)) {
                for (Path p : s.filter(x -> x.toString().endsWith(".kvm")).sorted().toList()) {
                    out.add(new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.UTF_8));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    static String mutate(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder b = new StringBuilder(SEEDS.get(r.nextInt(SEEDS.size())));
        int n = 1 + r.nextInt(6);
        for (int i = 0; i < n; i++) {
            int at = b.length() == 0 ? 0 : r.nextInt(b.length() + 1);
            switch (r.nextInt(7)) {
                case 0 -> b.delete(at, Math.min(b.length(), at + 1 + r.nextInt(12)));
                case 1 -> b.insert(at, TOKENS[r.nextInt(TOKENS.length)]);
                case 2 -> b.insert(at, (char) r.nextInt(0x3000));
                case 3 -> {
                    int end = Math.min(b.length(), at + r.nextInt(80));
                    b.insert(at, b.substring(at, end));
                }
                case 4 -> {
                    if (b.length() > 2) {
                        int a2 = r.nextInt(b.length());
                        char c = b.charAt(at == b.length() ? at - 1 : at);
                        b.setCharAt(at == b.length() ? at - 1 : at, b.charAt(a2));
                        b.setCharAt(a2, c);
                    }
                }
                case 5 -> b.insert(at, " " + r.nextLong() + "" + r.nextLong() + " ");
                default -> b.insert(at, "{".repeat(r.nextInt(100)));
            }
        }
        return b.toString();
    }

    @Property(tries = 10_000, seed = "20261126")
    void mutatedScriptsYieldOnlyDiagnostics(@ForAll long seed) {
        String text = mutate(seed);
        SourceFile src = new SourceFile("fuzz.kvm", text);
        Frontend.Result r = Frontend.compile(src, new Declarations(), Queries.all().syntax());
        String rendered = r.diagnostics().render(src);
        for (Diagnostic d : r.diagnostics().list()) {
            assertTrue(d.span().line() >= 1, "a diagnostic without a position: " + d);
            assertFalse(d.message().contains("Exception"), d.message());
        }
        assertFalse(rendered.contains("\tat org."), rendered);
    }

    @Property(tries = 500, seed = "7")
    void mutatedScriptsRunThroughASessionWithoutThrowing(@ForAll long seed) {
        Session s = new Session(1);
        s.outDir(Path.of(System.getProperty("java.io.tmpdir"), "kvmsim-fuzz"));
        Output sink = new Output() {
            public void print(String text) {}

            public void table(tech.tablesaw.api.Table t) {}

            public void chart(String name, byte[] png, String svg) {}
        };
        s.execute(new SourceFile("fuzz.kvm", mutate(seed)), sink);
    }
}
