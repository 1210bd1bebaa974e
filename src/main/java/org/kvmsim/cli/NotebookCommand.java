package org.kvmsim.cli;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.kvmsim.notebook.Nbformat;
import org.kvmsim.notebook.NotebookCheck;
import org.kvmsim.notebook.NotebookPage;
import org.kvmsim.notebook.NotebookRun;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * `kvmsim notebook run NOTEBOOK...`: executes notebooks in-process, without Python or Jupyter,
 * through the kernel's own cell path, and writes them back as `jupyter nbconvert --to notebook
 * --execute` with the kvmsim kernel would (see {@link NotebookRun}); or checks that they still
 * give their committed bytes (--check); or publishes them as a standalone HTML page or Markdown
 * (--to html|md). Exit status: 0 ok, 1 a cell failed or a check found a difference, 2 a file that
 * cannot be read or is not a notebook.
 */
@Command(name = "notebook", description = "Run and publish kvmsim notebooks without Jupyter.",
        subcommands = {NotebookCommand.Run.class})
final class NotebookCommand implements Runnable {

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    enum To { notebook, html, md }

    @Command(name = "run", description = {
            "Execute notebooks cell by cell in one session, as the kvmsim kernel would, and write them back.",
            "Relative file names in cells are relative to the notebook's folder."})
    static final class Run implements Callable<Integer> {

        @Parameters(paramLabel = "NOTEBOOK", arity = "1..*", description = "notebooks (.ipynb) of the kvmsim kernel")
        List<Path> notebooks;

        @Option(names = "--to", defaultValue = "notebook", paramLabel = "FORMAT",
                description = "notebook (the executed .ipynb), html (a standalone page) or md (default: ${DEFAULT-VALUE})")
        To to;

        @Option(names = "--out", paramLabel = "DIR", description = "where to write (default: beside each notebook; the .ipynb in place)")
        Path out;

        @Option(names = "--check", description = "execute again and fail, naming the cell, if the result differs from the file; write no .ipynb")
        boolean check;

        @Option(names = "--allow-errors", description = "go on after a cell's error, keeping it as the cell's output (nbconvert's --allow-errors)")
        boolean allowErrors;

        @Option(names = {"-q", "--quiet"}, description = "no progress on standard error")
        boolean quiet;

        @Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter stdout = spec.commandLine().getOut(), stderr = spec.commandLine().getErr();
            Progress progress = new Progress(stderr, Progress.detect(quiet, false));
            int rc = 0;
            for (Path file : notebooks) rc = Math.max(rc, one(file, stdout, stderr, progress));
            return rc;
        }

        private int one(Path file, PrintWriter stdout, PrintWriter stderr, Progress progress) {
            byte[] bytes;
            JsonObject nb;
            try {
                bytes = Files.readAllBytes(file);
                nb = Nbformat.read(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString());
            } catch (CharacterCodingException e) {
                stderr.println(file + ": not a notebook: not UTF-8 text");
                return 2;
            } catch (IOException e) {
                stderr.println("kvmsim: cannot read " + file + ": " + CheckCommand.reason(e));
                return 2;
            } catch (Nbformat.Invalid e) {
                stderr.println(file + ": " + e.getMessage());
                return 2;
            }
            Path folder = file.toAbsolutePath().getParent();
            NotebookRun.Result r = NotebookRun.execute(nb, folder, allowErrors, new NotebookRun.Listener() {
                @Override
                public void cell(int index, int count, int codeCells, String firstLine) {
                    progress.note(file + ": cell " + count + " of " + codeCells + ": "
                            + (firstLine.length() > 60 ? firstLine.substring(0, 57) + "..." : firstLine));
                }

                @Override
                public void runProgress(long done, long total, long accesses) {
                    progress.update(done, total, accesses);
                }

                @Override
                public void counting(String trace, long accesses) {
                    progress.counting(trace, accesses);
                }
            });
            progress.clear();
            if (r.failure() != null) {
                NotebookRun.Failure f = r.failure();
                stderr.println(file + ": cell " + f.index() + " (`" + f.firstLine() + "`) failed: " + f.ename() + ": " + f.evalue());
                for (String line : f.traceback()) stderr.println("  " + line);
                return 1;
            }
            byte[] executed = Nbformat.writeBytes(r.notebook());
            int rc = 0;
            if (check) {
                String diff = NotebookCheck.difference(bytes, executed);
                if (diff != null) {
                    stderr.println(file + ": " + diff);
                    stderr.println("  (`kvmsim notebook run " + file + "` writes what it gives now)");
                    rc = 1;
                } else {
                    stdout.println(file + ": the same bytes again");
                }
            }
            String stem = file.getFileName().toString().replaceFirst("\\.ipynb$", "");
            Path dir = out != null ? out : folder;
            try {
                if (out != null) Files.createDirectories(out);
                switch (to) {
                    case notebook -> {
                        if (!check) {
                            Path target = out == null ? file : out.resolve(file.getFileName());
                            // beside it, then renamed over it: a run stopped while writing leaves the old file whole
                            Path partial = target.resolveSibling(target.getFileName() + ".partial");
                            Files.write(partial, executed);
                            Files.move(partial, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                            stdout.println("wrote " + target);
                        }
                    }
                    case html -> write(dir.resolve(stem + ".html"), NotebookPage.html(r.notebook(), stem), stdout);
                    case md -> write(dir.resolve(stem + ".md"), NotebookPage.markdown(r.notebook(), stem, dir.resolve(stem + "_files"),
                            stem + "_files"), stdout);
                }
            } catch (IOException e) {
                stderr.println("kvmsim: cannot write beside " + file + ": " + CheckCommand.reason(e));
                return 2;
            }
            return rc;
        }

        private static void write(Path target, String text, PrintWriter stdout) throws IOException {
            Files.writeString(target, text, StandardCharsets.UTF_8);
            stdout.println("wrote " + target);
        }
    }
}
