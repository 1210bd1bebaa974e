package org.kvmsim.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.kvmsim.cli.Main;

/**
 * Every notebook in notebooks/, executed again in-process (`kvmsim notebook run --check`), is byte
 * for byte the committed file. The protocol tests (test_kvmsim_kernel.py) hold the same files to
 * what `jupyter nbconvert --execute` through the installed kernel writes.
 */
class PublishedNotebooksTest {

    static Stream<Path> notebooks() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("notebooks"))) {
            List<Path> all = s.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
            assertFalse(all.isEmpty(), "no notebooks in " + Path.of("notebooks").toAbsolutePath());
            return all.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("notebooks")
    void rerunsToTheSameBytes(Path notebook) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = Main.run(new String[] {"notebook", "run", "--check", "--quiet", notebook.toString()},
                new PrintWriter(out), new PrintWriter(err));
        assertEquals(0, rc, err.toString());
        assertTrue(out.toString().contains("the same bytes again"), out.toString());
    }
}
