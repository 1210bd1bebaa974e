package org.kvmsim.lang;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Statement;

/** The whole front end in one call: text -> syntax -> checked statements, or diagnostics. */
public final class Frontend {

    private Frontend() {}

    /** What checking a script gave: its statements if it is clean, else its diagnostics. */
    public record Result(List<Statement> statements, Diagnostics diagnostics, Declarations declarations) {
        public boolean ok() {
            return !diagnostics.hasErrors();
        }
    }

    /**
     * Parses and checks {@code source} against what {@code declared} already holds (unchanged);
     * {@code shows} are the forms `show` takes (the query registry's).
     */
    public static Result compile(SourceFile source, Declarations declared, List<? extends ShowSyntax> shows) {
        return compile(source, declared, shows, null);
    }

    /**
     * The same, with relative file names in a source that is not a file (a notebook cell)
     * resolved against {@code folder} (null: the working directory).
     */
    public static Result compile(SourceFile source, Declarations declared, List<? extends ShowSyntax> shows, java.nio.file.Path folder) {
        Diagnostics diags = new Diagnostics();
        Syntax.Script script;
        Set<String> broken = new HashSet<>();
        try {
            script = Parse.parse(source, diags, broken);
        } catch (StackOverflowError e) {
            diags.error(new Span(source.name(), 1, 1, 1), "script too deeply nested to read");
            script = null;
        }
        if (script == null) return new Result(List.of(), diags, declared);
        Checker checker = new Checker(declared, diags, broken, shows, folder);
        List<Statement> statements = checker.check(script);
        diags.sortByPosition();
        return new Result(diags.hasErrors() ? List.of() : statements, diags, checker.scope());
    }
}
