package org.kvmsim.lang;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.antlr.v4.runtime.BaseErrorListener;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.CommonTokenStream;
import org.antlr.v4.runtime.InputMismatchException;
import org.antlr.v4.runtime.NoViableAltException;
import org.antlr.v4.runtime.Parser;
import org.antlr.v4.runtime.RecognitionException;
import org.antlr.v4.runtime.Recognizer;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.misc.IntervalSet;
import org.antlr.v4.runtime.misc.ParseCancellationException;
import org.kvmsim.lang.antlr.KvmsimLexer;
import org.kvmsim.lang.antlr.KvmsimParser;

/**
 * Text to syntax tree. ANTLR's console listener is replaced by one that turns its messages into
 * words a user understands ("expected a size", not "mismatched input ... expecting {NUMBER}").
 * Guards keep hostile input from costing more than diagnostics: nesting is bounded before
 * parsing (ANTLR recurses per level), and parsing stops after {@link Diagnostics#LIMIT} errors.
 */
public final class Parse {

    /** Deeper than any sensible script; deep enough that ANTLR's recursion stays far from the stack limit. */
    static final int MAX_NESTING = 64;
    static final int MAX_BYTES = 64 << 20;

    private Parse() {}

    /** Parses {@code source}; on errors, adds them to {@code diags} and returns null. */
    public static Syntax.Script parse(SourceFile source, Diagnostics diags) {
        return parse(source, diags, new HashSet<>());
    }

    /**
     * Parses {@code source}. After syntax errors (reported to {@code diags}) it still returns the
     * statements that parsed cleanly, and puts the names of the broken ones in {@code brokenNames};
     * null only when nothing could be read at all.
     */
    public static Syntax.Script parse(SourceFile source, Diagnostics diags, Set<String> brokenNames) {
        String text = source.text();
        if (text.length() > MAX_BYTES) {
            diags.error(new Span(source.name(), 1, 1, 1), "file too large: " + text.length()
                    + " characters (a script may have at most " + MAX_BYTES + ")");
            return null;
        }
        if (!nestingOk(source, diags)) return null;
        KvmsimLexer lexer = new KvmsimLexer(CharStreams.fromString(text, source.name()));
        lexer.removeErrorListeners();
        KvmsimParser parser = new KvmsimParser(new CommonTokenStream(lexer));
        parser.removeErrorListeners();
        Listener listener = new Listener(source.name(), diags);
        parser.addErrorListener(listener);
        KvmsimParser.ScriptContext tree;
        try {
            tree = parser.script();
        } catch (ParseCancellationException stop) {
            return null;
        }
        return new AstBuilder(source.name()).script(tree, brokenNames, listener.lines);
    }

    private static boolean nestingOk(SourceFile source, Diagnostics diags) {
        String t = source.text();
        int depth = 0, line = 1, col = 1;
        boolean inString = false, inComment = false;
        for (int i = 0; i < t.length(); i++, col++) {
            char c = t.charAt(i);
            if (c == '\n') {
                line++;
                col = 0;
                inString = inComment = false;
                continue;
            }
            if (inComment) continue;
            if (inString) {
                if (c == '\\') {
                    i++;
                    col++;
                } else if (c == '"') {
                    inString = false;
                }
                continue;
            }
            switch (c) {
                case '#' -> inComment = true;
                case '"' -> inString = true;
                case '{', '[', '(' -> {
                    if (++depth > MAX_NESTING) {
                        diags.error(new Span(source.name(), line, col, 1), "nesting too deep: more than "
                                + MAX_NESTING + " levels of brackets");
                        return false;
                    }
                }
                case '}', ']', ')' -> depth = Math.max(0, depth - 1);
                default -> { }
            }
        }
        return true;
    }

    private static final class Listener extends BaseErrorListener {
        private final String file;
        private final Diagnostics diags;
        int errors;
        final Set<Integer> lines = new HashSet<>();

        Listener(String file, Diagnostics diags) {
            this.file = file;
            this.diags = diags;
        }

        @Override
        public void syntaxError(Recognizer<?, ?> recognizer, Object offending, int line, int col, String msg,
                                RecognitionException e) {
            errors++;
            lines.add(line);
            Token t = (Token) offending;
            Span span = new Span(file, line, col + 1, t == null || t.getType() == Token.EOF ? 1 : t.getText().length());
            IntervalSet expected = e != null && e.getExpectedTokens() != null ? e.getExpectedTokens()
                    : ((Parser) recognizer).getExpectedTokens();
            diags.add(new Diagnostic(span, describe(t, e, expected, msg), null));
            if (errors >= Diagnostics.LIMIT) throw new ParseCancellationException("too many errors");
        }

        private static String describe(Token t, RecognitionException e, IntervalSet expected, String antlrMessage) {
            if (t == null) return antlrMessage;
            String what = switch (t.getType()) {
                case Token.EOF -> "unexpected end of input";
                case KvmsimLexer.ERRCHAR -> "unexpected character " + quoteChar(t.getText());
                case KvmsimLexer.UNTERMINATED_STRING -> "unterminated string (a string ends with '\"' on the same line)";
                case KvmsimLexer.NL -> "unexpected end of line";
                default -> "unexpected " + quote(t.getText());
            };
            if (t.getType() == KvmsimLexer.ERRCHAR || t.getType() == KvmsimLexer.UNTERMINATED_STRING) return what;
            if (antlrMessage.startsWith("missing ") && e == null) {
                return what + "; expected " + words(expected);
            }
            if (e instanceof NoViableAltException || e instanceof InputMismatchException || e == null) {
                String w = words(expected);
                return w.isEmpty() ? what : what + "; expected " + w;
            }
            return what;
        }

        private static String quote(String text) {
            return "'" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "'";
        }

        private static String quoteChar(String text) {
            char c = text.isEmpty() ? '?' : text.charAt(0);
            return c < 0x20 || c > 0x7e ? String.format("U+%04X", (int) c) : "'" + c + "'";
        }

        private static final Set<Integer> SOFT_KEYWORDS = Set.of(KvmsimLexer.KSM, KvmsimLexer.POLICY,
                KvmsimLexer.HOST, KvmsimLexer.IMAGE, KvmsimLexer.VM, KvmsimLexer.WORKLOAD, KvmsimLexer.PAGETABLE,
                KvmsimLexer.CONTENTS, KvmsimLexer.LIKE, KvmsimLexer.IN, KvmsimLexer.RUN, KvmsimLexer.UNTIL,
                KvmsimLexer.WRITE, KvmsimLexer.SET, KvmsimLexer.START, KvmsimLexer.STOP, KvmsimLexer.RESET,
                KvmsimLexer.SWEEP, KvmsimLexer.SHOW, KvmsimLexer.PLOT, KvmsimLexer.EXPORT, KvmsimLexer.PRINT,
                KvmsimLexer.TO, KvmsimLexer.PAGES, KvmsimLexer.SIZE);

        /** The expected token set in words; a set that admits any statement is said as "a statement". */
        static String words(IntervalSet expected) {
            if (expected == null || expected.isNil()) return "";
            List<Integer> types = expected.toList();
            boolean statement = types.contains(KvmsimLexer.HOST) && types.contains(KvmsimLexer.SHOW)
                    && types.contains(KvmsimLexer.RUN) && !types.contains(KvmsimLexer.IDENT);
            if (!types.isEmpty() && types.stream().allMatch(x -> x == KvmsimLexer.NL || x == KvmsimLexer.SEMI
                    || x == Token.EOF)) {
                return "the end of the statement (a new line or ';')";
            }
            Set<String> out = new TreeSet<>();
            if (statement) {
                out.add("a statement (host, vm, run, show, ...)");
            }
            boolean name = types.contains(KvmsimLexer.IDENT);
            for (int type : types) {
                if (statement && SOFT_KEYWORDS.contains(type)) continue;
                if (name && SOFT_KEYWORDS.contains(type)) continue;
                String w = word(type);
                if (w != null) out.add(w);
            }
            List<String> list = new ArrayList<>(out);
            if (list.size() > 6) list = list.subList(0, 6);
            return String.join(", ", list);
        }

        private static String word(int type) {
            return switch (type) {
                case KvmsimLexer.IDENT -> "a name";
                case KvmsimLexer.NUMBER -> "a number";
                case KvmsimLexer.HEX -> "an address (0x...)";
                case KvmsimLexer.STRING -> "a string";
                case KvmsimLexer.NL -> "end of line";
                case KvmsimLexer.SEMI -> "';'";
                case Token.EOF -> "end of input";
                case KvmsimLexer.ERRCHAR, KvmsimLexer.UNTERMINATED_STRING -> null;
                default -> {
                    String lit = KvmsimLexer.VOCABULARY.getLiteralName(type);
                    yield lit == null ? null : lit;
                }
            };
        }
    }
}
