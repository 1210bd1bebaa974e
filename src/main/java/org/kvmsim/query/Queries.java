package org.kvmsim.query;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.kvmsim.lang.ShowSyntax;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.sim.view.Probe;
import org.kvmsim.sim.view.SimView;
import tech.tablesaw.api.Table;

/**
 * Every `show` the language has, in the order help lists them: the checker takes their syntax
 * from here, the session their answers and what a sweep must replay, the kernel its help and
 * completion, and docs/tables.md its table of tables.
 */
public final class Queries {

    private static final Queries ALL = new Queries(List.of(new VmsQuery(), new TranslateQuery(), new WalkQuery(),
            new MmuQuery(), new MmuByVcpuQuery(), new CpusQuery(), new KsmQuery(), new KsmHistoryQuery(), new KsmByVmQuery(), new MeminfoQuery(),
            new KhugepagedQuery(),
            new HugepagesQuery(), new PagetableQuery(), new PagetablesQuery(), new WorkloadsQuery(), new EventsQuery()));

    private final List<Query<?>> queries;
    private final Map<Class<?>, Query<?>> byArgs = new HashMap<>();

    Queries(List<Query<?>> queries) {
        this.queries = List.copyOf(queries);
        for (Query<?> q : queries) {
            if (byArgs.put(q.argsType(), q) != null) throw new IllegalArgumentException("two queries check into " + q.argsType());
        }
    }

    /** The language's queries. */
    public static Queries all() {
        return ALL;
    }

    List<Query<?>> queries() {
        return queries;
    }

    /** The forms `show` takes, for the checker. */
    public List<ShowSyntax> syntax() {
        return List.copyOf(queries);
    }

    /** The words that may follow `show`, each once: vms, translate, walk, ... */
    public List<String> targets() {
        LinkedHashSet<String> out = new LinkedHashSet<>();
        for (Query<?> q : queries) out.add(q.words().get(0));
        return List.copyOf(out);
    }

    /**
     * Help for the forms that begin with {@code words} (the words after `show`): each as it is
     * written and what it shows, a line each; null when none begins so.
     */
    public String help(List<String> words) {
        List<String> lines = new ArrayList<>();
        for (Query<?> q : queries) {
            if (q.words().size() >= words.size() && q.words().subList(0, words.size()).equals(words)) {
                lines.add(q.doc().form() + ": " + q.doc().summary());
            }
        }
        return lines.isEmpty() ? null : String.join("\n", lines);
    }

    /**
     * What may follow {@code typed}, the words after `show` so far (a dotted name is several
     * words): a target, the next word of a longer form, a form's arguments, or `on`.
     */
    public List<String> complete(List<String> typed, Declarations declared) {
        if (typed.isEmpty()) return targets();
        if (typed.get(typed.size() - 1).equals(".")) return List.of();
        LinkedHashSet<String> out = new LinkedHashSet<>();
        boolean named = false;
        for (Query<?> q : queries) {
            List<String> w = q.words();
            int n = Math.min(w.size(), typed.size());
            if (!w.subList(0, n).equals(typed.subList(0, n))) continue;
            if (typed.size() < w.size()) {
                out.add(w.get(typed.size()));
            } else {
                named = true;
                out.addAll(q.complete(arguments(typed.subList(w.size(), typed.size())), declared));
            }
        }
        if (named) out.add("on");
        return List.copyOf(out);
    }

    /** How many arguments {@code words} hold: `vm . app` is one. */
    private static int arguments(List<String> words) {
        int n = 0;
        for (int i = 0; i < words.size(); i++) {
            if (!words.get(i).equals(".") && (i == 0 || !words.get(i - 1).equals("."))) n++;
        }
        return n;
    }

    /** docs/tables.md's table of tables: each query as written, the table it publishes and its columns. */
    public String tablesDoc() {
        StringBuilder b = new StringBuilder("| query | table | columns |\n|---|---|---|\n");
        for (Query<?> q : queries) {
            Query.Doc d = q.doc();
            b.append("| `").append(d.form()).append("` | `").append(d.table()).append("` | ").append(d.columns()).append(" |\n");
        }
        return b.toString();
    }

    /** The table a checked `show` asks for, read from {@code view}; a failure to answer is a {@link QueryError}. */
    public Table answer(ShowArgs args, Declarations declared, SimView view, Probe probe) {
        return answer(of(args), args, new Source(declared, view, probe));
    }

    private static <A extends ShowArgs> Table answer(Query<A> q, ShowArgs args, Source in) {
        return q.answer(q.argsType().cast(args), in);
    }

    /** Whether answering changes the simulation, so that a sweep's replay must answer it again. */
    public boolean changesState(ShowArgs args) {
        return of(args).changesState();
    }

    /**
     * The VM the query must find running, or null: one that has not started yet is answered on a
     * copy of the session in which it has, and a replay skips a state-changing query where its
     * VM does not run.
     */
    public String vm(ShowArgs args) {
        return vm(of(args), args);
    }

    private static <A extends ShowArgs> String vm(Query<A> q, ShowArgs args) {
        return q.vm(q.argsType().cast(args));
    }

    private Query<?> of(ShowArgs args) {
        Query<?> q = byArgs.get(args.getClass());
        if (q == null) throw new IllegalArgumentException("no query answers " + args);
        return q;
    }
}
