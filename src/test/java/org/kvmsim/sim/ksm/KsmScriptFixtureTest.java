package org.kvmsim.sim.ksm;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.kvmsim.ScriptRun;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * Runs every fixtures/ksm/NAME.kvm through the whole engine ({@link Session}: language front
 * end, VM start, contents layout, ksmd timer, `run until`, `write`, `show ksm history`) and
 * requires every counter of every full scan in the history table to equal the real kernel's
 * line in NAME.jsonl (pages_scanned and pages_skipped as growth since the "start" line).
 *
 * The two races of the recordings are treated as in {@link KsmFixtureTest} (fixtures/ksm/README.md):
 * the "after_write" line is read right after the printing process (the last VM) wrote, so each
 * script writes that VM first, shows `show ksm`, writes the others and shows `show ksm` again,
 * and either table must match exactly; on the last line the real kernel may
 * already have unmapped the exited children's KSM zero pages, so there ksm_zero_pages (and the
 * general_profit that counts them) may also equal the value without the children's zero pages.
 * The history table's own last row is checked against the script's `show ksm` at the end, which
 * is the state with every VM still running.
 */
class KsmScriptFixtureTest {

    static final String[] FIELDS = KsmFixtureTest.FIELDS;

    static Stream<String> fixtures() throws Exception {
        return KsmFixtureTest.fixtures();
    }

    /** Runs a script through a session; returns the tables it showed, by name (last wins). */
    static List<Table> run(String name, String text) {
        return ScriptRun.tables(name, text);
    }

    static List<String> compare(String name) throws Exception {
        Path dir = KsmFixtureTest.dir();
        KsmFixtureTest.Params p = KsmFixtureTest.Params.parse(Files.readString(dir.resolve(name + ".cmd")));
        List<JsonObject> lines = new ArrayList<>();
        JsonObject afterWrite = null;
        for (String l : Files.readAllLines(dir.resolve(name + ".jsonl"))) {
            if (!l.isBlank()) {
                JsonObject o = JsonParser.parseString(l).getAsJsonObject();
                if (o.get("tag").getAsString().equals("after_write")) {
                    afterWrite = o;
                } else {
                    lines.add(o);
                }
            }
        }
        JsonObject start = lines.get(0);
        // `show ksm by vm` at the end gives each VM's KSM zero pages at the last full scan
        List<Table> tables = run(name, Files.readString(dir.resolve(name + ".kvm")) + "\nshow ksm by vm\n");
        Table hist = tables.stream().filter(t -> t.name().equals("ksm_history")).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError(name + ".kvm shows no ksm history"));
        List<String> errors = new ArrayList<>();
        // after_write: the script shows `show ksm` once the parent wrote and once everyone wrote
        List<Table> shown = tables.stream().filter(t -> t.name().equals("ksm")).toList();
        if (afterWrite != null) {
            if (shown.size() != 2) {
                errors.add(name + ": expected two `show ksm` around the writes, got " + shown.size());
            } else {
                long[] real = KsmFixtureTest.values(afterWrite, start);
                String d1 = KsmFixtureTest.diff(real, row(shown.get(0), 0));
                String d2 = KsmFixtureTest.diff(real, row(shown.get(1), 0));
                if (!d1.isEmpty() && !d2.isEmpty()) {
                    errors.add(name + " after_write:" + d1 + " /" + d2);
                }
            }
        }
        int scans = lines.size() - 1;
        if (hist.rowCount() != scans) {
            errors.add(name + ": history has " + hist.rowCount() + " full scans, the recording " + scans);
        }
        for (int r = 0; r < Math.min(scans, hist.rowCount()); r++) {
            JsonObject want = lines.get(r + 1);
            long[] real = KsmFixtureTest.values(want, start);
            long[] sim = row(hist, r);
            String d = KsmFixtureTest.diff(real, sim);
            if (!d.isEmpty() && r == scans - 1 && p.procs() > 1) {
                // the children may have exited (their zero pages unmapped) before the parent printed
                Table byVm = tables.stream().filter(t -> t.name().equals("ksm_by_vm")).reduce((a, b) -> b).orElseThrow();
                long childZero = 0;
                for (int v = 0; v < byVm.rowCount() - 1; v++) { // every VM but the last declared (the parent)
                    childZero += byVm.longColumn("ksm_zero_pages").getLong(v);
                }
                long[] alt = sim.clone();
                alt[7] -= childZero;
                alt[10] -= childZero * Ksmd.PAGE_SIZE;
                if (KsmFixtureTest.diff(real, alt).isEmpty()) {
                    d = "";
                }
            }
            if (!d.isEmpty()) {
                errors.add(name + " scan " + (r + 1) + ":" + d);
            }
        }
        return errors;
    }

    static long[] row(Table t, int r) {
        long[] v = new long[FIELDS.length];
        for (int i = 0; i < FIELDS.length; i++) {
            v[i] = t.longColumn(FIELDS[i]).getLong(r);
        }
        return v;
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void everyCounterOfEveryFullScanMatchesTheRealKernel(String name) throws Exception {
        List<String> errors = compare(name);
        if (!errors.isEmpty()) {
            fail(String.join("\n", errors));
        }
        assertTrue(errors.isEmpty());
    }
}
