package org.kvmsim.kernel;

import java.util.ArrayList;
import java.util.List;
import org.antlr.v4.runtime.CharStreams;
import org.antlr.v4.runtime.Token;
import org.kvmsim.lang.antlr.KvmsimLexer;

/**
 * Where a cursor stands in a cell, as completion and inspection need it: the blocks open around
 * it (innermost last) and the tokens of the statement or item it is in. Read with the language's
 * own lexer, so comments, strings and keywords are seen as the parser sees them; nothing here
 * parses, because text being typed rarely parses.
 */
record CellScan(List<Block> blocks, List<Token> current, boolean unbalanced, boolean badToken) {

    /** An open block: its kind as the schema names it ("host", "ksm policy", "hugepages") and its label. */
    record Block(String kind, String label) {}

    static CellScan of(String text) {
        KvmsimLexer lexer = new KvmsimLexer(CharStreams.fromString(text));
        lexer.removeErrorListeners();
        List<Block> blocks = new ArrayList<>();
        List<Token> current = new ArrayList<>();
        List<Token> previous = List.of(); // the statement a newline ended: `host h` NL `{` opens its block
        List<Integer> brackets = new ArrayList<>(); // '(' and '[' nest inside items; '{' opens a block
        boolean unbalanced = false, bad = false;
        for (Token t = lexer.nextToken(); t.getType() != Token.EOF; t = lexer.nextToken()) {
            switch (t.getType()) {
                case KvmsimLexer.LBRACE -> {
                    blocks.add(kindOf(current.isEmpty() ? previous : current));
                    current = new ArrayList<>();
                    previous = List.of();
                }
                case KvmsimLexer.RBRACE -> {
                    if (blocks.isEmpty()) unbalanced = true;
                    else blocks.remove(blocks.size() - 1);
                    current = new ArrayList<>();
                    previous = List.of();
                }
                case KvmsimLexer.LPAREN, KvmsimLexer.LBRACK -> {
                    brackets.add(t.getType());
                    current.add(t);
                }
                case KvmsimLexer.RPAREN, KvmsimLexer.RBRACK -> {
                    int open = t.getType() == KvmsimLexer.RPAREN ? KvmsimLexer.LPAREN : KvmsimLexer.LBRACK;
                    if (brackets.isEmpty() || brackets.remove(brackets.size() - 1) != open) unbalanced = true;
                    current.add(t);
                }
                case KvmsimLexer.NL, KvmsimLexer.SEMI -> {
                    // Inside ( or [ a newline continues the value.
                    if (brackets.isEmpty() && !current.isEmpty()) {
                        previous = current;
                        current = new ArrayList<>();
                    }
                }
                case KvmsimLexer.ERRCHAR, KvmsimLexer.UNTERMINATED_STRING -> {
                    bad = true;
                    current.add(t);
                }
                default -> current.add(t);
            }
        }
        return new CellScan(List.copyOf(blocks), List.copyOf(current), unbalanced, bad);
    }

    /** Open '(' / '[' / '{' left at the end of {@code text}, or -1 if some closer had no opener. */
    static int openDepth(String text) {
        KvmsimLexer lexer = new KvmsimLexer(CharStreams.fromString(text));
        lexer.removeErrorListeners();
        int depth = 0;
        for (Token t = lexer.nextToken(); t.getType() != Token.EOF; t = lexer.nextToken()) {
            switch (t.getType()) {
                case KvmsimLexer.LBRACE, KvmsimLexer.LPAREN, KvmsimLexer.LBRACK -> depth++;
                case KvmsimLexer.RBRACE, KvmsimLexer.RPAREN, KvmsimLexer.RBRACK -> {
                    if (--depth < 0) return -1;
                }
                default -> { }
            }
        }
        return depth;
    }

    private static Block kindOf(List<Token> header) {
        if (header.isEmpty()) return new Block("", null);
        String first = header.get(0).getText();
        if (first.equals("ksm") && header.size() > 1 && header.get(1).getText().equals("policy")) {
            return new Block("ksm policy", header.size() > 2 ? header.get(2).getText() : null);
        }
        return new Block(first, header.size() > 1 ? header.get(1).getText() : null);
    }

    /** The innermost open block, or null at the top level. */
    Block block() {
        return blocks.isEmpty() ? null : blocks.get(blocks.size() - 1);
    }

    /** True when the innermost block holds statements (top level or a sweep's body), not attributes. */
    boolean atStatementLevel() {
        Block b = block();
        return b == null || b.kind().equals("sweep");
    }

    List<String> words() {
        List<String> out = new ArrayList<>();
        for (Token t : current) out.add(t.getText());
        return out;
    }
}
