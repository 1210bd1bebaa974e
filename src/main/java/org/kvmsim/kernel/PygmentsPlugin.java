package org.kvmsim.kernel;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Installs kvmsim's Pygments lexer as a plugin, so nbconvert (and anything else using Pygments)
 * finds it by the name the kernel's language_info gives ({@code pygments_lexer: kvmsim}).
 *
 * <p>Pygments looks for plugin lexers through the {@code pygments.lexers} entry point group
 * (pygments/plugin.py: {@code importlib.metadata.entry_points()}), and importlib.metadata finds a
 * distribution by its {@code NAME-VERSION.dist-info} directory in any directory on
 * {@code sys.path}. So a plugin is two things side by side in such a directory: the module
 * {@code kvmsim_pygments.py} and {@code kvmsim_pygments-VERSION.dist-info/} holding METADATA,
 * entry_points.txt ({@code kvmsim = kvmsim_pygments:KvmsimLexer}) and a RECORD of both (the
 * format of PEP 376/627: path, sha256 in unpadded urlsafe base64, size), which lets
 * {@code pip uninstall kvmsim-pygments} remove them. No Python is run to write them.
 *
 * <p>Where: the kernelspec directory always gets a copy under {@code pygments/} (it travels with
 * the kernelspec); with --user and --sys-prefix a copy also goes into the site-packages of the
 * Python that runs Jupyter, which is on its sys.path; with --prefix DIR that Python sees the copy
 * only when {@code DIR/share/jupyter/kernels/NAME/pygments} is on PYTHONPATH (the install says so).
 */
public final class PygmentsPlugin {

    static final String MODULE = "kvmsim_pygments.py";
    static final String DIST = "kvmsim_pygments";
    /** The kernelspec's own copy of the plugin. */
    static final String SPEC_SUBDIR = "pygments";

    private PygmentsPlugin() {}

    /** Writes the module and its dist-info into {@code site}; removes any other version's dist-info. */
    public static void writeTo(Path site) throws IOException {
        Files.createDirectories(site);
        String version = distVersion();
        try (Stream<Path> old = Files.list(site)) {
            for (Path p : old.filter(p -> p.getFileName().toString().matches(DIST + "-.*\\.dist-info")).toList()) {
                deleteTree(p);
            }
        }
        byte[] module = resource(MODULE);
        String info = DIST + "-" + version + ".dist-info";
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put(MODULE, module);
        files.put(info + "/METADATA", ("Metadata-Version: 2.1\nName: kvmsim-pygments\nVersion: " + version
                + "\nSummary: Pygments lexer for the kvmsim language (installed by kvmsim kernel install)\n")
                .getBytes(StandardCharsets.UTF_8));
        files.put(info + "/entry_points.txt",
                "[pygments.lexers]\nkvmsim = kvmsim_pygments:KvmsimLexer\n".getBytes(StandardCharsets.UTF_8));
        files.put(info + "/top_level.txt", "kvmsim_pygments\n".getBytes(StandardCharsets.UTF_8));
        files.put(info + "/INSTALLER", "kvmsim\n".getBytes(StandardCharsets.UTF_8));
        StringBuilder record = new StringBuilder();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            Path target = site.resolve(f.getKey());
            Files.createDirectories(target.getParent());
            Files.write(target, f.getValue());
            record.append(f.getKey()).append(",sha256=").append(sha256(f.getValue())).append(',')
                    .append(f.getValue().length).append('\n');
        }
        record.append(info).append("/RECORD,,\n");
        Files.writeString(site.resolve(info + "/RECORD"), record.toString(), StandardCharsets.UTF_8);
    }

    /** The dist-info version: the jar's (pom) version; a build run from classes is 0.dev0. */
    static String distVersion() {
        String v = PygmentsPlugin.class.getPackage().getImplementationVersion();
        if (v == null) v = "";
        return v.matches("[0-9]+(\\.[0-9]+)*") ? v : "0.dev0";
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = PygmentsPlugin.class.getResourceAsStream(name)) {
            if (in == null) throw new IOException("kvmsim's jar lacks " + name);
            return in.readAllBytes();
        }
    }

    private static String sha256(byte[] data) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(data);
            return Base64.getUrlEncoder().withoutPadding().encodeToString(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        try (Stream<Path> all = Files.walk(p)) {
            for (Path q : all.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) Files.delete(q);
        }
    }

    /**
     * The Python that runs Jupyter: the interpreter named by the {@code #!} line of the
     * {@code jupyter} found on PATH (Debian's: /usr/bin/python3, whatever python3 comes first on
     * PATH), else {@code python3} on PATH; null when there is neither.
     */
    public static String jupyterPython() {
        Path jupyter = onPath("jupyter");
        if (jupyter != null) {
            try (var r = Files.newBufferedReader(jupyter, StandardCharsets.ISO_8859_1)) {
                String first = r.readLine();
                if (first != null && first.startsWith("#!")) {
                    List<String> words = List.of(first.substring(2).trim().split("\\s+"));
                    if (!words.isEmpty() && !words.get(0).isEmpty()) {
                        // a pyenv shim or other wrapper is no Python: then python3 on PATH
                        if (words.get(0).endsWith("/env") && words.size() > 1) {
                            Path p = onPath(words.get(words.size() - 1));
                            if (p != null && isPython(p)) return p.toString();
                        } else if (Files.isExecutable(Path.of(words.get(0))) && isPython(Path.of(words.get(0)))) {
                            return words.get(0);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not a script we can read: fall back on python3
            }
        }
        Path p = onPath("python3");
        return p == null ? null : p.toString();
    }

    private static boolean isPython(Path p) {
        return p.getFileName().toString().startsWith("python");
    }

    static Path onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(java.io.File.pathSeparator)) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, command);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) return p;
        }
        return null;
    }

    /**
     * The user site-packages of {@code python} (site.getusersitepackages(): PYTHONUSERBASE or
     * ~/.local, lib/pythonX.Y/site-packages), or an explanation of why it has none.
     */
    public static Where userSite(String python) {
        List<String> out = ask(python, "import site; print(site.ENABLE_USER_SITE); print(site.getusersitepackages())");
        if (out == null || out.size() < 2) return new Where(null, python + " did not say where its user site-packages are");
        if (!out.get(0).equals("True")) {
            return new Where(null, python + " does not read a user site-packages (a virtualenv?): use --sys-prefix");
        }
        return new Where(Path.of(out.get(1)), null);
    }

    /** The site-packages (sysconfig purelib) of the Python of a virtualenv or conda prefix. */
    public static Where prefixSite(Path prefix) {
        for (String exe : List.of("bin/python3", "bin/python", "python.exe")) {
            Path py = prefix.resolve(exe);
            if (Files.isExecutable(py)) {
                List<String> out = ask(py.toString(), "import sysconfig; print(sysconfig.get_path('purelib'))");
                if (out != null && !out.isEmpty()) return new Where(Path.of(out.get(0)), null);
                return new Where(null, py + " did not say where its site-packages are");
            }
        }
        return new Where(null, "no Python in " + prefix);
    }

    /** A site-packages directory, or why there is none ({@code dir} null). */
    public record Where(Path dir, String why) {}

    private static List<String> ask(String python, String code) {
        try {
            Process p = new ProcessBuilder(python, "-c", code).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                return null;
            }
            List<String> lines = new ArrayList<>();
            for (String l : new String(out, StandardCharsets.UTF_8).split("\n")) if (!l.isBlank()) lines.add(l.strip());
            return lines;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
