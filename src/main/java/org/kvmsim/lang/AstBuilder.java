package org.kvmsim.lang;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.Token;
import org.antlr.v4.runtime.tree.TerminalNode;
import org.kvmsim.lang.Syntax.*;
import org.kvmsim.lang.antlr.KvmsimBaseVisitor;
import org.kvmsim.lang.antlr.KvmsimParser.*;
import org.kvmsim.lang.antlr.KvmsimParser;

/** Turns ANTLR's parse tree into {@link Syntax} records with spans. Only called on error-free trees. */
final class AstBuilder extends KvmsimBaseVisitor<Object> {

    private final String file;

    AstBuilder(String file) {
        this.file = file;
    }

    /**
     * The statements of the tree that parsed cleanly. After a syntax error the rest of the script
     * is still checked; the names written in broken statements go to {@code brokenNames}, so the
     * checker does not also call them unknown.
     */
    Script script(ScriptContext ctx, Set<String> brokenNames, Set<Integer> errorLines) {
        List<Stmt> out = new ArrayList<>();
        for (StatementContext s : ctx.statement()) {
            boolean errorOnItsLines = s.getStop() != null
                    && errorLines.stream().anyMatch(l -> l >= s.getStart().getLine() && l <= s.getStop().getLine());
            if (errorOnItsLines || broken(s)) collectNames(s, brokenNames);
            else out.add(stmt(s));
        }
        return new Script(out);
    }

    private static boolean broken(org.antlr.v4.runtime.tree.ParseTree t) {
        if (t instanceof org.antlr.v4.runtime.tree.ErrorNode) return true;
        if (t instanceof ParserRuleContext p) {
            if (p.exception != null) return true;
            for (int i = 0; i < p.getChildCount(); i++) if (broken(p.getChild(i))) return true;
        }
        return false;
    }

    private static void collectNames(org.antlr.v4.runtime.tree.ParseTree t, Set<String> names) {
        if (t instanceof IdentContext) names.add(t.getText());
        for (int i = 0; i < t.getChildCount(); i++) collectNames(t.getChild(i), names);
    }

    private Stmt stmt(StatementContext s) {
        return (Stmt) visit(s);
    }

    // --- spans

    Span span(Token t) {
        return new Span(file, t.getLine(), t.getCharPositionInLine() + 1, t.getText() == null ? 1 : t.getText().length());
    }

    private Span span(ParserRuleContext ctx) {
        Token a = ctx.getStart(), b = ctx.getStop();
        if (b == null || b.getType() == Token.EOF || b.getLine() != a.getLine() || b.getStopIndex() < a.getStartIndex()) {
            return span(a);
        }
        return new Span(file, a.getLine(), a.getCharPositionInLine() + 1, b.getStopIndex() - a.getStartIndex() + 1);
    }

    /** A statement's span: its first line, up to its last token on that line (blocks excluded). */
    private Span head(ParserRuleContext ctx, ParserRuleContext bodyOrNull) {
        Token a = ctx.getStart();
        Token last = a;
        for (int i = 0; i < ctx.getChildCount(); i++) {
            var c = ctx.getChild(i);
            if (c == bodyOrNull) break;
            Token t = c instanceof TerminalNode tn ? tn.getSymbol() : ((ParserRuleContext) c).getStop();
            if (t != null && t.getLine() == a.getLine() && t.getType() != KvmsimParser.NL) last = t;
        }
        return new Span(file, a.getLine(), a.getCharPositionInLine() + 1, last.getStopIndex() - a.getStartIndex() + 1);
    }

    private Name name(IdentContext ctx) {
        return ctx == null ? null : new Name(ctx.getText(), span(ctx));
    }

    private Block block(BlockContext ctx) {
        if (ctx == null) return null;
        List<Item> items = new ArrayList<>();
        for (ItemContext i : ctx.item()) items.add((Item) visit(i));
        Token brace = ctx.getToken(KvmsimParser.LBRACE, 0).getSymbol();
        return new Block(items, span(brace));
    }

    // --- statements

    @Override
    public Object visitKsmPolicyDecl(KsmPolicyDeclContext c) {
        return new KsmPolicyDecl(name(c.name), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitHostDecl(HostDeclContext c) {
        return new HostDecl(name(c.name), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitImageDecl(ImageDeclContext c) {
        return new ImageDecl(name(c.name), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitVmDecl(VmDeclContext c) {
        return new VmDecl(name(c.name), name(c.host), name(c.base), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitImportLibvirt(ImportLibvirtContext c) {
        return new ImportLibvirt(str(c.file), name(c.name), name(c.host), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitWorkloadDecl(WorkloadDeclContext c) {
        List<Target> targets = new ArrayList<>();
        for (TargetContext t : c.target()) targets.add(new Target(name(t.vm), name(t.pagetable)));
        return new WorkloadDecl(name(c.name), targets, block(c.body), head(c, c.body));
    }

    @Override
    public Object visitPagetableDecl(PagetableDeclContext c) {
        return new PagetableDecl(name(c.name), name(c.vm), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitContentsDecl(ContentsDeclContext c) {
        return new ContentsDecl(name(c.vm), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitRunFor(RunForContext c) {
        return new RunFor(value(c.value()), span(c));
    }

    @Override
    public Object visitRunUntil(RunUntilContext c) {
        return new RunUntil(path(c.path()), value(c.value()), span(c));
    }

    @Override
    public Object visitWriteStmt(WriteStmtContext c) {
        return new Write(name(c.vm), range(c.pageRange()), value(c.value()), span(c));
    }

    @Override
    public Object visitSetStmt(SetStmtContext c) {
        return new SetStmt(path(c.path()), value(c.value()), span(c));
    }

    @Override
    public Object visitStartStmt(StartStmtContext c) {
        return new Start(name(c.name), span(c));
    }

    @Override
    public Object visitStopStmt(StopStmtContext c) {
        return new Stop(name(c.name), span(c));
    }

    @Override
    public Object visitResetStmt(ResetStmtContext c) {
        return new Reset(c.what == null ? null : name(c.what), span(c));
    }

    @Override
    public Object visitSweepStmt(SweepStmtContext c) {
        List<Stmt> body = new ArrayList<>();
        for (StatementContext s : c.statement()) body.add(stmt(s));
        return new Sweep(path(c.path()), list(c.list()), body, head(c, c.list()).to(span(c.list())));
    }

    @Override
    public Object visitShowStmt(ShowStmtContext c) {
        List<Atom> args = new ArrayList<>();
        for (ShowArgContext a : c.showArg()) {
            if (a.path() != null) args.add(new Word(a.path().getText(), span(a)));
            else if (a.HEX() != null) args.add(new Hex(a.getText(), span(a)));
            else if (a.STRING() != null) args.add(str(a.STRING().getSymbol()));
            else args.add(new Num(a.getText(), span(a)));
        }
        return new Show(args, name(c.host), span(c));
    }

    @Override
    public Object visitPlotStmt(PlotStmtContext c) {
        return new Plot(name(c.table), block(c.body), head(c, c.body));
    }

    @Override
    public Object visitExportStmt(ExportStmtContext c) {
        return new Export(name(c.table), str(c.STRING().getSymbol()), span(c));
    }

    @Override
    public Object visitPrintStmt(PrintStmtContext c) {
        return new Print(str(c.STRING().getSymbol()), span(c));
    }

    // --- block items

    @Override
    public Object visitAttrItem(AttrItemContext c) {
        return new Attr(name(c.name), value(c.value()), span(c));
    }

    @Override
    public Object visitPagesItem(PagesItemContext c) {
        return new PagesItem(range(c.pageRange()), value(c.value()), span(c));
    }

    @Override
    public Object visitMapItem(MapItemContext c) {
        return new MapItem(new Hex(c.addr.getText(), span(c.addr)), quantity(c.size), quantity(c.page), span(c));
    }

    @Override
    public Object visitBlockItem(BlockItemContext c) {
        return new Nested(name(c.kind), name(c.label), block(c.body), head(c, c.body));
    }

    // --- values

    private Path path(PathContext c) {
        List<Name> parts = new ArrayList<>();
        for (IdentContext i : c.ident()) parts.add(name(i));
        return new Path(parts, span(c));
    }

    private PageRange range(PageRangeContext c) {
        return new PageRange(new Num(c.from.getText(), span(c.from)), new Num(c.to.getText(), span(c.to)), span(c));
    }

    private Value quantity(QuantityContext c) {
        List<Atom> atoms = new ArrayList<>();
        atoms.add(new Num(c.NUMBER().getText(), span(c.NUMBER().getSymbol())));
        if (c.ident() != null) atoms.add(new Word(c.ident().getText(), span(c.ident())));
        return new Value(atoms, span(c));
    }

    Value value(ValueContext c) {
        List<Atom> atoms = new ArrayList<>();
        for (AtomContext a : c.atom()) atoms.add((Atom) visit(a));
        return new Value(atoms, span(c));
    }

    private ListAtom list(ListContext c) {
        List<Value> items = new ArrayList<>();
        for (ValueContext v : c.value()) items.add(value(v));
        return new ListAtom(items, span(c));
    }

    @Override
    public Object visitPercentAtom(PercentAtomContext c) {
        return new Percent(c.NUMBER().getText(), span(c));
    }

    @Override
    public Object visitNumberAtom(NumberAtomContext c) {
        return new Num(c.getText(), span(c));
    }

    @Override
    public Object visitHexAtom(HexAtomContext c) {
        return new Hex(c.getText(), span(c));
    }

    @Override
    public Object visitStringAtom(StringAtomContext c) {
        return str(c.STRING().getSymbol());
    }

    @Override
    public Object visitCallAtom(CallAtomContext c) {
        List<Value> args = new ArrayList<>();
        for (ValueContext v : c.value()) args.add(value(v));
        return new Call(name(c.ident()), args, span(c));
    }

    @Override
    public Object visitWordAtom(WordAtomContext c) {
        return new Word(c.getText(), span(c));
    }

    @Override
    public Object visitOnAtom(OnAtomContext c) {
        return new Word(c.getText(), span(c));
    }

    @Override
    public Object visitListAtom(ListAtomContext c) {
        return list(c.list());
    }

    private Str str(Token t) {
        String raw = t.getText();
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < raw.length() - 1; i++) {
            char ch = raw.charAt(i);
            if (ch == '\\' && i + 1 < raw.length() - 1) {
                char n = raw.charAt(++i);
                b.append(switch (n) {
                    case 'n' -> '\n';
                    case 't' -> '\t';
                    default -> n;
                });
            } else {
                b.append(ch);
            }
        }
        return new Str(b.toString(), span(t));
    }
}
