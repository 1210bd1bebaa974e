package org.kvmsim.kernel;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.lang.Diagnostic;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Session;

/**
 * Runs one notebook cell in a session: what the kernel does for an execute_request and what
 * `kvmsim notebook run` does for each code cell, so both save the same outputs. The cell's source
 * is named {@code In[N]} (N its execution count), which is what its diagnostics point at; a
 * failure becomes the cell's error output (ename Error, Interrupted or InternalError, evalue the
 * first diagnostic, traceback the diagnostics as the command line prints them).
 */
public final class Cells {

    private Cells() {}

    /** How a cell ended: ok, or its error as published. */
    public record Outcome(boolean ok, boolean interrupted, String ename, String evalue, List<String> traceback) {
        static final Outcome OK = new Outcome(true, false, null, null, List.of());
    }

    /** The source name of the cell run as execution count {@code count}. */
    public static SourceFile source(int count, String code) {
        return new SourceFile("In[" + count + "]", code);
    }

    /** Runs {@code source} in {@code session}, publishing through {@code out}; never throws for a bug of ours. */
    public static Outcome run(Session session, SourceFile source, CellOutput out) {
        Session.Result result;
        try {
            result = session.execute(source, out);
        } catch (RuntimeException | StackOverflowError e) {
            // A bug of ours: say so in one line, never with Java frames; the session stays.
            return fail(out, false, "InternalError", "kvmsim internal error: " + e,
                    List.of("kvmsim internal error: " + e, "the session is still usable; please report this cell"));
        }
        if (result.ok()) {
            out.finish();
            return Outcome.OK;
        }
        List<String> traceback = new ArrayList<>();
        for (Diagnostic d : result.diagnostics()) {
            traceback.addAll(List.of(d.render(source).stripTrailing().split("\n", -1)));
        }
        String first = result.diagnostics().isEmpty() ? "failed" : result.diagnostics().get(0).message();
        return fail(out, result.interrupted(), result.interrupted() ? "Interrupted" : "Error", first, traceback);
    }

    private static Outcome fail(CellOutput out, boolean interrupted, String ename, String evalue, List<String> traceback) {
        out.error(ename, evalue, traceback);
        return new Outcome(false, interrupted, ename, evalue, List.copyOf(traceback));
    }
}
