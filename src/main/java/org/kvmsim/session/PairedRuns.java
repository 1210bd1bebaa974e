package org.kvmsim.session;

import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import tech.tablesaw.api.Table;

/**
 * The harness of the benchmarks that set one thread count against many: the same work run on
 * one thread and on one per processor (at least two), selected by a system property, alternating,
 * best of 3 each, in one process so both see the same machine; both must print the same tables.
 */
final class PairedRuns {

    /** The timed part of one run: its wall time in seconds; what it shows goes to {@code out}. */
    interface Work {
        double seconds(Output out);
    }

    /** The best wall time on one thread and on {@code many}. */
    record Result(double oneSeconds, double manySeconds, int many) {}

    private PairedRuns() {}

    static Result run(String property, String what, Work work) {
        int many = Math.max(2, Runtime.getRuntime().availableProcessors());
        String before = System.getProperty(property);
        double one = Double.MAX_VALUE;
        double par = Double.MAX_VALUE;
        String oneTables = null;
        String manyTables = null;
        try {
            for (int round = 0; round < 3; round++) {
                for (int threads : new int[] {1, many}) {
                    System.setProperty(property, Integer.toString(threads));
                    StringBuilder tables = new StringBuilder();
                    double secs = work.seconds(collecting(tables));
                    if (threads == 1) {
                        one = Math.min(one, secs);
                        oneTables = tables.toString();
                    } else {
                        par = Math.min(par, secs);
                        manyTables = tables.toString();
                    }
                }
            }
        } finally {
            if (before == null) System.clearProperty(property);
            else System.setProperty(property, before);
        }
        if (!oneTables.equals(manyTables)) {
            throw new IllegalStateException(what + " changed the output:\n" + oneTables + "\n" + manyTables);
        }
        return new Result(one, par, many);
    }

    /** Runs {@code text} in {@code s}; fails the benchmark if it does not run clean. */
    static void execute(Session s, String name, String text, Output out) {
        if (!s.execute(new SourceFile(name, text), out).ok()) throw new IllegalStateException("bench script " + name + " failed");
    }

    /** Output that keeps the tables, rendered as text, and drops the rest. */
    private static Output collecting(StringBuilder tables) {
        return new Output() {
            public void print(String text) {}

            public void table(Table t) {
                tables.append(Render.text(t));
            }

            public void chart(String name, byte[] png, String svg) {}
        };
    }
}
