package org.kvmsim.query;

/**
 * A query that cannot answer: its VM is not running, the address is not mapped. The session
 * reports it at the statement's line, with the hint.
 */
public final class QueryError extends RuntimeException {

    private final String hint;

    QueryError(String message, String hint) {
        super(message, null, false, false);
        this.hint = hint;
    }

    /** What to do about it, or null. */
    public String hint() {
        return hint;
    }
}
