package org.kvmsim.model;

import java.util.List;
import org.kvmsim.lang.Span;

/**
 * A checked statement: every name resolved, every value in its unit, every span kept so that a
 * failure at run time still points at the line that caused it.
 */
public sealed interface Statement {

    Span span();

    record Declare(Declaration decl, Span span) implements Statement {}

    record RunFor(long nanos, Span span) implements Statement {}

    /** `run until HOST.ksm.COUNTER = N [within D]`; {@code boundNanos} is the most simulated time it may take. */
    record RunUntil(String host, String counter, long target, long boundNanos, Span span) implements Statement {}

    record Write(String vm, long from, long to, Content content, Span span) implements Statement {}

    /** `set HOST.ksm.KNOB = V`, `set HOST.thp = MODE`, `set HOST.khugepaged.KNOB = V`, `set HOST.POOL.count|overcommit = N`. */
    record Set(String host, List<String> path, Object value, Span span) implements Statement {
        public Set {
            path = List.copyOf(path);
        }
    }

    record Start(String vm, Span span) implements Statement {}

    record Stop(String vm, Span span) implements Statement {}

    record Reset(Span span) implements Statement {}

    /** `reset mmu`: every VM's MMU counters start again from zero (a warm-up is over). */
    record ResetMmu(Span span) implements Statement {}

    /**
     * `sweep OWNER.ATTR in [v1, v2, ...] { body }`: {@code owner} is a VM, host or workload name,
     * {@code attribute} its attribute (for hosts "ksm.KNOB" or "POOL.count"); {@code values} are
     * checked values of that attribute's type and {@code labels} their text for the table column.
     */
    record Sweep(String variable, String ownerKind, String owner, String attribute, List<Object> values,
                 List<String> labels, List<Statement> body, Span span) implements Statement {
        public Sweep {
            values = List.copyOf(values);
            labels = List.copyOf(labels);
            body = List.copyOf(body);
        }
    }

    /** A query: its arguments, checked by the query that answers them. */
    record Show(ShowArgs args, Span span) implements Statement {}

    record Plot(String table, String x, String y, String chart, String title, Span span) implements Statement {}

    record Export(String table, String file, String format, Span span) implements Statement {}

    record Print(String text, Span span) implements Statement {}
}
