package org.kvmsim.session;

import java.io.Serializable;

/**
 * One sweep of a script, as a task elsewhere needs it (a Spark executor, see org.kvmsim.spark):
 * the script's text, its seed, which top-level statement the sweep is, and the tables its body
 * refers to that earlier statements made ({@link Wire#tables}). Everything else (the declarations
 * and state the sweep starts from) the task rebuilds from the text, as a local sweep's worker
 * rebuilds it by replaying the session's statements on a fresh engine.
 */
public record SweepTask(String file, String text, long seed, int statement, int values, byte[] tables)
        implements Serializable {

    /** The result of value {@code value}: what {@link Session#sweepValue} returns, encoded. */
    public byte[] run(int value) {
        return Session.sweepValue(this, value);
    }
}
