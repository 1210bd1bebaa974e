package org.kvmsim.kernel;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.kvmsim.lang.Schema;
import org.kvmsim.model.ByteSize;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.KsmPolicy;
import org.kvmsim.report.Render;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * Shift-Tab help: the documentation of the word under the cursor. An attribute is documented
 * as the block around it defines it (meaning, type, default, the Linux or QEMU knob); a keyword
 * by its form; a declared name by its current configuration and its rows in the session's
 * tables. Returns plain text; the kernel wraps it for the front end.
 */
final class Inspection {

    private Inspection() {}

    static String inspect(String code, int cursorCodePoints, Session session) {
        int cursor = Text.charIndex(code, cursorCodePoints);
        int start = cursor, end = cursor;
        while (start > 0 && Text.isWordChar(code.charAt(start - 1))) start--;
        while (end < code.length() && Text.isWordChar(code.charAt(end))) end++;
        if (start == end) return null;
        String word = code.substring(start, end);
        CellScan scan = CellScan.of(code.substring(0, start));
        List<String> before = scan.words();

        if (!scan.atStatementLevel() && (before.isEmpty() || before.size() == 2 && before.get(1).equals("="))) {
            // An attribute name, or a name given as an attribute's value.
            Schema.Attr a = Schema.of(scan.block().kind()).get(word);
            if (a != null && before.isEmpty()) return scan.block().kind() + " attribute " + a.describe();
        }
        if (!before.isEmpty() && before.get(0).equals("show")) {
            List<String> words = new ArrayList<>(before.subList(1, before.size()));
            words.add(word);
            String help = session.queries().help(words);
            if (help != null) return help;
        }
        if (before.size() >= 3 && before.get(before.size() - 1).equals(".") && before.get(before.size() - 2).equals("ksm")) {
            if (!before.isEmpty() && before.get(0).equals("run") && Schema.KSM_COUNTERS.contains(word)) {
                return "KSM counter " + word + ": as ksmd reports it in /sys/kernel/mm/ksm/" + word;
            }
            Schema.Attr a = Schema.KSM_POLICY.get(word);
            if (a != null) return "ksm policy attribute " + a.describe();
        }
        String declared = declared(word, session);
        if (declared != null) return declared;
        if (before.isEmpty() && Keywords.STATEMENTS.containsKey(word)) return Keywords.STATEMENTS.get(word);
        return anywhere(word, session);
    }

    /** A word seen out of any telling context: every meaning it has. */
    private static String anywhere(String word, Session session) {
        List<String> out = new ArrayList<>();
        if (Keywords.STATEMENTS.containsKey(word)) out.add(Keywords.STATEMENTS.get(word));
        for (String kind : List.of("host", "vm", "image", "workload", "ksm policy", "hugepages", "plot")) {
            Schema.Attr a = Schema.of(kind).get(word);
            if (a != null) out.add(kind + " attribute " + a.describe());
        }
        if (Schema.KSM_COUNTERS.contains(word)) {
            out.add("KSM counter " + word + ": as ksmd reports it in /sys/kernel/mm/ksm/" + word);
        }
        String show = session.queries().help(List.of(word));
        if (show != null) out.add(show);
        if (Keywords.WORDS.containsKey(word)) out.add(Keywords.WORDS.get(word));
        return out.isEmpty() ? null : String.join("\n\n", out);
    }

    private static String declared(String name, Session session) {
        Declarations d = session.declarations();
        Object decl;
        String kind;
        if (d.vms.containsKey(name)) {
            decl = d.vms.get(name);
            kind = "vm";
        } else if (d.hosts.containsKey(name)) {
            decl = d.hosts.get(name);
            kind = "host";
        } else if (d.policies.containsKey(name)) {
            decl = d.policies.get(name);
            kind = "ksm policy";
        } else if (d.images.containsKey(name)) {
            decl = d.images.get(name);
            kind = "image";
        } else if (d.workloads.containsKey(name)) {
            decl = d.workloads.get(name);
            kind = "workload";
        } else if (session.tables().containsKey(name)) {
            Table t = session.tables().get(name);
            return "table " + name + " (" + t.rowCount() + " rows): " + String.join(", ", t.columnNames());
        } else {
            return null;
        }
        StringBuilder b = new StringBuilder(kind).append(' ').append(name).append(" (declared in this session)");
        for (RecordComponent rc : decl.getClass().getRecordComponents()) {
            if (rc.getName().equals("name")) continue;
            b.append("\n  ").append(rc.getName()).append(" = ").append(value(rc, decl));
        }
        for (Table t : session.tables().values()) {
            if (!t.columnNames().contains("name") || t.column("name").type() != tech.tablesaw.api.ColumnType.STRING) continue;
            for (int row = 0; row < t.rowCount(); row++) {
                if (!name.equals(t.stringColumn("name").get(row))) continue;
                b.append("\nin table ").append(t.name()).append(':');
                for (String col : t.columnNames()) {
                    if (!col.equals("name")) b.append("\n  ").append(col).append(" = ").append(Render.raw(t.column(col), row));
                }
            }
        }
        return b.toString();
    }

    private static String value(RecordComponent rc, Object decl) {
        try {
            Object v = rc.getAccessor().invoke(decl);
            if (v instanceof Long l && (rc.getName().equals("memory") || rc.getName().equals("footprint"))) {
                return new ByteSize(l).toString();
            }
            if (v instanceof Map<?, ?> m && m.isEmpty()) return "(defaults)";
            if (v instanceof Enum<?> e) return e.name().toLowerCase(Locale.ROOT);
            if (v instanceof KsmPolicy p) return p.name();
            return String.valueOf(v);
        } catch (ReflectiveOperationException e) {
            return "?";
        }
    }
}
