package org.kvmsim.lang;

import java.util.List;
import org.kvmsim.model.ShowArgs;

/**
 * One form of `show` as the checker sees it: the words that name it and how its arguments are
 * checked. The queries implement it; whoever compiles hands their list to the {@link Frontend},
 * so the language knows the forms without depending on what answers them.
 */
public interface ShowSyntax {

    /** The words after `show` that name it: ["walk"], ["ksm", "by", "vm"]. */
    List<String> words();

    /**
     * Its arguments (the atoms after its words) as its own checked record, or null after
     * reporting what is wrong through {@code context}.
     */
    ShowArgs check(List<Syntax.Atom> args, ShowContext context);

    /**
     * Whether it takes arguments after its words (`show mmu VM...`): then words after a shorter
     * form of a family are its arguments, not a misspelt longer form.
     */
    default boolean takesArguments() {
        return false;
    }
}
