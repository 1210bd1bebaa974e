package org.kvmsim.kernel;

/**
 * Cursor arithmetic. Jupyter counts cursor positions in Unicode code points, Java strings in
 * UTF-16 units; they differ only when a cell holds characters outside the BMP, but then they do.
 */
final class Text {

    private Text() {}

    static int charIndex(String s, int codePoints) {
        int cp = Math.max(0, Math.min(codePoints, s.codePointCount(0, s.length())));
        return s.offsetByCodePoints(0, cp);
    }

    static int codePointIndex(String s, int charIndex) {
        return s.codePointCount(0, Math.max(0, Math.min(charIndex, s.length())));
    }

    static boolean isWordChar(char c) {
        return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9';
    }
}
