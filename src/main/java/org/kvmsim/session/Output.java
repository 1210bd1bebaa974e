package org.kvmsim.session;

import java.nio.file.Path;
import tech.tablesaw.api.Table;

/**
 * Where a session's results go, in the order the script asks for them. The CLI prints or writes
 * files; the notebook kernel publishes display_data. The session never formats for a medium.
 */
public interface Output {

    /** A line from `print`. */
    void print(String text);

    /** A query's table (`show`, or the table a sweep concatenated). */
    void table(Table table);

    /** A chart from `plot`: rendered PNG and SVG, and a name to save them under. */
    void chart(String name, byte[] png, String svg);

    /** A file that `export` wrote. */
    default void exported(String table, Path file) {}

    /** Progress of a long `run`: simulated nanoseconds done of total. Called at most a few times a second. */
    default void progress(long doneNanos, long totalNanos) {}

    /** As {@link #progress(long, long)}, with the workload accesses the statement has simulated so far. */
    default void progress(long doneNanos, long totalNanos, long accesses) {
        progress(doneNanos, totalNanos);
    }

    /**
     * Progress of the one pass that counts and decodes a trace file before its first run (once
     * per process): {@code accesses} read so far. Called at most a few times a second.
     */
    default void counting(String trace, long accesses) {}
}
