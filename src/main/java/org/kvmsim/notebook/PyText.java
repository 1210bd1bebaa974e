package org.kvmsim.notebook;

import java.util.ArrayList;
import java.util.List;

/** Python's str methods that nbformat and nbclient rely on, with Python's definitions. */
final class PyText {

    private PyText() {}

    /**
     * {@code str.splitlines(True)}: lines with their ends kept, split at \n, \r, \r\n, \v, \f,
     * \x1c, \x1d, \x1e, \x85, U+2028 and U+2029 (Python's line boundaries); "" gives no line.
     */
    static List<String> splitLinesKeepEnds(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') {
                i++;
                out.add(s.substring(start, i + 1));
                start = i + 1;
            } else if (c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e
                    || c == 0x85 || c == 0x2028 || c == 0x2029) {
                out.add(s.substring(start, i + 1));
                start = i + 1;
            }
        }
        if (start < s.length()) out.add(s.substring(start));
        return out;
    }

    /** {@code str.isspace()} for one character: Unicode White_Space as Python defines it (bidi WS, B, S or Zs). */
    static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
    }

    /** {@code not s.strip()}: nothing but whitespace (nbclient skips such a code cell). */
    static boolean isBlank(String s) {
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            if (!isSpace(c)) return false;
            i += Character.charCount(c);
        }
        return true;
    }
}
