package org.kvmsim.lang;

import java.util.List;

/**
 * The syntax tree: immutable records with source spans, built from ANTLR's parse tree by
 * {@link AstBuilder}. Nothing after the builder sees an ANTLR context. The tree says only what
 * was written; the {@link Checker} decides what it means.
 */
public final class Syntax {

    private Syntax() {}

    public record Script(List<Stmt> statements) {
        public Script {
            statements = List.copyOf(statements);
        }
    }

    /** A name as written, with where it was written. */
    public record Name(String text, Span span) {}

    /** Dotted names: `hv1.ksm.full_scans`, `guest1.backing`, `small.app`. */
    public record Path(List<Name> parts, Span span) {
        public Path {
            parts = List.copyOf(parts);
        }

        public String text() {
            StringBuilder b = new StringBuilder();
            for (Name n : parts) b.append(b.length() == 0 ? "" : ".").append(n.text());
            return b.toString();
        }
    }

    public sealed interface Stmt permits KsmPolicyDecl, HostDecl, ImageDecl, VmDecl, ImportLibvirt, WorkloadDecl,
            PagetableDecl, ContentsDecl, RunFor, RunUntil, Write, SetStmt, Start, Stop, Reset, Sweep,
            Show, Plot, Export, Print {
        Span span();
    }

    public record KsmPolicyDecl(Name name, Block body, Span span) implements Stmt {}

    public record HostDecl(Name name, Block body, Span span) implements Stmt {}

    public record ImageDecl(Name name, Block body, Span span) implements Stmt {}

    /** {@code host} and {@code base} are null when not written; {@code body} is null for `vm b like a`. */
    public record VmDecl(Name name, Name host, Name base, Block body, Span span) implements Stmt {}

    /** `import libvirt "FILE.xml" [as NAME] on HOST [{ overrides }]`: a VM from a libvirt domain file. */
    public record ImportLibvirt(Str file, Name name, Name host, Block body, Span span) implements Stmt {}

    public record Target(Name vm, Name pagetable) {}

    public record WorkloadDecl(Name name, List<Target> targets, Block body, Span span) implements Stmt {
        public WorkloadDecl {
            targets = List.copyOf(targets);
        }
    }

    public record PagetableDecl(Name name, Name vm, Block body, Span span) implements Stmt {}

    public record ContentsDecl(Name vm, Block body, Span span) implements Stmt {}

    public record RunFor(Value duration, Span span) implements Stmt {}

    public record RunUntil(Path counter, Value value, Span span) implements Stmt {}

    public record Write(Name vm, PageRange range, Value value, Span span) implements Stmt {}

    public record SetStmt(Path path, Value value, Span span) implements Stmt {}

    public record Start(Name vm, Span span) implements Stmt {}

    public record Stop(Name vm, Span span) implements Stmt {}

    /** `reset` (the whole session) or `reset WHAT` ({@code what} null for the first). */
    public record Reset(Name what, Span span) implements Stmt {}

    public record Sweep(Path variable, ListAtom values, List<Stmt> body, Span span) implements Stmt {
        public Sweep {
            body = List.copyOf(body);
        }
    }

    /** `show WORD... [on HOST]`: the words are paths, hex addresses or numbers. */
    public record Show(List<Atom> args, Name host, Span span) implements Stmt {
        public Show {
            args = List.copyOf(args);
        }
    }

    public record Plot(Name table, Block body, Span span) implements Stmt {}

    public record Export(Name table, Str file, Span span) implements Stmt {}

    public record Print(Str text, Span span) implements Stmt {}

    /** A `{ ... }` block; {@code span} is its opening brace. */
    public record Block(List<Item> items, Span span) {
        public Block {
            items = List.copyOf(items);
        }
    }

    public sealed interface Item permits Attr, PagesItem, MapItem, Nested {
        Span span();
    }

    public record Attr(Name name, Value value, Span span) implements Item {}

    public record PagesItem(PageRange range, Value value, Span span) implements Item {}

    public record MapItem(Hex address, Value size, Value page, Span span) implements Item {}

    /** A block inside a block: `hugepages pool2m { ... }` in a host. */
    public record Nested(Name kind, Name label, Block body, Span span) implements Item {}

    public record PageRange(Num from, Num to, Span span) {}

    /** A run of atoms: "2 GiB", "hugepages pool2m", "changing every 2 ms". */
    public record Value(List<Atom> atoms, Span span) {
        public Value {
            atoms = List.copyOf(atoms);
        }

        public String text() {
            StringBuilder b = new StringBuilder();
            for (Atom a : atoms) b.append(b.length() == 0 ? "" : " ").append(a.text());
            return b.toString();
        }
    }

    public sealed interface Atom permits Num, Percent, Hex, Str, Word, Call, ListAtom {
        Span span();

        String text();
    }

    public record Num(String text, Span span) implements Atom {}

    public record Percent(String text, Span span) implements Atom {}

    public record Hex(String text, Span span) implements Atom {}

    /** A string literal; {@code value} has its quotes removed and escapes resolved. */
    public record Str(String value, Span span) implements Atom {
        public String text() {
            return '"' + value + '"';
        }
    }

    /** A bare word, or a dotted path in `show`. */
    public record Word(String text, Span span) implements Atom {}

    public record Call(Name name, List<Value> args, Span span) implements Atom {
        public Call {
            args = List.copyOf(args);
        }

        public String text() {
            StringBuilder b = new StringBuilder(name.text()).append('(');
            for (int i = 0; i < args.size(); i++) b.append(i == 0 ? "" : ", ").append(args.get(i).text());
            return b.append(')').toString();
        }
    }

    public record ListAtom(List<Value> items, Span span) implements Atom {
        public ListAtom {
            items = List.copyOf(items);
        }

        public String text() {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < items.size(); i++) b.append(i == 0 ? "" : ", ").append(items.get(i).text());
            return b.append(']').toString();
        }
    }
}
