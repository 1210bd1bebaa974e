package org.kvmsim.kernel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.antlr.v4.runtime.Token;
import org.kvmsim.lang.Schema;
import org.kvmsim.lang.antlr.KvmsimLexer;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.KhugepagedSysfs;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * Tab completion: what may stand at the cursor, given the blocks open around it and what the
 * statement so far says. Only words valid in that place are offered (the attributes of the
 * enclosing block, names of the kind a reference needs, units after a number), so a single
 * match can be inserted without asking.
 */
final class Completion {

    /** Matches replace the cell's text from {@code start} to {@code end} (code points). */
    record Result(List<String> matches, int start, int end) {}

    private Completion() {}

    static Result complete(String code, int cursorCodePoints, Session session) {
        int cursor = Text.charIndex(code, cursorCodePoints);
        int start = cursor;
        while (start > 0 && Text.isWordChar(code.charAt(start - 1))) start--;
        String prefix = code.substring(start, cursor);
        CellScan scan = CellScan.of(code.substring(0, start));
        Set<String> out = new LinkedHashSet<>();
        for (String c : candidates(scan, session)) {
            if (c.toLowerCase(Locale.ROOT).startsWith(prefix.toLowerCase(Locale.ROOT))) out.add(c);
        }
        return new Result(List.copyOf(out), Text.codePointIndex(code, start), Text.codePointIndex(code, cursor));
    }

    private static List<String> candidates(CellScan scan, Session session) {
        Declarations d = session.declarations();
        List<String> w = scan.words();
        List<Token> tokens = scan.current();
        Token last = tokens.isEmpty() ? null : tokens.get(tokens.size() - 1);
        if (last != null && last.getType() == KvmsimLexer.NUMBER) return units(scan, w);
        if (!scan.atStatementLevel()) return insideBlock(scan.block(), w, session);
        if (w.isEmpty()) return Schema.STATEMENTS;
        String lastWord = w.get(w.size() - 1);
        return switch (w.get(0)) {
            case "ksm" -> w.size() == 1 ? List.of("policy") : List.of();
            case "show" -> w.size() > 1 && lastWord.equals("on") ? names(d.hosts.keySet())
                    : session.queries().complete(w.subList(1, w.size()), d);
            case "vm" -> w.size() == 2 ? List.of("on", "like")
                    : lastWord.equals("on") ? names(d.hosts.keySet())
                    : lastWord.equals("like") ? names(d.vms.keySet()) : List.of();
            case "workload" -> w.size() == 2 ? List.of("on")
                    : lastWord.equals("on") || lastWord.equals(",") ? names(d.vms.keySet()) : List.of();
            case "pagetable" -> w.size() == 2 ? List.of("in") : lastWord.equals("in") ? names(d.vms.keySet()) : List.of();
            case "contents" -> w.size() == 1 ? names(d.vms.keySet()) : List.of();
            case "write" -> w.size() == 1 ? names(d.vms.keySet()) : w.size() == 2 ? List.of("pages") : List.of();
            case "start", "stop" -> w.size() == 1 ? concat(names(d.vms.keySet()), List.of("vm"))
                    : w.size() == 2 && lastWord.equals("vm") ? names(d.vms.keySet()) : List.of();
            case "reset" -> w.size() == 1 ? List.of("mmu") : List.of();
            case "plot" -> w.size() == 1 ? names(session.tables().keySet()) : List.of();
            case "export" -> w.size() == 1 ? names(session.tables().keySet()) : w.size() == 2 ? List.of("to") : List.of();
            case "set", "sweep" -> path(w.subList(1, w.size()), d, false);
            case "run" -> w.size() == 1 ? List.of("until")
                    : w.get(1).equals("until") ? path(w.subList(2, w.size()), d, true) : List.of();
            default -> List.of();
        };
    }

    /** `set h.ksm.pages_to_scan`, `sweep v.memory`, `run until h.ksm.full_scans`. */
    private static List<String> path(List<String> w, Declarations d, boolean counters) {
        if (w.isEmpty()) {
            return counters ? names(d.hosts.keySet())
                    : concat(names(d.hosts.keySet()), names(d.vms.keySet()), names(d.workloads.keySet()));
        }
        if (!w.get(w.size() - 1).equals(".")) return List.of();
        String owner = w.get(0);
        if (w.size() == 2) {
            if (d.hosts.containsKey(owner)) {
                if (counters) return List.of("ksm");
                List<String> out = new ArrayList<>(Schema.HOST.keySet());
                out.add("khugepaged");
                d.hosts.get(owner).pools().forEach(p -> out.add(p.name()));
                return out;
            }
            if (d.vms.containsKey(owner)) return new ArrayList<>(Schema.VM.keySet());
            if (d.workloads.containsKey(owner)) return new ArrayList<>(Schema.WORKLOAD.keySet());
            return List.of();
        }
        if (w.size() == 4 && w.get(2).equals("ksm")) {
            return counters ? Schema.KSM_COUNTERS : new ArrayList<>(Schema.KSM_POLICY.keySet());
        }
        if (w.size() == 4 && w.get(2).equals("khugepaged") && !counters) return KhugepagedSysfs.KNOBS;
        if (w.size() == 4 && !counters) return List.of("count", "overcommit");
        return List.of();
    }

    private static List<String> insideBlock(CellScan.Block block, List<String> w, Session session) {
        Map<String, Schema.Attr> schema = Schema.of(block.kind());
        if (w.isEmpty()) {
            List<String> out = new ArrayList<>(schema.keySet());
            if (block.kind().equals("host")) out.add("hugepages");
            if (block.kind().equals("contents")) out.add("pages");
            return out;
        }
        if (w.size() < 2 || !w.get(1).equals("=")) return List.of();
        if (block.kind().equals("plot") && (w.get(0).equals("x") || w.get(0).equals("y"))) {
            Table t = session.tables().get(block.label());
            return t == null ? List.of() : t.columnNames();
        }
        Schema.Attr a = schema.get(w.get(0));
        if (a == null) return List.of();
        Declarations d = session.declarations();
        return switch (a.type()) {
            case CHOICE -> a.choices();
            case ON_OFF -> List.of("on", "off");
            case REF -> names(switch (a.ref()) {
                case "ksm policy" -> d.policies.keySet();
                case "image" -> d.images.keySet();
                case "host" -> d.hosts.keySet();
                default -> List.<String>of();
            });
            case BACKING -> w.size() == 2 ? Schema.BACKINGS : List.of();
            case PATTERN -> w.size() == 2 ? Schema.PATTERNS : List.of();
            default -> List.of();
        };
    }

    private static List<String> units(CellScan scan, List<String> w) {
        if (scan.atStatementLevel()) {
            return !w.isEmpty() && w.get(0).equals("run") ? Schema.DURATION_UNITS
                    : concat(Schema.SIZE_UNITS, Schema.DURATION_UNITS);
        }
        Schema.Attr a = w.isEmpty() ? null : Schema.of(scan.block().kind()).get(w.get(0));
        if (a != null && (a.type() == Schema.Type.SIZE || a.type() == Schema.Type.PAGE_SIZE)) return Schema.SIZE_UNITS;
        if (a != null && a.type() == Schema.Type.DURATION) return Schema.DURATION_UNITS;
        if (a != null && (a.type() == Schema.Type.PERCENT)) return List.of("%");
        if (a != null) return List.of();
        return concat(Schema.SIZE_UNITS, Schema.DURATION_UNITS);
    }

    private static List<String> names(Collection<String> names) {
        return new ArrayList<>(names);
    }

    @SafeVarargs
    private static List<String> concat(List<String>... lists) {
        List<String> out = new ArrayList<>();
        for (List<String> l : lists) out.addAll(l);
        return out;
    }
}
