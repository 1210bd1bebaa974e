package org.kvmsim.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.kvmsim.pages.BadDump;
import org.kvmsim.pages.DumpImport;
import org.kvmsim.pages.PageFile;
import org.kvmsim.pages.PageImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * `kvmsim image import DUMP... --out FILE.pages`: real guest memory (raw dumps, ELF cores, the
 * recorder's case folders) into a page file a script's `image NAME { from = "FILE.pages" }`
 * boots VMs from. Prints what the file holds per dump.
 */
@Command(name = "image", description = "Make images from real guest memory.", subcommands = {ImageCommand.Import.class})
final class ImageCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "import", description = "Turn guest memory dumps into a page file (docs/pages-format.md).")
    static final class Import implements Callable<Integer> {

        @Parameters(paramLabel = "DUMP", arity = "1..*", description = "a raw dump (pmemsave 0 SIZE), an ELF core"
                + " (dump-guest-memory, virsh dump --memory-only) or a recorder case folder; GUEST=DUMP@SECONDS names the"
                + " guest a dump is of (dumps of one guest over time give each page's change rate) and when it was taken")
        List<String> dumps;

        @Option(names = "--out", required = true, paramLabel = "FILE.pages", description = "the page file to write")
        Path out;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            var o = spec.commandLine().getOut();
            var err = spec.commandLine().getErr();
            List<DumpImport.Input> inputs = new ArrayList<>();
            for (String d : dumps) {
                DumpImport.Input in = parse(d);
                if (in == null) {
                    err.println("kvmsim: bad time in '" + d + "': GUEST=DUMP@SECONDS takes seconds since the guest booted");
                    return 2;
                }
                inputs.add(in);
            }
            List<String> notes = new ArrayList<>();
            PageImage img;
            try {
                img = DumpImport.read(inputs, notes);
                PageFile.write(img, out);
            } catch (BadDump b) {
                err.println(b.render());
                return 1;
            } catch (IOException e) {
                err.println("kvmsim: cannot write " + out + ": " + CheckCommand.reason(e));
                return 1;
            }
            for (String n : notes) err.println("note: " + n);
            long bytes;
            try {
                bytes = Files.size(out);
            } catch (IOException e) {
                bytes = -1;
            }
            o.print(summary(img));
            o.printf(Locale.ROOT, "wrote %s: %d bytes, %d distinct non-zero contents%n", out, bytes, img.contents());
            return 0;
        }

        /** GUEST=PATH@SECONDS, each part optional; null on a bad time. */
        static DumpImport.Input parse(String arg) {
            String guest = null, path = arg;
            double sec = Double.NaN;
            int eq = path.indexOf('=');
            if (eq > 0 && !Files.exists(Path.of(path))) {
                guest = path.substring(0, eq);
                path = path.substring(eq + 1);
            }
            int at = path.lastIndexOf('@');
            if (at > 0 && !Files.exists(Path.of(path))) {
                try {
                    sec = Double.parseDouble(path.substring(at + 1));
                } catch (NumberFormatException e) {
                    return null;
                }
                path = path.substring(0, at);
            }
            return new DumpImport.Input(Path.of(path), guest, sec);
        }
    }

    /** One line per dump: guest, tag, time, and its pages present, zero, mapping the zero page, in THPs. */
    static String summary(PageImage img) {
        StringBuilder s = new StringBuilder();
        s.append("blocks:");
        for (PageImage.Block b : img.blocks()) s.append(' ').append(b.name()).append(" (").append(b.pages()).append(" pages)");
        s.append('\n');
        s.append(String.format(Locale.ROOT, "%-24s %-10s %10s %10s %10s %10s %8s%n", "guest", "dump", "seconds", "present",
                "zero", "zero_page", "thp"));
        for (PageImage.Dump d : img.dumps()) {
            long present = 0, zero = 0, zmap = 0, thp = 0;
            for (int b = 0; b < img.blocks().size(); b++) {
                int[] c = d.codes()[b];
                for (int p = 0; p < c.length; p++) {
                    if (c[p] >= PageImage.ZERO) present++;
                    if (c[p] == PageImage.ZERO) zero++;
                    if (c[p] == PageImage.ZERO_PAGE_MAPPED) zmap++;
                    if ((d.flags()[b][p] & PageImage.THP) != 0) thp++;
                }
            }
            s.append(String.format(Locale.ROOT, "%-24s %-10s %10s %10d %10d %10d %8d%n", img.guests().get(d.guest()), d.tag(),
                    Double.isNaN(d.seconds()) ? "-" : String.format(Locale.ROOT, "%.1f", d.seconds()), present, zero, zmap, thp));
        }
        return s.toString();
    }
}
