package org.kvmsim.session;

import org.kvmsim.lang.Diagnostic;
import org.kvmsim.lang.Span;

/**
 * A failure while running a checked statement (a VM that cannot start, a `run until` that never
 * reaches its value). It carries the statement's span so the user sees
 * the line that caused it, rendered like any other diagnostic; it is never shown as a stack trace.
 */
public final class ScriptError extends RuntimeException {

    private final Span span;
    private final String hint;

    public ScriptError(Span span, String message) {
        this(span, message, null);
    }

    public ScriptError(Span span, String message, String hint) {
        super(message, null, false, false);
        this.span = span;
        this.hint = hint;
    }

    public Diagnostic diagnostic() {
        return new Diagnostic(span, getMessage(), hint);
    }
}
