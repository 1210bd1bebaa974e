package org.kvmsim.model;

/**
 * A workload's access pattern: uniform, sequential, strided(bytes), zipf(alpha),
 * hotcold(hot_fraction, hot_probability).
 */
public record Pattern(Kind kind, double a, double b) {

    public enum Kind { UNIFORM, SEQUENTIAL, STRIDED, ZIPF, HOTCOLD }

    @Override
    public String toString() {
        return switch (kind) {
            case UNIFORM -> "uniform";
            case SEQUENTIAL -> "sequential";
            case STRIDED -> "strided(" + (long) a + ")";
            case ZIPF -> "zipf(" + a + ")";
            case HOTCOLD -> "hotcold(" + a + ", " + b + ")";
        };
    }
}
