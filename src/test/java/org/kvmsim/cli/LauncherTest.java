package org.kvmsim.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's JIT choice by the work (README, "JIT"): C1 alone for commands that never
 * simulate and for short runs, the full tiered JIT for runs of 20 M accesses or more (a sweep
 * counting twice), the kernel and benchmarks. Read through its dry run, which prints
 * the java command line without building or starting anything.
 */
class LauncherTest {

    private static final String C1 = "-XX:TieredStopAtLevel=1";

    private static String javaLine(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("bash", Path.of("kvmsim").toAbsolutePath().toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("KVMSIM_LAUNCHER_DRY_RUN", "1");
        pb.environment().remove("KVMSIM_JAVA_OPTS");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void shortCommandsStartWithC1Only() throws Exception {
        assertTrue(javaLine("check", "lab.kvm").contains(C1));
        assertTrue(javaLine("import", "libvirt", "web.xml").contains(C1));
        assertTrue(javaLine("kernel", "install").contains(C1));
        assertTrue(javaLine("--help").contains(C1));
    }

    @TempDir
    Path dir;

    private Path script(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void shortRunsStartWithC1Only() throws Exception {
        Path small = script("small.kvm", "workload w on g1 { accesses = 2_000_000 }  # accesses = 90_000_000\nrun 1 s\n");
        assertTrue(javaLine("run", small.toString()).contains(C1));
        assertTrue(javaLine("run", "missing.kvm").contains(C1));
    }

    @Test
    void longRunsSweepsAndTheKernelGetTheFullJit() throws Exception {
        Path big = script("big.kvm", "workload w on g1 { pattern = uniform; accesses = 40_000_000 }\nrun 10 s\n");
        assertFalse(javaLine("run", big.toString(), "--format", "json").contains(C1));
        Path swept = script("swept.kvm", "workload w on g1 { accesses = 16_000_000 }\nsweep g1.paging in [ept, shadow] { run 1 s }\n");
        assertFalse(javaLine("run", swept.toString()).contains(C1));
        assertFalse(javaLine("kernel", "run", "conn.json").contains(C1));
        assertFalse(javaLine("notebook", "run", "x.ipynb").contains(C1), "a notebook's cells are the kernel's");
        assertTrue(javaLine("notebook", "--help").contains(C1));
        assertFalse(javaLine("bench", "mmu").contains(C1));
    }

    @Test
    void aSparkSweepRunsBesideSparksJarsWithSparksJvmOptions() throws Exception {
        String spark = javaLine("sweep", "--spark", "--master", "local[2]", "lab.kvm");
        assertTrue(spark.contains("target/spark-lib/*") && spark.contains(" org.kvmsim.cli.Main sweep --spark"), spark);
        assertFalse(spark.contains(" -jar "), spark);
        // Spark's JavaModuleOptions (pom.xml's kvmsim.spark.jvmOptions), but the incubator module
        String pom = Files.readString(Path.of("pom.xml"));
        String options = pom.substring(pom.indexOf("<kvmsim.spark.jvmOptions>") + 25, pom.indexOf("</kvmsim.spark.jvmOptions>"));
        for (String o : options.split(" ")) {
            if (o.equals("--add-modules=jdk.incubator.vector")) assertFalse(spark.contains(o), spark);
            else assertTrue(spark.contains(" " + o + " "), o + " missing from " + spark);
        }
        String local = javaLine("sweep", "lab.kvm");
        assertTrue(local.contains(" -jar ") && !local.contains("spark-lib") && !local.contains("--add-opens"), local);
    }
}
