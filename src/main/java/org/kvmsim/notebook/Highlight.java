package org.kvmsim.notebook;

import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.Token;
import org.kvmsim.lang.antlr.KvmsimLexer;

/**
 * kvmsim code as HTML with its words classified by the language's own ANTLR lexer: keywords
 * (the grammar's literal words: host, vm, run, show, ...), numbers (with the unit that follows
 * one: `2 GiB`, `10 s`), strings and comments, each a span of class k, m, s or c; the rest as
 * text. The lexer skips blanks and comments, so the text between two tokens is blanks, or a
 * comment from its '#' to the end of the line.
 */
final class Highlight {

    private Highlight() {}

    static String html(String code) {
        KvmsimLexer lexer = new KvmsimLexer(CharStreams.fromString(code));
        lexer.removeErrorListeners();
        StringBuilder out = new StringBuilder();
        // ANTLR indexes code points; the text is cut by them too
        int[] cps = code.codePoints().toArray();
        int at = 0;
        boolean afterNumber = false;
        for (Token t = lexer.nextToken(); t.getType() != Token.EOF; t = lexer.nextToken()) {
            gap(out, cps, at, t.getStartIndex());
            String text = new String(cps, t.getStartIndex(), t.getStopIndex() - t.getStartIndex() + 1);
            String cls = classOf(t, afterNumber);
            afterNumber = t.getType() == KvmsimLexer.NUMBER;
            if (cls == null) out.append(esc(text));
            else out.append("<span class=\"").append(cls).append("\">").append(esc(text)).append("</span>");
            at = t.getStopIndex() + 1;
        }
        gap(out, cps, at, cps.length);
        return out.toString();
    }

    private static String classOf(Token t, boolean afterNumber) {
        int type = t.getType();
        if (type == KvmsimLexer.NUMBER || type == KvmsimLexer.HEX || type == KvmsimLexer.PCT) return "m";
        if (type == KvmsimLexer.STRING || type == KvmsimLexer.UNTERMINATED_STRING) return "s";
        if (type == KvmsimLexer.IDENT) return afterNumber ? "m" : null;
        String literal = KvmsimLexer.VOCABULARY.getLiteralName(type);
        if (literal != null && literal.length() > 2 && Character.isLetter(literal.charAt(1))) return "k";
        return null;
    }

    /** Skipped text: blanks, and a comment from '#' on. */
    private static void gap(StringBuilder out, int[] cps, int from, int to) {
        if (from >= to) return;
        String s = new String(cps, from, to - from);
        int hash = s.indexOf('#');
        if (hash < 0) {
            out.append(esc(s));
            return;
        }
        out.append(esc(s.substring(0, hash))).append("<span class=\"c\">").append(esc(s.substring(hash))).append("</span>");
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
