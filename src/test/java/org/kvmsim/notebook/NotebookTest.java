package org.kvmsim.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The notebook file format as Python's nbformat writes it, nbclient's rules for outputs, and the
 * published page. Expected strings were printed by Debian's Python 3.11 (json, str.splitlines,
 * re.sub) and nbformat 5.5.
 */
class NotebookTest {

    @Test
    void floatsAsPythonsRepr() {
        // /usr/bin/python3 -c 'print(json.dumps(x))' for each
        assertEquals("1e+16", PyJson.floatRepr(1e16));
        assertEquals("1000000000000000.0", PyJson.floatRepr(1e15));
        assertEquals("0.0001", PyJson.floatRepr(0.0001));
        assertEquals("1e-05", PyJson.floatRepr(0.00001));
        assertEquals("1.5e-07", PyJson.floatRepr(1.5e-7));
        assertEquals("1.2345678901234568e+17", PyJson.floatRepr(123456789012345680.0));
        assertEquals("0.1", PyJson.floatRepr(0.1));
        assertEquals("-0.0", PyJson.floatRepr(-0.0));
        assertEquals("1e+300", PyJson.floatRepr(1e300));
        assertEquals("5e-324", PyJson.floatRepr(5e-324));
        assertEquals("0.3333333333333333", PyJson.floatRepr(1.0 / 3));
        assertEquals("100.0", PyJson.floatRepr(100.0));
        assertEquals("1e+22", PyJson.floatRepr(1e22));
        assertEquals("2", PyJson.dumps(JsonParser.parseString("2")));
        assertEquals("2.0", PyJson.dumps(JsonParser.parseString("2.00")));
        assertEquals("0", PyJson.dumps(JsonParser.parseString("-0")));
        assertEquals("100000.0", PyJson.dumps(JsonParser.parseString("1E5")));
    }

    @Test
    void objectsAsJsonDumpsIndentOneSortedKeysNotAscii() throws Exception {
        JsonObject o = PyJson.parse("{\"b\": \"x\\u0001\\u007f\\u2028\u00e9\\\"\\\\\\t\", \"a\": [], \"c\": {},"
                + " \"\u00e9\": 1, \"\ud83d\ude00\": 2, \"\uffff\": 3}").getAsJsonObject();
        // json.dumps(..., indent=1, sort_keys=True, ensure_ascii=False): keys by code point (U+FFFF before U+1F600)
        assertEquals("{\n \"a\": [],\n \"b\": \"x\\u0001\u007f\u2028\u00e9\\\"\\\\\\t\",\n \"c\": {},\n \"\u00e9\": 1,\n"
                + " \"\uffff\": 3,\n \"\ud83d\ude00\": 2\n}", PyJson.dumps(o));
        assertThrows(PyJson.Malformed.class, () -> PyJson.parse("{\"a\": 1} x"));
        assertThrows(PyJson.Malformed.class, () -> PyJson.parse("{'a': 1}"));
    }

    @Test
    void linesSplitAtPythonsLineBoundaries() {
        // 'a\r\nb\rc\x0bd\x1ce\u2028f\n'.splitlines(True)
        assertEquals(List.of("a\r\n", "b\r", "c\u000b", "d\u001c", "e\u2028", "f\n"),
                PyText.splitLinesKeepEnds("a\r\nb\rc\u000bd\u001ce\u2028f\n"));
        assertEquals(List.of(), PyText.splitLinesKeepEnds(""));
        assertEquals(List.of("x"), PyText.splitLinesKeepEnds("x"));
        assertTrue(PyText.isBlank(" \n\t\u00a0\u3000"));
        assertFalse(PyText.isBlank(" x "));
    }

    private static String notebook(String cells, int minor) {
        return "{\"cells\": [" + cells + "], \"metadata\": {\"kernelspec\": {\"name\": \"kvmsim\"}, \"signature\": \"s\"},"
                + " \"nbformat\": 4, \"nbformat_minor\": " + minor + "}";
    }

    private static String code(String source) {
        return "{\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {\"trusted\": true}, \"outputs\": [],"
                + " \"source\": " + new com.google.gson.Gson().toJson(source) + "}";
    }

    @Test
    void writtenAsNbformatWrites() throws Exception {
        JsonObject nb = Nbformat.read(notebook(code("print \"a\"\nshow vms") + ", {\"cell_type\": \"markdown\", \"id\": \"m1\","
                + " \"metadata\": {}, \"source\": [\"# T\\n\", \"text\"]}", 5));
        String out = Nbformat.write(nb);
        // source split keeping line ends; transient keys (signature, trusted) gone; an id for the cell without one
        assertTrue(out.contains("\"source\": [\n    \"print \\\"a\\\"\\n\",\n    \"show vms\"\n   ]"), out);
        assertTrue(out.contains("\"source\": [\n    \"# T\\n\",\n    \"text\"\n   ]"), out);
        assertFalse(out.contains("signature") || out.contains("trusted"), out);
        assertTrue(out.endsWith("}\n"), "a newline at the end, as nbconvert writes");
        String id = nb.getAsJsonArray("cells").get(0).getAsJsonObject().get("id").getAsString();
        assertTrue(id.matches("[0-9a-f]{8}"), id);
        assertEquals(id, Nbformat.read(notebook(code("print \"a\"\nshow vms"), 5)).getAsJsonArray("cells").get(0)
                .getAsJsonObject().get("id").getAsString(), "the same cell gets the same id: runs are deterministic");
        assertEquals(out, Nbformat.write(Nbformat.read(out)), "read and written again: the same");
    }

    @Test
    void anOlderMinorBecomesFourFiveWithIdsAndDuplicatesAreRenamed() throws Exception {
        JsonObject nb = Nbformat.read(notebook(code("a") + "," + code("b"), 4));
        assertEquals(5, nb.get("nbformat_minor").getAsInt());
        JsonArray cells = nb.getAsJsonArray("cells");
        assertNotEquals(cells.get(0).getAsJsonObject().get("id"), cells.get(1).getAsJsonObject().get("id"));
        JsonObject dup = Nbformat.read(notebook(code("a").replace("{\"cell_type\"", "{\"id\": \"x\", \"cell_type\"") + ","
                + code("b").replace("{\"cell_type\"", "{\"id\": \"x\", \"cell_type\""), 5));
        assertEquals("x", dup.getAsJsonArray("cells").get(0).getAsJsonObject().get("id").getAsString());
        assertNotEquals("x", dup.getAsJsonArray("cells").get(1).getAsJsonObject().get("id").getAsString());
        Nbformat.Invalid v3 = assertThrows(Nbformat.Invalid.class, () -> Nbformat.read("{\"nbformat\": 3, \"worksheets\": []}"));
        assertTrue(v3.getMessage().contains("nbformat 4"), v3.getMessage());
        assertThrows(Nbformat.Invalid.class, () -> Nbformat.read("[1]"));
        assertThrows(Nbformat.Invalid.class, () -> Nbformat.read("{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\"}], \"metadata\": {}}"));
    }

    @Test
    void streamsCoalesceAndCarriageReturnsOverwriteAsNbconvert() {
        JsonObject cell = JsonParser.parseString("{\"outputs\": ["
                + "{\"output_type\": \"stream\", \"name\": \"stdout\", \"text\": \"abc\\rdef\\r\\n\"},"
                + "{\"output_type\": \"stream\", \"name\": \"stdout\", \"text\": \"xy\\r\\rz\\n\"},"
                + "{\"output_type\": \"stream\", \"name\": \"stderr\", \"text\": \"e\\n\"}]}").getAsJsonObject();
        NotebookRun.coalesceStreams(cell);
        JsonArray o = cell.getAsJsonArray("outputs");
        assertEquals(2, o.size());
        // re.sub(r'.*\r(?=[^\n])', '', 'abc\rdef\r\nxy\r\rz\n') == 'def\r\nz\n'
        assertEquals("def\r\nz\n", o.get(0).getAsJsonObject().get("text").getAsString());
    }

    private static JsonObject run(String cells, boolean allowErrors, long[] now, Path folder) throws Exception {
        NotebookRun.Result r = NotebookRun.execute(Nbformat.read(notebook(cells, 5)), folder, allowErrors,
                new NotebookRun.Listener() {}, () -> now[0] += 400_000_000L);
        if (r.failure() != null) {
            JsonObject failed = new JsonObject();
            failed.addProperty("failed", r.failure().index());
            failed.addProperty("evalue", r.failure().evalue());
            return failed;
        }
        return r.notebook();
    }

    @Test
    void cellsRunInOneSessionAndTheProgressOfALongRunIsNotSaved(@TempDir Path dir) throws Exception {
        long[] now = {0};
        // every clock reading is 0.4 s later: the run's progress display shows, then must go
        JsonObject nb = run(code("print \"before\"\nhost h { memory = 1 GiB }\nvm v on h { memory = 256 MiB }") + ","
                + code("   \n") + "," + code("run 2 s\nprint \"after\"\nshow vms"), false, now, dir);
        JsonArray cells = nb.getAsJsonArray("cells");
        JsonObject first = cells.get(0).getAsJsonObject(), blank = cells.get(1).getAsJsonObject(), third = cells.get(2).getAsJsonObject();
        assertEquals(1, first.get("execution_count").getAsInt());
        assertTrue(blank.get("execution_count").isJsonNull(), "a blank cell is not run, as nbclient skips it");
        assertEquals(2, third.get("execution_count").getAsInt());
        JsonArray outs = third.getAsJsonArray("outputs");
        assertEquals(2, outs.size(), outs.toString());
        assertEquals("after\n", outs.get(0).getAsJsonObject().get("text").getAsString());
        assertTrue(outs.get(1).getAsJsonObject().getAsJsonObject("data").get("text/plain").getAsString().contains("running"));
        assertFalse(outs.toString().contains("simulated"), "no progress display saved: " + outs);
        assertEquals("kvmsim", nb.getAsJsonObject("metadata").getAsJsonObject("language_info").get("name").getAsString());
    }

    @Test
    void anErrorStopsTheNotebookUnlessErrorsAreAllowed(@TempDir Path dir) throws Exception {
        String cells = code("host a { memory = 1 GiB; memroy = 1 GiB }") + "," + code("print \"next\"");
        JsonObject failed = run(cells, false, new long[1], dir);
        assertEquals(0, failed.get("failed").getAsInt());
        assertTrue(failed.get("evalue").getAsString().contains("memroy"), failed.toString());
        JsonArray c = run(cells, true, new long[1], dir).getAsJsonArray("cells");
        JsonObject err = c.get(0).getAsJsonObject().getAsJsonArray("outputs").get(0).getAsJsonObject();
        assertEquals("error", err.get("output_type").getAsString());
        assertEquals("Error", err.get("ename").getAsString());
        assertTrue(err.getAsJsonArray("traceback").get(0).getAsString().startsWith("In[1]:1:26: error: unknown attribute 'memroy'"),
                err.toString());
        assertEquals("next\n", c.get(1).getAsJsonObject().getAsJsonArray("outputs").get(0).getAsJsonObject().get("text").getAsString());
    }

    @Test
    void relativeNamesAreTheNotebooksFolders(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("sub"));
        long[] now = {0};
        JsonObject nb = run(code("host h { memory = 1 GiB }\nvm v on h { memory = 256 MiB }\nshow vms\nexport vms to \"out/vms.csv\""),
                false, now, dir.resolve("sub"));
        assertTrue(Files.isRegularFile(dir.resolve("sub/out/vms.csv")), "written in the notebook's folder");
        assertNotNull(nb.getAsJsonArray("cells"));
    }

    @Test
    void codeIsHighlightedByTheLanguagesLexer() {
        String h = Highlight.html("# setup\nhost h { memory = 2 GiB }\nprint \"a<b\"\nrun 10 s");
        assertTrue(h.startsWith("<span class=\"c\"># setup</span>\n"), h);
        assertTrue(h.contains("<span class=\"k\">host</span> h {"), h);
        assertTrue(h.contains("<span class=\"m\">2</span> <span class=\"m\">GiB</span>"), h);
        assertTrue(h.contains("<span class=\"s\">&quot;a&lt;b&quot;</span>"), h);
        assertTrue(h.contains("<span class=\"k\">run</span> <span class=\"m\">10</span> <span class=\"m\">s</span>"), h);
    }

    @Test
    void thePageIsStandaloneWithTablesChartsAndMarkdownTables(@TempDir Path dir) throws Exception {
        long[] now = {0};
        JsonObject nb = run("{\"cell_type\": \"markdown\", \"metadata\": {}, \"source\": \"| a | b |\\n|---|---|\\n| 1 | 2 |\\n\"},"
                + code("host h { memory = 1 GiB }\nvm v on h { memory = 256 MiB }\nshow vms\n"
                + "plot vms { x = name; y = memory_bytes; kind = bar }"), false, now, dir);
        String page = NotebookPage.html(nb, "t");
        assertTrue(page.startsWith("<!DOCTYPE html>"), page);
        assertTrue(page.contains("<table>\n<thead>\n<tr>\n<th>a</th>"), "GFM table: " + page);
        assertTrue(page.contains("<table class=\"kvmsim\""), "the kernel's table");
        assertTrue(page.contains("<img src=\"data:image/svg+xml;base64,"), "the chart inline");
        for (String remote : List.of("<script", "<link", "src=\"http", "url(http", "@import")) {
            assertFalse(page.contains(remote), "nothing from the network: " + remote);
        }
        String md = NotebookPage.markdown(nb, "t", dir.resolve("t_files"), "t_files");
        assertTrue(md.contains("```kvmsim\nhost h"), md);
        assertTrue(md.contains("](t_files/cell1-output1.png)"), md);
        assertTrue(Files.size(dir.resolve("t_files/cell1-output1.png")) > 1000);
        assertEquals(page, NotebookPage.html(nb, "t"), "deterministic");
        assertNull(NotebookCheck.difference("x".getBytes(StandardCharsets.UTF_8), "x".getBytes(StandardCharsets.UTF_8)));
    }

    private static String[] cli(int expectRc, String... args) {
        java.io.StringWriter o = new java.io.StringWriter(), e = new java.io.StringWriter();
        int rc = org.kvmsim.cli.Main.run(args, new java.io.PrintWriter(o), new java.io.PrintWriter(e));
        assertEquals(expectRc, rc, o + "\n" + e);
        return new String[] {o.toString(), e.toString()};
    }

    @Test
    void theCommandSaysWhatIsWrongWithoutAStackTrace(@TempDir Path dir) throws Exception {
        String[] missing = cli(2, "notebook", "run", "-q", dir.resolve("none.ipynb").toString());
        assertTrue(missing[1].contains("cannot read") && missing[1].contains("none.ipynb"), missing[1]);
        Path bad = Files.writeString(dir.resolve("bad.ipynb"), "{\"cells\": [\n  1,\n}");
        String[] notJson = cli(2, "notebook", "run", "-q", bad.toString());
        assertTrue(notJson[1].startsWith(bad + ": not JSON: ") && notJson[1].contains("line"), notJson[1]);
        assertFalse(notJson[1].contains("at com.") || notJson[1].contains("Exception"), notJson[1]);
        Path failing = Files.writeString(dir.resolve("f.ipynb"), notebook(code("print \"x\"") + "," + code("host a { memory = 1 GiB; memroy = 1 GiB }"), 5));
        String[] failed = cli(1, "notebook", "run", "-q", failing.toString());
        assertTrue(failed[1].contains("f.ipynb: cell 1 (`host a { memory = 1 GiB; memroy = 1 GiB }`) failed: Error: "), failed[1]);
        assertTrue(failed[1].contains("In[2]:1:26: error: unknown attribute 'memroy'"), failed[1]);
        assertEquals(notebook(code("print \"x\"") + "," + code("host a { memory = 1 GiB; memroy = 1 GiB }"), 5),
                Files.readString(failing), "nothing written after an error");
        Path ok = Files.writeString(dir.resolve("ok.ipynb"), notebook(code("print \"x\""), 5));
        cli(0, "notebook", "run", "-q", "--out", dir.resolve("out").toString(), ok.toString());
        byte[] written = Files.readAllBytes(dir.resolve("out/ok.ipynb"));
        String[] checked = cli(0, "notebook", "run", "-q", "--check", dir.resolve("out/ok.ipynb").toString());
        assertTrue(checked[0].contains("the same bytes again"), checked[0]);
        String[] notYet = cli(1, "notebook", "run", "-q", "--check", ok.toString());
        assertTrue(notYet[1].contains("cell 0 (`print \"x\"`): output 0 is new:"), notYet[1]);
        cli(0, "notebook", "run", "-q", "--to", "md", "--out", dir.toString(), dir.resolve("out/ok.ipynb").toString());
        assertTrue(Files.readString(dir.resolve("ok.md")).contains("```kvmsim\nprint \"x\"\n```"));
        org.junit.jupiter.api.Assertions.assertArrayEquals(written, Files.readAllBytes(dir.resolve("out/ok.ipynb")), "--to md leaves the notebook");
    }
}
