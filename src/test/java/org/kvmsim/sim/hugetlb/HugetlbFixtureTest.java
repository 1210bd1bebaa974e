package org.kvmsim.sim.hugetlb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.view.MeminfoField;

/**
 * Replays every real-kernel recording in fixtures/hugetlb (made with
 * ../shared/tools/hugetlb-real.sh, the command line in NAME.cmd) through the simulated pool and
 * requires every HugePages_* and Hugetlb value at every step to match. Touches no sysctl.
 */
class HugetlbFixtureTest {
    private static final Path DIR = Paths.get("src/test/resources/fixtures/hugetlb");
    private static final List<String> FIELDS =
            List.of("HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp", "Hugetlb");

    static Stream<String> cases() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            List<String> names = new ArrayList<>();
            s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cmd")).sorted()
                    .forEach(n -> names.add(n.substring(0, n.length() - 4)));
            assertTrue(names.size() >= 6, "at least six recordings expected, found " + names);
            return names.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void replayMatchesKernel(String name) throws IOException {
        String[] cmd = Files.readString(DIR.resolve(name + ".cmd")).trim().split("\\s+");
        long nr = Long.parseLong(cmd[1]);
        long overcommit = Long.parseLong(cmd[2]);
        long map = Long.parseLong(cmd[3]);
        long touch = Long.parseLong(cmd[4]);
        boolean noreserve = cmd.length > 5 && !cmd[5].equals("0");
        List<JsonObject> steps = new ArrayList<>();
        for (String line : Files.readAllLines(DIR.resolve(name + ".jsonl"), StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                steps.add(JsonParser.parseString(line).getAsJsonObject());
            }
        }
        Path errFile = DIR.resolve(name + ".stderr");
        String stderr = Files.exists(errFile) ? Files.readString(errFile) : "";

        HostMemory mem = new HostMemory(1L << 30);
        Hstate pool = new HugetlbPools(mem).pool(HugetlbPools.SIZE_2M);
        pool.setNrHugepages(nr);
        pool.setNrOvercommitHugepages(overcommit);
        int step = 0;
        expect(name, steps.get(step++), "before", mem);

        HugetlbMapping m;
        try {
            m = HugetlbMapping.mmap(pool, map * HugetlbPools.SIZE_2M, noreserve);
        } catch (HugetlbException e) {
            assertTrue(stderr.contains("mmap: " + e.getMessage()), name + ": kernel said " + stderr);
            expect(name, steps.get(step++), "mmap_failed", mem);
            assertEquals(steps.size(), step, name + ": the recording goes on after a failed mmap");
            return;
        }
        expect(name, steps.get(step++), "mapped", mem);
        for (long i = 0; i < touch; i++) {
            if (!m.fault(i)) {
                // The probe died of SIGBUS on this touch: the recording stops after "mapped".
                assertTrue(stderr.contains("Bus error"), name + ": simulated SIGBUS at page " + i
                        + " but the kernel did not raise one");
                assertEquals(steps.size(), step, name + ": the kernel went on where the simulation faulted");
                return;
            }
        }
        assertFalse(stderr.contains("Bus error"), name + ": the kernel raised SIGBUS, the simulation did not");
        expect(name, steps.get(step++), "touched", mem);
        m.munmap();
        expect(name, steps.get(step++), "unmapped", mem);
        assertEquals(steps.size(), step);
    }

    private static void expect(String name, JsonObject kernel, String tag, HostMemory mem) {
        assertEquals(tag, kernel.get("tag").getAsString(), name + ": step order");
        Map<String, Long> sim = new LinkedHashMap<>();
        for (MeminfoField f : mem.meminfo()) {
            sim.put(f.name(), f.value());
        }
        for (String field : FIELDS) {
            if (!kernel.has(field)) {
                fail(name + ": recording lacks " + field);
            }
            assertEquals(kernel.get(field).getAsLong(), sim.get(field), name + " " + tag + " " + field);
        }
    }
}
