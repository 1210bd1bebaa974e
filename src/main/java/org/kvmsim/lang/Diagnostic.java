package org.kvmsim.lang;

/**
 * One problem found in a script, with the place it points at and an optional hint
 * ("did you mean 'pages_to_scan'?"). Script errors, checker errors and runtime errors of the
 * engine all become diagnostics; none of them reaches a user as a Java exception.
 */
public record Diagnostic(Span span, String message, String hint) {

    public Diagnostic(Span span, String message) {
        this(span, message, null);
    }

    /** Renders the diagnostic as the STYLE.md target: header, quoted line, caret, hint. */
    public String render(SourceFile source) {
        StringBuilder b = new StringBuilder();
        b.append(span.file()).append(':').append(span.line()).append(':').append(span.column())
                .append(": error: ").append(message).append('\n');
        if (source != null && span.line() > 0) {
            String text = printable(source.line(span.line()));
            String num = Integer.toString(span.line());
            String pad = " ".repeat(num.length());
            b.append("  ").append(num).append(" | ").append(text).append('\n');
            int col = Math.min(Math.max(1, span.column()), text.length() + 1);
            int len = Math.max(1, Math.min(span.length(), text.length() - col + 1));
            b.append("  ").append(pad).append(" | ").append(" ".repeat(col - 1)).append("^".repeat(len)).append('\n');
        }
        if (hint != null && !hint.isEmpty()) b.append("  ").append(hint).append('\n');
        return b.toString();
    }

    /** Tabs become spaces (so the caret lines up) and control bytes of garbage input become '?'. */
    private static String printable(String line) {
        StringBuilder b = new StringBuilder(Math.min(line.length(), 200));
        for (int i = 0; i < line.length() && i < 200; i++) {
            char c = line.charAt(i);
            b.append(c == '\t' ? ' ' : (c < 0x20 || c == 0x7f || Character.isSurrogate(c) || c == 0xfffd) ? '?' : c);
        }
        if (line.length() > 200) b.append(" ...");
        return b.toString();
    }
}
