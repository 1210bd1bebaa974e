package org.kvmsim.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.kvmsim.kernel.KernelLauncher;
import org.kvmsim.kernel.KernelSpec;
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
                spec.commandLine().getOut().println("installed kernelspec " + name + " in " + dir);
                return 0;
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println("kvmsim: " + e.getMessage());
                return 2;
            }
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
