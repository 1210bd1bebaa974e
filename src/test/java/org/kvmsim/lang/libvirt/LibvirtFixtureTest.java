package org.kvmsim.lang.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.kvmsim.lang.Frontend;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.model.Backing;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.Vm;

/**
 * libvirt's own test-suite domains (fixtures/libvirt, README.md there says where each came from)
 * imported on a host like libvirt's test harness (2 MiB default and 1 GiB hugetlbfs mounts, four
 * NUMA nodes): each accepted one becomes exactly its NAME.import.kvm, and agrees with the QEMU
 * command line libvirt's tests expect for it (NAME.args-excerpt: -m, mem-merge, prealloc,
 * hugepage size); each rejected one fails with libvirt's own error text (NAME.err).
 */
class LibvirtFixtureTest {

    static final Path DIR = Path.of("src/test/resources/fixtures/libvirt");

    static Host harness() throws IOException {
        Path script = DIR.resolve("harness-host.kvm");
        Frontend.Result r = Frontend.compile(new SourceFile(script.toString(), Files.readString(script)), new Declarations(), List.of());
        assertTrue(r.ok(), () -> r.diagnostics().list().toString());
        return r.declarations().hosts.get("hv1");
    }

    static Stream<String> accepted() throws IOException {
        return names().filter(n -> !Files.exists(DIR.resolve(n + ".err")));
    }

    static Stream<String> rejected() throws IOException {
        return names().filter(n -> Files.exists(DIR.resolve(n + ".err")));
    }

    private static Stream<String> names() throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".xml"))
                    .map(n -> n.substring(0, n.length() - 4)).sorted().toList().stream();
        }
    }

    @Test
    void theFixturesAreThere() throws IOException {
        assertTrue(accepted().count() >= 10, "accepted libvirt fixtures");
        assertTrue(rejected().count() >= 3, "rejected libvirt fixtures");
    }

    @ParameterizedTest
    @MethodSource("accepted")
    void importsToItsDeclaration(String name) throws Exception {
        DomainImport.Result r = DomainImport.read(DIR.resolve(name + ".xml"), null, harness());
        String want = Files.readString(DIR.resolve(name + ".import.kvm"), StandardCharsets.UTF_8);
        assertEquals(want, VmText.imported(name + ".xml", r));
    }

    private static final Pattern DASH_M = Pattern.compile("-m size=(\\d+)k");
    private static final Pattern HUGETLB = Pattern.compile("\"mem-path\":\"/dev/hugepages(2M|1G)|\"hugetlbsize\":(\\d+)");

    /** The declaration against libvirt's expected QEMU command line for the same file. */
    @ParameterizedTest
    @MethodSource("accepted")
    void agreesWithTheQemuCommandLineLibvirtBuilds(String name) throws Exception {
        Path args = DIR.resolve(name + ".args-excerpt");
        if (!Files.exists(args)) return; // memtune: its .args is not in the fixtures (README)
        String a = Files.readString(args, StandardCharsets.UTF_8);
        Vm vm = DomainImport.read(DIR.resolve(name + ".xml"), null, harness()).vm();
        Matcher m = DASH_M.matcher(a);
        assertTrue(m.find(), name + ": -m");
        assertEquals(Long.parseLong(m.group(1)) * 1024, vm.memory(), name + ": memory is QEMU's -m");
        // kvmsim's guest RAM is guest node 0's: the backend QEMU gets for it (pc.ram, or ram-node0)
        String ram = a.lines().filter(l -> l.contains("\"id\":\"pc.ram\"") || l.contains("\"id\":\"ram-node0\""))
                .findFirst().orElse("");
        assertTrue(!ram.isEmpty(), name + ": the excerpt has the backend of guest RAM");
        boolean huge = HUGETLB.matcher(ram).find();
        assertEquals(huge, vm.backing().kind() == Backing.Kind.HUGEPAGES, name + ": hugetlbfs");
        // preallocated, or mlock()ed by QEMU at start (-overcommit mem-lock=on), which faults it all in
        assertEquals(ram.contains("\"prealloc\":true") || a.contains("-mem-prealloc") || a.contains("mem-lock=on"), vm.prealloc(),
                name + ": prealloc");
        // KSM merges neither with mem-merge=off nor a shared mapping (hugetlbfs it never merges anyway)
        boolean shared = ram.contains("\"share\":true");
        if (!huge) assertEquals(!a.contains("mem-merge=off") && !shared, vm.memMerge(), name + ": mem-merge");
        if (a.contains("mem-merge=off")) assertTrue(!vm.memMerge(), name + ": mem-merge=off");
    }

    @ParameterizedTest
    @MethodSource("rejected")
    void failsWithLibvirtsError(String name) throws Exception {
        String err = Files.readString(DIR.resolve(name + ".err"), StandardCharsets.UTF_8).strip();
        DomainImport.Refused e = assertThrows(DomainImport.Refused.class,
                () -> DomainImport.read(DIR.resolve(name + ".xml"), null, harness()));
        // libvirt prefixes its error class ("internal error: "); the text after it is libvirt's own
        assertTrue(err.endsWith(e.getMessage()), name + ": libvirt says '" + err + "', kvmsim '" + e.getMessage() + "'");
        assertTrue(e.line > 0, name + ": the error points at its element");
    }
}
