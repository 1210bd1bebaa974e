package org.kvmsim.query;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.report.Tables;
import org.kvmsim.sim.view.KsmCounters;
import tech.tablesaw.api.Table;

/**
 * `show ksm history [beside "ksm.jsonl"] [on HOST]`: the KSM counters at the end of every full
 * scan; beside a real recording (tools/realguest's ksm.jsonl: one JSON object per full scan, with
 * full_scans and the sysfs counters) also the real counters of the same full scan, to compare
 * and plot together.
 */
final class KsmHistoryQuery implements Query<KsmHistoryQuery.Args> {

    /** Counters a recording gives beside kvmsim's, as real_NAME columns. */
    static final List<String> REAL = List.of("pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
            "ksm_zero_pages");

    /**
     * {@code host}: the one of `on HOST`, or null for every host; {@code real}: per full scan
     * (index), the recording's REAL counters (null rows where it has none), or null.
     */
    record Args(String host, String recording, List<long[]> real) implements ShowArgs {}

    @Override
    public List<String> words() {
        return List.of("ksm", "history");
    }

    @Override
    public Doc doc() {
        return new Doc("show ksm history [beside \"ksm.jsonl\"] [on HOST]", "the KSM counters at the end of every full scan"
                + " so far; beside a real recording (tools/realguest's ksm.jsonl, relative to the script), also its counters.",
                "ksm_history", "host, time_s (when the full scan ended), then the counters of `ksm`: full_scans,"
                        + " pages_scanned, pages_shared, pages_sharing, pages_unshared, pages_volatile, pages_skipped,"
                        + " ksm_zero_pages, stable_node_chains, stable_node_dups, general_profit: one row per completed"
                        + " full scan; beside a recording also real_pages_shared, real_pages_sharing, real_pages_unshared,"
                        + " real_pages_volatile, real_ksm_zero_pages: the recording's at the same full_scans (missing where"
                        + " it has none)");
    }

    /** `beside "FILE"` follows its words. */
    @Override
    public boolean takesArguments() {
        return true;
    }

    @Override
    public Class<Args> argsType() {
        return Args.class;
    }

    @Override
    public Args check(List<Syntax.Atom> args, ShowContext c) {
        if (!args.isEmpty() && args.get(0) instanceof Syntax.Word w && w.text().equals("beside")) {
            if (args.size() < 2 || !(args.get(1) instanceof Syntax.Str f)) {
                c.error(w.span(), "beside needs a recording: show ksm history beside \"ksm.jsonl\"");
                return null;
            }
            if (!c.noMore(args.subList(2, args.size()), "ksm history beside FILE")) return null;
            List<long[]> real = recording(f, c);
            return real == null ? null : new Args(c.host(), f.value(), real);
        }
        if (!args.isEmpty()) {
            c.error(args.get(0).span(), "show ksm history takes nothing or beside \"ksm.jsonl\"; unexpected '" + args.get(0).text() + "'");
            return null;
        }
        return new Args(c.host(), null, null);
    }

    /** The recording's counters by full scan, or null after reporting why it cannot be read. */
    private static List<long[]> recording(Syntax.Str f, ShowContext c) {
        java.nio.file.Path file;
        try {
            file = c.folder(f.span()).resolve(f.value());
        } catch (java.nio.file.InvalidPathException e) {
            c.error(f.span(), "not a file name: '" + f.value().replace("\0", "\\0") + "'");
            return null;
        }
        List<String> lines;
        try {
            lines = java.nio.file.Files.readAllLines(file);
        } catch (java.io.IOException e) {
            // (no absolute path in the message: the same script gives the same text anywhere)
            c.error(f.span(), "cannot read the recording '" + f.value() + "': "
                            + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : "not a readable file"),
                    "a relative name is relative to the script's folder");
            return null;
        }
        List<long[]> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            try {
                com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(lines.get(i)).getAsJsonObject();
                int scan = o.get("full_scans").getAsInt();
                long[] v = new long[REAL.size()];
                for (int k = 0; k < v.length; k++) v[k] = o.get(REAL.get(k)).getAsLong();
                while (out.size() <= scan) out.add(null);
                out.set(scan, v);
            } catch (RuntimeException e) {
                c.error(f.span(), file + ":" + (i + 1) + ": not a ksm.jsonl line (a JSON object with full_scans and "
                        + String.join(", ", REAL) + ")");
                return null;
            }
        }
        return out;
    }

    @Override
    public Table answer(Args a, Source in) {
        List<String> hosts = in.hosts(a.host());
        List<List<KsmCounters>> history = new ArrayList<>();
        for (String h : hosts) history.add(in.view().host(h).ksmHistory());
        Table t = Tables.ksmHistory(hosts, history);
        if (a.real() != null) {
            tech.tablesaw.api.LongColumn scans = t.longColumn("full_scans");
            for (int k = 0; k < REAL.size(); k++) {
                tech.tablesaw.api.LongColumn col = tech.tablesaw.api.LongColumn.create("real_" + REAL.get(k));
                for (int r = 0; r < t.rowCount(); r++) {
                    int s = (int) scans.getLong(r);
                    long[] v = s < a.real().size() ? a.real().get(s) : null;
                    if (v == null) col.appendMissing();
                    else col.append(v[k]);
                }
                t.addColumns(col);
            }
        }
        return t;
    }
}
