package org.kvmsim.lang;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Collects diagnostics instead of throwing at the first, so a script's errors are reported at
 * once. Bounded: a file of garbage stops adding after {@link #LIMIT} errors.
 */
public final class Diagnostics {

    public static final int LIMIT = 50;

    private final List<Diagnostic> list = new ArrayList<>();
    private int dropped;

    public void error(Span span, String message) {
        add(new Diagnostic(span, message));
    }

    public void error(Span span, String message, String hint) {
        add(new Diagnostic(span, message, hint));
    }

    public void add(Diagnostic d) {
        if (list.size() < LIMIT) list.add(d);
        else dropped++;
    }

    public void addAll(Diagnostics other) {
        for (Diagnostic d : other.list) add(d);
        dropped += other.dropped;
    }

    /** Orders the diagnostics by position, so syntax and checker errors read top to bottom. */
    public void sortByPosition() {
        list.sort(Comparator.comparingInt((Diagnostic d) -> d.span().line())
                .thenComparingInt(d -> d.span().column()));
    }

    public boolean hasErrors() {
        return !list.isEmpty();
    }

    public List<Diagnostic> list() {
        return List.copyOf(list);
    }

    public int dropped() {
        return dropped;
    }

    public String render(SourceFile source) {
        StringBuilder b = new StringBuilder();
        for (Diagnostic d : list) b.append(d.render(source));
        if (dropped > 0) b.append("(and ").append(dropped).append(" more errors)\n");
        return b.toString();
    }
}
