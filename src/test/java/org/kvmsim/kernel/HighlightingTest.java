package org.kvmsim.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.antlr.v4.runtime.Vocabulary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.kvmsim.lang.Schema;
import org.kvmsim.lang.ShowSyntax;
import org.kvmsim.lang.antlr.KvmsimLexer;
import org.kvmsim.query.Queries;

/**
 * The word lists of the two highlighters (the Pygments lexer nbconvert uses, the CodeMirror mode
 * of the classic Notebook) are the grammar's literal tokens and the schema's words: a keyword,
 * unit, value word or show target added to the language and not to them fails here.
 */
class HighlightingTest {

    private static final String PY = "kvmsim_pygments.py";
    private static final String JS = "kernel.js";

    /** The grammar's literal tokens ('ksm', '..', '{'), without their quotes. */
    private static Set<String> grammarLiterals() {
        Vocabulary v = KvmsimLexer.VOCABULARY;
        Set<String> out = new TreeSet<>();
        for (int t = 1; t <= v.getMaxTokenType(); t++) {
            String lit = v.getLiteralName(t);
            if (lit != null) out.add(lit.substring(1, lit.length() - 1));
        }
        return out;
    }

    private static Set<String> grammarKeywords() {
        Set<String> out = new TreeSet<>();
        for (String l : grammarLiterals()) if (l.matches("[a-z_]+")) out.add(l);
        return out;
    }

    private static String text(String resource) throws IOException {
        return new String(PygmentsPlugin.resource(resource), StandardCharsets.UTF_8);
    }

    /** A list literal of the lexer's file: `NAME = ("a", "b")` in Python, `var NAME = ["a", "b"];` in JS. */
    private static List<String> list(String resource, String name) throws IOException {
        String src = text(resource);
        Pattern p = resource.endsWith(".py")
                ? Pattern.compile("(?m)^" + name + " = \\((.*?)\\)\\s*$", Pattern.DOTALL)
                : Pattern.compile("var " + name + " = \\[(.*?)\\];", Pattern.DOTALL);
        Matcher m = p.matcher(src);
        assertTrue(m.find(), resource + " defines " + name);
        List<String> out = new ArrayList<>();
        Matcher s = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(m.group(1).replaceAll("#[^\n]*", ""));
        while (s.find()) out.add(s.group(1).replace("\\\\", "\\"));
        return out;
    }

    private static Set<String> set(String resource, String name) throws IOException {
        List<String> l = list(resource, name);
        Set<String> s = new TreeSet<>(l);
        assertEquals(l.size(), s.size(), resource + ": " + name + " lists a word twice: " + l);
        return s;
    }

    @Test
    void keywordsAreTheGrammarsKeywordTokens() throws IOException {
        for (String f : List.of(PY, JS)) {
            Set<String> decl = set(f, "DECLARATIONS");
            Set<String> kw = set(f, "KEYWORDS");
            Set<String> both = new TreeSet<>(decl);
            both.retainAll(kw);
            assertEquals(Set.of(), both, f + ": a keyword is both a declaration and not");
            Set<String> all = new TreeSet<>(decl);
            all.addAll(kw);
            Set<String> expected = new TreeSet<>(grammarKeywords());
            expected.add("within"); // `run until ... within D`: a word the checker reads
            assertEquals(expected, all, f + ": keywords against grammar/Kvmsim.g4");
            // a declaration keyword opens one of the language's statements (Schema.STATEMENTS)
            Set<String> statementWords = new TreeSet<>();
            for (String s : Schema.STATEMENTS) statementWords.addAll(List.of(s.split(" ")));
            assertTrue(statementWords.containsAll(decl), f + ": " + decl + " within " + statementWords);
        }
    }

    @Test
    void operatorsAreTheGrammarsOtherLiteralTokens() throws IOException {
        Set<String> expected = new TreeSet<>(grammarLiterals());
        expected.removeAll(grammarKeywords());
        Set<String> got = new TreeSet<>(set(PY, "OPERATORS"));
        got.addAll(set(PY, "PUNCTUATION"));
        assertEquals(expected, got, PY + ": operators and punctuation against grammar/Kvmsim.g4");
        // the CodeMirror mode reads them in code: each must appear there
        String js = text(JS);
        for (String op : expected) assertTrue(js.contains(op), JS + " tokenizes " + op);
    }

    @Test
    void unitsBlocksValuesAndShowWordsAreTheSchemas() throws IOException {
        Set<String> units = new TreeSet<>(Schema.SIZE_UNITS);
        units.addAll(Schema.DURATION_UNITS);
        Set<String> constants = new TreeSet<>(List.of("on", "off", "every"));
        for (var block : List.of(Schema.KSM_POLICY, Schema.HOST, Schema.CPU_OVERRIDES, Schema.HUGEPAGES, Schema.IMAGE,
                Schema.VM, Schema.WORKLOAD, Schema.PLOT)) {
            for (Schema.Attr a : block.values()) {
                if (a.type() == Schema.Type.CHOICE) for (String c : a.choices()) constants.add(c.replace('-', '_'));
            }
        }
        constants.addAll(Schema.BACKINGS);
        constants.addAll(Schema.PATTERNS);
        constants.addAll(Schema.CONTENTS);
        Set<String> show = new TreeSet<>();
        for (ShowSyntax s : Queries.all().syntax()) show.addAll(s.words());
        show.removeAll(grammarKeywords());
        for (String f : List.of(PY, JS)) {
            assertEquals(units, set(f, "UNITS"), f + ": units");
            assertEquals(new TreeSet<>(Schema.HOST_BLOCKS), set(f, "BLOCKS"), f + ": blocks in a host");
            assertEquals(constants, set(f, "CONSTANTS"), f + ": value words");
            assertEquals(show, set(f, "SHOW_WORDS"), f + ": show targets");
        }
    }

    @Test
    void bothHighlightersListTheSameWords() throws IOException {
        for (String name : List.of("DECLARATIONS", "KEYWORDS", "BLOCKS", "UNITS", "CONSTANTS", "SHOW_WORDS")) {
            assertEquals(list(PY, name), list(JS, name), name);
        }
    }

    @Test
    void thePluginIsADistInfoWithAPygmentsEntryPointAndARecordOfItsFiles(@TempDir Path site) throws Exception {
        Files.createDirectories(site.resolve("kvmsim_pygments-0.0.1.dist-info"));
        Files.writeString(site.resolve("kvmsim_pygments-0.0.1.dist-info/METADATA"), "old");
        PygmentsPlugin.writeTo(site);
        assertFalse(Files.exists(site.resolve("kvmsim_pygments-0.0.1.dist-info")), "an older version's dist-info goes");
        List<Path> infos;
        try (var l = Files.list(site)) {
            infos = l.filter(p -> p.getFileName().toString().endsWith(".dist-info")).toList();
        }
        assertEquals(1, infos.size(), infos.toString());
        Path info = infos.get(0);
        assertEquals("[pygments.lexers]\nkvmsim = kvmsim_pygments:KvmsimLexer\n",
                Files.readString(info.resolve("entry_points.txt")));
        assertTrue(Files.readString(info.resolve("METADATA")).contains("\nName: kvmsim-pygments\n"));
        // RECORD: every file with its sha256 (urlsafe base64, no padding) and size, as pip writes it
        for (String line : Files.readAllLines(info.resolve("RECORD"))) {
            String[] f = line.split(",", -1);
            assertEquals(3, f.length, line);
            if (f[0].endsWith("/RECORD")) continue;
            byte[] data = Files.readAllBytes(site.resolve(f[0]));
            assertEquals("sha256=" + Base64.getUrlEncoder().withoutPadding().encodeToString(
                    MessageDigest.getInstance("SHA-256").digest(data)), f[1], line);
            assertEquals(String.valueOf(data.length), f[2], line);
        }
        assertEquals(text(PY), Files.readString(site.resolve(PY)));
    }

    @Test
    void theKernelspecCarriesKernelJsAndThePlugin(@TempDir Path kernels) throws IOException {
        Path dir = KernelSpec.install(kernels, "kvmsim");
        assertEquals(text(JS), Files.readString(dir.resolve("kernel.js")));
        assertTrue(Files.exists(KernelSpec.pygmentsDir(dir).resolve(PY)));
    }
}
