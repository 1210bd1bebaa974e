package org.kvmsim.kernel;

import org.kvmsim.lang.Diagnostics;
import org.kvmsim.lang.Parse;
import org.kvmsim.lang.SourceFile;

/**
 * is_complete: whether a console should run the input or wait for another line. Only an open
 * bracket can be completed by a later line (statements end at a newline), so open brackets mean
 * "incomplete" with an indent for the next line; input no continuation can fix (a closer with no
 * opener, or any other syntax error) is "invalid"; everything else is "complete".
 */
final class Completeness {

    enum Status { COMPLETE, INCOMPLETE, INVALID }

    record Result(Status status, String indent) {}

    private Completeness() {}

    static Result check(String code) {
        int depth = CellScan.openDepth(code);
        if (depth < 0) return new Result(Status.INVALID, "");
        if (depth > 0) return new Result(Status.INCOMPLETE, "  ".repeat(depth));
        Diagnostics diags = new Diagnostics();
        Parse.parse(new SourceFile("cell", code), diags);
        return new Result(diags.hasErrors() ? Status.INVALID : Status.COMPLETE, "");
    }
}
