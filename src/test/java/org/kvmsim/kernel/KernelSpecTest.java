package org.kvmsim.kernel;

import static org.junit.jupiter.api.Assertions.assertFalse;

import org.junit.jupiter.api.Test;

/** The installed kernel's JVM runs with the full tiered JIT: notebook cells are long work. */
class KernelSpecTest {

    @Test
    void theKernelRunsWithTheFullJit() {
        for (String flag : KernelSpec.argv()) assertFalse(flag.startsWith("-XX:TieredStopAtLevel"), flag);
    }
}
