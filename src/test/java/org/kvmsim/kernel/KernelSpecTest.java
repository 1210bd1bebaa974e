package org.kvmsim.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The installed kernel's JVM: the full tiered JIT (notebook cells are long work), and the heap asked for. */
class KernelSpecTest {

    @TempDir
    Path dir;

    @Test
    void theKernelRunsWithTheFullJit() {
        for (String flag : KernelSpec.argv()) assertFalse(flag.startsWith("-XX:TieredStopAtLevel"), flag);
    }

    private List<String> installedArgv(String heap) throws Exception {
        Path spec = KernelSpec.install(dir, "k", heap).resolve("kernel.json");
        List<String> argv = new ArrayList<>();
        JsonParser.parseString(Files.readString(spec)).getAsJsonObject().getAsJsonArray("argv").forEach(e -> argv.add(e.getAsString()));
        return argv;
    }

    @Test
    void aHeapAtInstallIsTheKernelsXmx() throws Exception {
        List<String> argv = installedArgv("12g");
        assertEquals(1, argv.stream().filter(a -> a.startsWith("-Xmx")).count(), argv.toString());
        // a JVM option: before the class path and the main class
        assertTrue(argv.indexOf("-Xmx12g") > 0 && argv.indexOf("-Xmx12g") < argv.indexOf("-cp"), argv.toString());
        assertTrue(installedArgv(null).stream().noneMatch(a -> a.startsWith("-Xmx")));
        assertTrue(installedArgv("512M").contains("-Xmx512M"));
    }

    @Test
    void aHeapJavaWouldRefuseIsRefusedAtInstall() {
        for (String bad : List.of("8 GiB", "8gb", "0g", "-Xmx8g", "g")) {
            var e = assertThrows(IllegalArgumentException.class, () -> KernelSpec.install(dir, "k", bad), bad);
            assertTrue(e.getMessage().contains("not a java -Xmx size"), e.getMessage());
        }
    }
}
