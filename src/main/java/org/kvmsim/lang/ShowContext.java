package org.kvmsim.lang;

import java.util.List;

/**
 * What the checker lends a {@link ShowSyntax} to check its arguments with: the one place errors
 * are reported, and the name and value checks other statements use, with the same messages.
 */
public interface ShowContext {

    /** A VM, or one of its pagetables: `guest1` or `guest1.app`. */
    record Subject(String vm, String pagetable) {

        /** As written: "vm" or "vm.pagetable". */
        public String text() {
            return pagetable == null ? vm : vm + "." + pagetable;
        }
    }

    /** The whole statement, for errors about its shape. */
    Span statement();

    /** The host of `on HOST`, checked; null when the statement names none. */
    String host();

    void error(Span at, String message);

    void error(Span at, String message, String hint);

    /** True when {@code rest} is empty; else reports that show {@code what} takes no arguments. */
    boolean noMore(List<Syntax.Atom> rest, String what);

    /** The name of a declared VM, or null after reporting an unknown one. */
    String vm(Syntax.Word name);

    /** `VM` or `VM.PAGETABLE` in show {@code what}, or null after reporting what is wrong. */
    Subject subject(Syntax.Atom a, String what);

    /** A 64-bit address (0x7f00_0000_1000), or null after reporting what is wrong. */
    Long address(Syntax.Atom a, String what);

    /**
     * The folder relative file names at {@code span} resolve in: the script's, or for a notebook
     * cell the notebook's (as for `import libvirt` and `trace`).
     */
    java.nio.file.Path folder(Span span);
}
