package org.kvmsim.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Small lackey traces for the engine's tests. */
final class TestTraces {

    private TestTraces() {}

    /**
     * Writes {@code accesses} lackey data lines to {@code file}: a store every {@code storeEvery}th
     * line, loads between, over {@code lines} cache lines from {@code base} in turn.
     */
    static Path lackey(Path file, int accesses, int storeEvery, long base, int lines) throws IOException {
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < accesses; i++) {
            t.append(i % storeEvery == 0 ? " S " : " L ").append(Long.toHexString(base + 64L * (i % lines))).append(",8\n");
        }
        Files.writeString(file, t);
        return file;
    }
}
