package org.kvmsim.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.kvmsim.kernel.KernelLauncher;
import org.kvmsim.kernel.KernelSpec;
import org.kvmsim.kernel.PygmentsPlugin;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** `kvmsim kernel install` writes the Jupyter kernelspec; `kvmsim kernel run` is what Jupyter starts. */
@Command(name = "kernel", description = "The Jupyter kernel: install its kernelspec, or run it.",
        subcommands = {KernelCommand.Install.class, KernelCommand.Run.class})
final class KernelCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "install", description = "Install the kvmsim kernelspec (default: for this user).")
    static final class Install implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        static final class Where {
            @Option(names = "--user", description = "install for this user (the default)")
            boolean user;

            @Option(names = "--sys-prefix", description = "install into the active virtualenv or conda environment")
            boolean sysPrefix;

            @Option(names = "--prefix", paramLabel = "DIR", description = "install into DIR/share/jupyter/kernels")
            Path prefix;
        }

        @ArgGroup(exclusive = true)
        Where where = new Where();

        @Option(names = "--name", paramLabel = "NAME", defaultValue = "kvmsim", description = "kernelspec name (default: ${DEFAULT-VALUE})")
        String name;

        @Option(names = "--python", paramLabel = "PYTHON", description = "the Python whose Pygments gets kvmsim's lexer with"
                + " --user (default: the one running `jupyter` on PATH)")
        String python;

        @Option(names = "--heap", paramLabel = "SIZE",
                description = "the kernel JVM's heap, as java's -Xmx takes it: 8g, 512m (default: the JVM's, a quarter of memory)")
        String heap;

        @Override
        public Integer call() throws IOException {
            Path kernels;
            if (where.prefix != null) {
                kernels = KernelSpec.underPrefix(where.prefix.toAbsolutePath());
            } else if (where.sysPrefix) {
                kernels = KernelSpec.sysPrefixDir();
                if (kernels == null) {
                    spec.commandLine().getErr().println("kvmsim: --sys-prefix needs an active virtualenv or conda "
                            + "environment (VIRTUAL_ENV or CONDA_PREFIX); use --prefix DIR or --user");
                    return 2;
                }
            } else {
                kernels = KernelSpec.userDir();
            }
            try {
                Path dir = KernelSpec.install(kernels, name, heap);
                var out = spec.commandLine().getOut();
                out.println("installed kernelspec " + name + " in " + dir);
                installLexer(dir);
                return 0;
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("kvmsim: " + e.getMessage());
                return 2;
            }
        }

        /**
         * Where nbconvert's Python finds the Pygments lexer: site-packages for --user (the Python
         * running Jupyter) and --sys-prefix (the environment's); for --prefix only the kernelspec's
         * copy, which that Python reads once PYTHONPATH names it. Failing to find a Python is not an
         * error: the kernel works without it, only nbconvert's HTML is not highlighted.
         */
        private void installLexer(Path specDir) throws IOException {
            var out = spec.commandLine().getOut();
            Path copy = KernelSpec.pygmentsDir(specDir);
            PygmentsPlugin.Where site;
            if (where.prefix != null) {
                out.println("Pygments lexer 'kvmsim' in " + copy + ": for nbconvert to highlight kvmsim code, run it with"
                        + " PYTHONPATH=" + copy);
                return;
            } else if (where.sysPrefix) {
                site = PygmentsPlugin.prefixSite(KernelSpec.sysPrefix());
            } else {
                String py = python != null ? python : PygmentsPlugin.jupyterPython();
                site = py == null ? new PygmentsPlugin.Where(null, "no jupyter or python3 on PATH") : PygmentsPlugin.userSite(py);
            }
            if (site.dir() == null) {
                spec.commandLine().getErr().println("kvmsim: warning: Pygments lexer not installed for nbconvert (" + site.why()
                        + "); it is in " + copy + ", for PYTHONPATH");
                return;
            }
            PygmentsPlugin.writeTo(site.dir());
            out.println("installed Pygments lexer 'kvmsim' in " + site.dir());
        }
    }

    @Command(name = "run", description = "Run the kernel (Jupyter starts it with a connection file).")
    static final class Run implements Callable<Integer> {

        @Parameters(paramLabel = "CONNECTION_FILE", description = "the connection file Jupyter wrote")
        Path connectionFile;

        @Option(names = "--seed", defaultValue = "1", description = "seed of the session's random choices (default: ${DEFAULT-VALUE})")
        long seed;

        @Override
        public Integer call() {
            return KernelLauncher.run(connectionFile, seed);
        }
    }
}
