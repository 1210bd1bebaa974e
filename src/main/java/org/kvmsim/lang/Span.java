package org.kvmsim.lang;

/**
 * Where a piece of syntax stands in its source: file name, 1-based line and column of its first
 * character, and its length in characters on that line (at least 1, so a caret always shows).
 */
public record Span(String file, int line, int column, int length) {

    public Span {
        length = Math.max(1, length);
    }

    /** The span from this one's start to the end of {@code other}, if both are on one line. */
    public Span to(Span other) {
        if (other.line != line || other.column < column) return this;
        return new Span(file, line, column, other.column + other.length - column);
    }

    @Override
    public String toString() {
        return file + ":" + line + ":" + column;
    }
}
