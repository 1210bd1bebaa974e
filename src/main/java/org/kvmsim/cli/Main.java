package org.kvmsim.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The command line: `kvmsim check`, `kvmsim run`, `kvmsim sweep`, `kvmsim import`, `kvmsim image`, `kvmsim bench`, `kvmsim kernel`, `kvmsim notebook`. Exit codes:
 * 0 ok, 1 a script or simulation error, 2 a usage error, 130 a run stopped by Ctrl-C.
 */
@Command(name = "kvmsim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "A laboratory for KVM memory virtualization.",
        subcommands = {CheckCommand.class, RunCommand.class, SweepCommand.class, ImportCommand.class, ImageCommand.class, BenchCommand.class, KernelCommand.class,
                NotebookCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams; returns the exit code. Used by tests too. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            // A bug of ours, not the user's: say so in one line, never a stack trace.
            err.println("kvmsim: internal error: " + ex);
            if (System.getenv("KVMSIM_DEBUG") != null) ex.printStackTrace(err);
            else err.println("(a bug in kvmsim, not in the script; KVMSIM_DEBUG=1 prints the details)");
            return 1;
        });
        int rc = cl.execute(args);
        out.flush();
        err.flush();
        return rc;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"kvmsim " + (v == null ? "dev" : v)};
        }
    }
}
