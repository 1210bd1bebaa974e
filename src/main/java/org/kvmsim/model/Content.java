package org.kvmsim.model;

/**
 * What a range of guest pages holds: {@code same N} (identical wherever N is used), {@code zero},
 * {@code unique}, {@code image NAME} (the image's pages 0, 1, 2, ... in order), or content
 * {@code changing every D}.
 */
public record Content(Kind kind, long tag, String image, long periodNs) {

    public enum Kind { SAME, ZERO, UNIQUE, IMAGE, CHANGING }

    public static Content same(long tag) {
        return new Content(Kind.SAME, tag, null, 0);
    }

    public static final Content ZERO = new Content(Kind.ZERO, 0, null, 0);
    public static final Content UNIQUE = new Content(Kind.UNIQUE, 0, null, 0);

    @Override
    public String toString() {
        return switch (kind) {
            case SAME -> "same " + tag;
            case ZERO -> "zero";
            case UNIQUE -> "unique";
            case IMAGE -> "image " + image;
            case CHANGING -> "changing every " + periodNs + " ns";
        };
    }
}
