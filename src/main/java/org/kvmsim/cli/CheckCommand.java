package org.kvmsim.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.kvmsim.session.Session;
import java.util.concurrent.Callable;
import org.kvmsim.lang.Diagnostics;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Declarations;
import org.kvmsim.query.Queries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * `kvmsim check FILE...`: parses and checks each script on its own; runs nothing. With --memory
 * it also says what heap each clean script's engines need (the memory guard's estimate,
 * Session#heapEstimate) and the KVMSIM_HEAP to run it with.
 */
@Command(name = "check", description = "Parse and check scripts without running them.")
final class CheckCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "kvmsim scripts (.kvm)")
    List<Path> files;

    @Option(names = "--memory", description = "also print the heap each script needs and the KVMSIM_HEAP to give it")
    boolean memory;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        int rc = 0;
        for (Path f : files) {
            SourceFile src;
            try {
                src = Scripts.read(f);
            } catch (IOException e) {
                spec.commandLine().getErr().println("kvmsim: cannot read " + f + ": " + reason(e));
                rc = 2;
                continue;
            }
            Diagnostics d = Frontend.compile(src, new Declarations(), Queries.all().syntax()).diagnostics();
            if (d.hasErrors()) {
                spec.commandLine().getErr().print(d.render(src));
                rc = Math.max(rc, 1);
            } else if (memory) {
                printHeap(f, Session.heapEstimate(src));
            }
        }
        return rc;
    }

    private void printHeap(Path f, Session.HeapEstimate h) {
        var out = spec.commandLine().getOut();
        out.println(String.format(Locale.ROOT, "%s: its engines need about %s of heap for the guest pages they touch;"
                + " run it with KVMSIM_HEAP=%dg or more (the launcher's default is 4g)",
                f, gib(Math.max(h.script(), h.sweepValue())), ceilGib(h.xmx(false))));
        if (h.workers() > 1 && h.sideBySide() > h.sweepValue()) {
            out.println(String.format(Locale.ROOT, "%s: its sweep's values on %d workers at once need %s:"
                    + " KVMSIM_HEAP=%dg lets every worker run (with less, a value that does not fit waits for the others)",
                    f, h.workers(), gib(h.sideBySide()), ceilGib(h.xmx(true))));
        }
    }

    private static String gib(long bytes) {
        return bytes < (1L << 30) ? String.format(Locale.ROOT, "%d MiB", (bytes + (1 << 20) - 1) >> 20)
                : String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }

    private static long ceilGib(long bytes) {
        return Math.max(1, (bytes + (1L << 30) - 1) >> 30);
    }

    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file";
        if (e instanceof AccessDeniedException) return "permission denied";
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
