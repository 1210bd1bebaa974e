package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.ShowSyntax;
import org.kvmsim.lang.Syntax;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.ShowArgs;
import tech.tablesaw.api.Table;

/**
 * One `show`: how it is written and checked (its {@link ShowSyntax}, into its own record of
 * arguments), how it is documented (kernel help, docs/tables.md), and the table it answers with,
 * read from the simulation's view. Adding a query is one such class, listed in {@link Queries},
 * and a golden script.
 */
interface Query<A extends ShowArgs> extends ShowSyntax {

    /**
     * What it documents: its {@code form} as written ("show walk VM[.PAGETABLE] GVA"), a one-line
     * {@code summary} for help, the {@code table} it publishes and that table's {@code columns}
     * as docs/tables.md lists them.
     */
    record Doc(String form, String summary, String table, String columns) {}

    Doc doc();

    /** The record its {@link #check} returns, by which a checked statement finds its query. */
    Class<A> argsType();

    @Override
    A check(List<Syntax.Atom> args, ShowContext context);

    /** Its table, from the read-only view; a lookup that changes state goes through {@code in.probe()}. */
    Table answer(A args, Source in);

    /** Whether answering changes the simulation (through the probe): a sweep's replay runs it again. */
    default boolean changesState() {
        return false;
    }

    /**
     * The VM it must find running, or null. The session answers a query about a VM that has not
     * started yet on a copy in which it has, and a sweep replays a state-changing query only
     * where its VM runs.
     */
    default String vm(A args) {
        return null;
    }

    /** What may stand at its argument {@code position} (0 for the first after its words), for completion. */
    default List<String> complete(int position, Declarations declared) {
        return List.of();
    }
}
