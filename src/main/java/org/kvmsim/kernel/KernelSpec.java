package org.kvmsim.kernel;

import com.google.gson.GsonBuilder;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes the kernelspec Jupyter finds kernels by: DIR/kernel.json (the command line, with the
 * absolute paths of this java and this jar, and {connection_file} where Jupyter puts the
 * connection file), the logos, kernel.js (the classic Notebook's CodeMirror mode for kvmsim) and a
 * copy of the Pygments lexer plugin ({@link PygmentsPlugin}). Needs no Python: the directories are
 * Jupyter's documented ones.
 */
public final class KernelSpec {

    /**
     * JVM flags for the kernel. G1 with a 100 ms pause goal, not the serial collector the CLI
     * uses: a notebook session holds guests of hundreds of GiB (GiBs of heap) for hours, and a
     * serial full collection of such a heap stopped the kernel for 1.6-2 s, so an interrupt landed
     * late (measured through jupyter_client: 1.6 s with serial, under 0.1 s with G1). The full
     * tiered JIT, not C1 alone as `kvmsim check` starts with: a notebook's cells run for seconds
     * to hours, where C2's code is about 1.3x faster (README, "JIT").
     */
    static final List<String> JVM_FLAGS = List.of("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=100", "-Xshare:auto");

    private KernelSpec() {}

    /** The kernels directory under a prefix, as `jupyter kernelspec install --prefix` uses. */
    public static Path underPrefix(Path prefix) {
        return prefix.resolve("share").resolve("jupyter").resolve("kernels");
    }

    /** The per-user kernels directory (JUPYTER_DATA_DIR, else the platform's default). */
    public static Path userDir() {
        String data = System.getenv("JUPYTER_DATA_DIR");
        if (data != null && !data.isEmpty()) return Path.of(data).resolve("kernels");
        String home = System.getProperty("user.home");
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("mac")) return Path.of(home, "Library", "Jupyter", "kernels");
        if (os.contains("win")) return Path.of(System.getenv().getOrDefault("APPDATA", home), "jupyter", "kernels");
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(home, ".local", "share");
        return base.resolve("jupyter").resolve("kernels");
    }

    /** The kernels directory of the active Python environment (virtualenv or conda), or null. */
    public static Path sysPrefixDir() {
        Path prefix = sysPrefix();
        return prefix == null ? null : underPrefix(prefix);
    }

    /** The prefix of the active Python environment (VIRTUAL_ENV, else CONDA_PREFIX), or null. */
    public static Path sysPrefix() {
        for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String p = System.getenv(var);
            if (p != null && !p.isEmpty()) return Path.of(p);
        }
        return null;
    }

    /** Writes the spec into {@code kernelsDir}/{@code name}; returns that directory. */
    public static Path install(Path kernelsDir, String name) throws IOException {
        return install(kernelsDir, name, null);
    }

    /**
     * As {@link #install(Path, String)}, the kernel's JVM started with {@code -Xmx}{@code heap}
     * ({@code heap} in java's own syntax: 8g, 512m; null: the JVM's default, a quarter of the
     * machine's memory). A notebook's guests live in that heap: `kvmsim check --memory` says
     * what a script needs.
     */
    public static Path install(Path kernelsDir, String name, String heap) throws IOException {
        if (heap != null && !heap.matches(HEAP_SYNTAX)) {
            throw new IllegalArgumentException("heap size '" + heap + "' is not a java -Xmx size: a number with k, m, g or t (e.g. 8g, 512m)");
        }
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("kernel name '" + name + "' may hold only letters, digits, '.', '_' and '-'");
        }
        Path dir = kernelsDir.resolve(name.toLowerCase(Locale.ROOT)).toAbsolutePath();
        Files.createDirectories(dir);
        Map<String, Object> spec = new LinkedHashMap<>();
        spec.put("argv", argv(heap));
        spec.put("display_name", "kvmsim");
        spec.put("language", "kvmsim");
        spec.put("interrupt_mode", "message");
        spec.put("env", Map.of());
        spec.put("metadata", Map.of("debugger", false));
        Files.writeString(dir.resolve("kernel.json"),
                new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(spec) + "\n", StandardCharsets.UTF_8);
        // kernel.js: the classic Notebook's CodeMirror mode for kvmsim (the Notebook loads it from here)
        for (String file : List.of("logo-32x32.png", "logo-64x64.png", "logo-svg.svg", "kernel.js")) {
            try (InputStream in = KernelSpec.class.getResourceAsStream(file)) {
                if (in != null) Files.copy(in, dir.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        PygmentsPlugin.writeTo(pygmentsDir(dir));
        return dir;
    }

    /** The kernelspec's own copy of the Pygments plugin: what PYTHONPATH names after --prefix. */
    public static Path pygmentsDir(Path specDir) {
        return specDir.resolve(PygmentsPlugin.SPEC_SUBDIR);
    }

    /**
     * java [flags] -cp /abs/kvmsim.jar org.kvmsim.kernel.KernelLauncher {connection_file}: the same
     * as `kvmsim kernel run`, without the CLI's start-up. The jar's manifest brings its lib/.
     */
    static List<String> argv() {
        return argv(null);
    }

    /** What -Xmx takes (java's launcher: a size in bytes, or with k, m, g or t, either case). */
    static final String HEAP_SYNTAX = "[1-9][0-9]*[kKmMgGtT]?";

    static List<String> argv(String heap) {
        List<String> argv = new ArrayList<>();
        argv.add(Path.of(System.getProperty("java.home"), "bin", "java").toAbsolutePath().toString());
        argv.addAll(JVM_FLAGS);
        if (heap != null) argv.add("-Xmx" + heap);
        Path code = codeSource();
        argv.add("-cp");
        argv.add(code != null && code.toString().endsWith(".jar") ? code.toString() : absoluteClassPath());
        argv.add(KernelLauncher.class.getName());
        argv.add("{connection_file}");
        return argv;
    }

    private static Path codeSource() {
        try {
            var src = KernelSpec.class.getProtectionDomain().getCodeSource();
            return src == null ? null : Path.of(src.getLocation().toURI()).toAbsolutePath();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    private static String absoluteClassPath() {
        List<String> parts = new ArrayList<>();
        for (String p : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!p.isEmpty()) parts.add(Path.of(p).toAbsolutePath().toString());
        }
        return String.join(File.pathSeparator, parts);
    }
}
