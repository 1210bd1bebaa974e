package org.kvmsim.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * docs/tables.md's table of tables is the registry's: generated from each query's documentation
 * (-Dkvmsim.regenerate=true rewrites it, then read the diff), and each query's documentation
 * names the table it publishes and that table's columns, in order.
 */
class TablesDocTest {

    static final Path DOC = Path.of("docs/tables.md");
    static final String BEGIN = "<!-- queries: begin", END = "<!-- queries: end -->";
    /** A golden script that shows every query: a new query adds itself there. */
    static final Path EVERY_QUERY = Path.of("src/test/resources/scripts/ok/show-every-query.kvm");

    @Test
    void docsListEveryQueryAsTheRegistryDocumentsIt() throws IOException {
        String doc = Files.readString(DOC, StandardCharsets.UTF_8);
        int begin = doc.indexOf(BEGIN), end = doc.indexOf(END);
        assertTrue(begin >= 0 && end > begin, "docs/tables.md marks its generated part");
        int from = doc.indexOf('\n', begin) + 1;
        String expected = Queries.all().tablesDoc();
        if (Boolean.getBoolean("kvmsim.regenerate")) {
            doc = doc.substring(0, from) + expected + doc.substring(end);
            Files.writeString(DOC, doc, StandardCharsets.UTF_8);
        }
        assertEquals(expected, doc.substring(from, end), "docs/tables.md is behind the queries: regenerate it");
    }

    @Test
    void eachQueryDocumentsTheTableItPublishes() throws IOException {
        Map<String, Table> published = new HashMap<>();
        Output out = new Output() {
            public void print(String text) {}

            public void table(Table t) {
                published.put(t.name(), t);
            }

            public void chart(String name, byte[] png, String svg) {}
        };
        Session s = new Session(1);
        var r = s.execute(new SourceFile(EVERY_QUERY.toString(), Files.readString(EVERY_QUERY, StandardCharsets.UTF_8)), out);
        assertTrue(r.ok(), r.diagnostics().toString());
        for (Query<?> q : Queries.all().queries()) {
            Query.Doc d = q.doc();
            Table t = published.get(d.table());
            assertNotNull(t, d.form() + " publishes " + d.table() + " in " + EVERY_QUERY);
            int at = 0;
            for (String column : t.columnNames()) {
                Matcher m = Pattern.compile("(?<![a-z_])" + column + "(?![a-z_])")
                        .matcher(d.columns());
                assertTrue(m.find(at), d.form() + ": column " + column + " is documented, after the ones before it");
                at = m.end();
            }
        }
    }
}
