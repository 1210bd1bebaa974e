package org.kvmsim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.SharedDir;

class CliTest {

    @TempDir
    Path dir;

    record Run(int rc, String out, String err) {}

    static Run cli(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int rc = Main.run(args, new PrintWriter(o), new PrintWriter(e));
        return new Run(rc, o.toString(), e.toString());
    }

    private Path script(String text) throws Exception {
        Path p = dir.resolve("lab.kvm");
        Files.writeString(p, text);
        return p;
    }

    @Test
    void sharedExamplesAllCheckClean() throws Exception {
        Path examples = SharedDir.examples();
        List<String> args = new ArrayList<>(List.of("check"));
        try (var s = Files.list(examples)) {
            s.filter(p -> p.toString().endsWith(".kvm")).sorted().forEach(p -> args.add(p.toString()));
        }
        assertTrue(args.size() >= 7, "expected the six shared examples, found " + (args.size() - 1));
        Run r = cli(args.toArray(String[]::new));
        assertEquals("", r.err);
        assertEquals(0, r.rc);
    }

    /**
     * The shared examples are specification: each runs as written. pool-too-small shows QEMU's
     * failure when a hugetlb pool is too small, so that one fails, with QEMU's text.
     */
    @Test
    void sharedExamplesAllRun() throws Exception {
        Path examples = SharedDir.examples();
        List<Path> scripts;
        try (var s = Files.list(examples)) {
            scripts = s.filter(p -> p.toString().endsWith(".kvm")).sorted().toList();
        }
        for (Path p : scripts) {
            Run r = cli("run", "--out", Files.createTempDirectory("example").toString(), p.toString());
            if (p.getFileName().toString().equals("pool-too-small.kvm")) {
                assertEquals(1, r.rc, p.toString());
                assertTrue(r.err.contains("unable to map backing store for guest RAM: Cannot allocate memory"), r.err);
            } else {
                assertEquals("", r.err, p.toString());
                assertEquals(0, r.rc, p.toString());
            }
        }
    }

    @Test
    void jsonErrorContract() throws Exception {
        Path p = script("ksm policy fast {\n  pages_to_scna = 100\n}\n");
        Run r = cli("run", "--format", "json", p.toString());
        assertEquals(1, r.rc);
        JsonObject doc = JsonParser.parseString(r.out).getAsJsonObject();
        JsonObject e = doc.getAsJsonArray("errors").get(0).getAsJsonObject();
        assertEquals(p.toString(), e.get("file").getAsString());
        assertEquals(2, e.get("line").getAsInt());
        assertEquals(3, e.get("column").getAsInt());
        assertEquals("unknown attribute 'pages_to_scna' in ksm policy", e.get("message").getAsString());
        assertEquals("did you mean 'pages_to_scan'?", e.get("hint").getAsString());
        // without a hint the key is still there, null
        Run r2 = cli("run", "--format", "json", script("host h { memory = 1 GiB; hugepages p { page_size = 4 MiB } }\n").toString());
        JsonObject e2 = JsonParser.parseString(r2.out).getAsJsonObject().getAsJsonArray("errors").get(0).getAsJsonObject();
        assertTrue(e2.has("hint") && e2.get("hint").isJsonNull(), r2.out);
    }

    @Test
    void jsonTablesContract() throws Exception {
        Path p = script("host h { memory = 4 GiB }\nvm v on h { memory = 1 GiB; vcpus = 2 }\nshow vms\nshow vms\n");
        Run r = cli("run", "--format", "json", p.toString());
        assertEquals(0, r.rc, r.err);
        JsonObject doc = JsonParser.parseString(r.out).getAsJsonObject();
        var tables = doc.getAsJsonArray("tables");
        assertEquals(2, tables.size());
        JsonObject t = tables.get(0).getAsJsonObject();
        assertEquals("vms", t.get("name").getAsString());
        JsonObject col = t.getAsJsonArray("columns").get(2).getAsJsonObject();
        assertEquals("memory_bytes", col.get("name").getAsString());
        assertEquals("integer", col.get("type").getAsString());
        assertEquals(1L << 30, t.getAsJsonArray("rows").get(0).getAsJsonArray().get(2).getAsLong());
    }

    @Test
    void exitCodes() throws Exception {
        assertEquals(2, cli("run").rc, "missing file argument is a usage error");
        assertEquals(2, cli("frobnicate").rc);
        assertEquals(2, cli("run", dir.resolve("missing.kvm").toString()).rc);
        assertEquals(2, cli("run", "--format", "xml", script("").toString()).rc);
        assertEquals(0, cli("--version").rc);
        assertEquals(0, cli("--help").rc);
        assertEquals(1, cli("check", script("host").toString()).rc);
    }

    @Test
    void checkTakesManyFilesAndReportsEach() throws Exception {
        Path a = dir.resolve("a.kvm"), b = dir.resolve("b.kvm");
        Files.writeString(a, "host h { memory = 1 GiB }\n");
        Files.writeString(b, "host h { memory = 1 }\n");
        Run r = cli("check", a.toString(), b.toString());
        assertEquals(1, r.rc);
        assertTrue(r.err.startsWith(b + ":1:19: error: a size needs a unit"), r.err);
        assertFalse(r.err.contains(a.toString()));
    }

    @Test
    void aTenMegabyteFileGetsDiagnosticsNotACrash() throws Exception {
        StringBuilder b = new StringBuilder();
        while (b.length() < 10_000_000) b.append("host h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\n");
        b.append("vm w on nowhere { memory = 1 GiB }\n");
        Run r = cli("check", script(b.toString()).toString());
        assertEquals(1, r.rc);
        assertTrue(r.err.contains("unknown host 'nowhere'"), r.err.substring(0, Math.min(300, r.err.length())));
    }

    @Test
    void deepNestingAndBinaryGarbageGetDiagnostics() throws Exception {
        Run deep = cli("check", script("host h " + "{".repeat(100_000)).toString());
        assertEquals(1, deep.rc);
        assertTrue(deep.err.contains("nesting too deep"), deep.err);
        byte[] junk = new byte[100_000];
        new Random(1).nextBytes(junk);
        Path p = dir.resolve("junk.kvm");
        Files.write(p, junk);
        Run r = cli("check", p.toString());
        assertEquals(1, r.rc);
        assertTrue(r.err.contains("error:"), r.err);
        assertFalse(r.err.contains("Exception"), r.err);
    }
}
