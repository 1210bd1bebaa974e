package org.kvmsim.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.kvmsim.lang.Diagnostics;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Declarations;
import org.kvmsim.query.Queries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** `kvmsim check FILE...`: parses and checks each script on its own; runs nothing. */
@Command(name = "check", description = "Parse and check scripts without running them.")
final class CheckCommand implements Callable<Integer> {

    @Parameters(arity = "1..*", paramLabel = "FILE", description = "kvmsim scripts (.kvm)")
    List<Path> files;

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
            }
        }
        return rc;
    }

    static String reason(IOException e) {
        if (e instanceof NoSuchFileException) return "no such file";
        if (e instanceof AccessDeniedException) return "permission denied";
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
