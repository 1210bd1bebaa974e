package org.kvmsim;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/** Runs a script through a fresh session (seed 1), as the tests that drive the whole engine do. */
public final class ScriptRun {

    private ScriptRun() {}

    /** The tables the script showed, in order; the test fails on any diagnostic. */
    public static List<Table> tables(String name, String text) {
        List<Table> tables = new ArrayList<>();
        Output out = new Output() {
            public void print(String t) {}

            public void table(Table t) {
                tables.add(t);
            }

            public void chart(String n, byte[] png, String svg) {}
        };
        Session.Result r = new Session(1).execute(new SourceFile(name + ".kvm", text), out);
        if (!r.ok()) fail(name + ".kvm failed: " + r.diagnostics());
        return tables;
    }
}
