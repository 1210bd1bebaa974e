package org.kvmsim.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.lang.libvirt.DomainImport;
import org.kvmsim.lang.libvirt.VmText;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
import org.kvmsim.model.ThpMode;
import org.kvmsim.query.Queries;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * `kvmsim import libvirt DOMAIN.xml`: prints the kvmsim declaration a libvirt domain becomes
 * (what `import libvirt "DOMAIN.xml" on HOST` in a script declares), with what is not modelled as
 * comments. The host comes from a script (--hosts) or is an assumed one with a 2 MiB and a 1 GiB
 * pool, printed too, so hugepage domains import without one.
 */
@Command(name = "import", description = "Show what a file from another tool becomes in kvmsim.",
        subcommands = {ImportCommand.Libvirt.class})
final class ImportCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "libvirt", description = "Print the kvmsim VM a libvirt domain XML file (virsh dumpxml) becomes.")
    static final class Libvirt implements Callable<Integer> {

        @Parameters(paramLabel = "DOMAIN.xml", description = "a libvirt domain file")
        Path file;

        @Option(names = "--as", paramLabel = "NAME", description = "the VM's name (default: the domain's)")
        String name;

        @Option(names = "--on", paramLabel = "HOST", description = "the host (default: the script's first, or hv1)")
        String host;

        @Option(names = "--hosts", paramLabel = "SCRIPT", description = "a kvmsim script declaring the host and its pools")
        Path hosts;

        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            var out = spec.commandLine().getOut();
            var err = spec.commandLine().getErr();
            Host h;
            if (hosts != null) {
                SourceFile src;
                try {
                    src = Scripts.read(hosts);
                } catch (IOException e) {
                    err.println("kvmsim: cannot read " + hosts + ": " + CheckCommand.reason(e));
                    return 2;
                }
                Frontend.Result r = Frontend.compile(src, new Declarations(), Queries.all().syntax());
                if (!r.ok()) {
                    err.print(r.diagnostics().render(src));
                    return 1;
                }
                var declared = r.declarations().hosts;
                h = host != null ? declared.get(host) : declared.values().stream().findFirst().orElse(null);
                if (h == null) {
                    err.println("kvmsim: " + hosts + " declares no host" + (host == null ? "" : " '" + host + "'")
                            + (declared.isEmpty() ? "" : "; it declares " + String.join(", ", declared.keySet())));
                    return 2;
                }
            } else {
                h = new Host(host == null ? "hv1" : host, 1L << 40, "skylake", ThpMode.MADVISE, null, 1,
                        List.of(new HugePagePool("hp2m", 2L << 20, 0, 0, -1), new HugePagePool("hp1g", 1L << 30, 0, 0, -1)));
                out.println("# assumed (give --hosts SCRIPT for your own): host " + h.name()
                        + " { memory = 1 TiB; hugepages hp2m { page_size = 2 MiB }; hugepages hp1g { page_size = 1 GiB } }");
            }
            DomainImport.Result r;
            try {
                r = DomainImport.read(file, name, h);
            } catch (DomainImport.Refused e) {
                err.println(file + (e.line > 0 ? ":" + e.line + ":" + e.column : "") + ": error: " + e.getMessage());
                return 1;
            }
            out.print(VmText.imported(file.toString(), r));
            return 0;
        }
    }
}
