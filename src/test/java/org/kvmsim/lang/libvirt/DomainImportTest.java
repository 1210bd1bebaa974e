package org.kvmsim.lang.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
import org.kvmsim.model.Machine;
import org.kvmsim.model.ThpMode;

/** libvirt's units, hostile and broken files, and the mapping's choices. */
class DomainImportTest {

    @TempDir
    Path dir;

    private static final Host HOST = new Host("hv1", 64L << 30, "skylake", ThpMode.MADVISE, null, 2,
            List.of(new HugePagePool("p2m", 2L << 20, 16, 0, -1), new HugePagePool("p2m1", 2L << 20, 16, 0, 1)));

    private Path file(String text) throws IOException {
        Path f = dir.resolve("d.xml");
        Files.writeString(f, text, StandardCharsets.UTF_8);
        return f;
    }

    private DomainImport.Result read(String body) throws Exception {
        return DomainImport.read(file("<domain type='kvm'><name>g</name>" + body + "</domain>"), null, HOST);
    }

    /** virScaleInteger's suffixes, then rounded up to KiB (virDomainParseMemory). */
    @ParameterizedTest
    @CsvSource({"1, , 1", "1, KiB, 1", "1, k, 1", "1, K, 1", "1000, b, 1", "1024, bytes, 1", "1025, byte, 2",
            "1, KB, 1", "1024, KB, 1000", "1, MB, 977", "1, M, 1024", "1, MiB, 1024", "1, GB, 976563", "1, G, 1048576",
            "1, GiB, 1048576", "1, TB, 976562500", "1, T, 1073741824", "1, tib, 1073741824"})
    void unitsScaleAsLibvirtsDo(String value, String unit, long kib) throws Exception {
        XmlTree.Element at = new XmlTree.Element("memory", Map.of(), value, List.of(), 1, 1);
        assertEquals(kib, DomainImport.kib(at, value, unit));
    }

    @Test
    void unknownUnitsAndTooLargeValuesAreLibvirtsErrors() {
        XmlTree.Element at = new XmlTree.Element("memory", Map.of(), "1", List.of(), 3, 5);
        assertEquals("unknown suffix 'kibs'", assertThrows(DomainImport.Refused.class, () -> DomainImport.kib(at, "1", "kibs")).getMessage());
        assertEquals("unknown suffix 'x'", assertThrows(DomainImport.Refused.class, () -> DomainImport.kib(at, "1", "x")).getMessage());
        assertTrue(assertThrows(DomainImport.Refused.class, () -> DomainImport.kib(at, "18446744073709551615", "EiB"))
                .getMessage().startsWith("value too large"));
    }

    @Test
    void memoryIsAlignedTo1MiBAndToTheHugepageSize() throws Exception {
        assertEquals(2L << 20, read("<memory unit='KiB'>1025</memory>").vm().memory());
        assertEquals(4L << 20, read("<memory unit='MiB'>3</memory><memoryBacking><hugepages/></memoryBacking>").vm().memory());
    }

    /** The machine type lays guest RAM out: q35 and pc (i440FX) by libvirt's names for them; others warn. */
    @ParameterizedTest
    @CsvSource({"pc, PC", "pc-i440fx-9.2, PC", "pc-i440fx-rhel7.6.0, PC", "pc-1.7, PC", "q35, Q35", "pc-q35-8.2, Q35",
            "pc-q35-rhel9.4.0, Q35"})
    void theMachineTypeIsPcOrQ35(String machine, Machine expected) throws Exception {
        var r = read("<memory>1048576</memory><os><type arch='x86_64' machine='" + machine + "'>hvm</type></os>");
        assertEquals(expected, r.vm().machine());
        assertEquals(List.of(), r.warnings());
        assertEquals(Machine.PC, read("<memory>1048576</memory>").vm().machine());
        var micro = read("<memory>1048576</memory><os><type arch='x86_64' machine='microvm'>hvm</type></os>");
        assertEquals(Machine.PC, micro.vm().machine());
        assertTrue(micro.warnings().get(0).message().startsWith("machine type 'microvm' is not modelled"));
        assertTrue(VmText.of(r.vm()).contains("machine = q35") == (expected == Machine.Q35));
    }

    @Test
    void hugepagesTakeThePoolOfTheirSizeOnTheGuestsNode() throws Exception {
        assertEquals("hugepages p2m", read("<memory>1048576</memory><memoryBacking><hugepages/></memoryBacking>").vm().backing().toString());
        var r = read("<memory>1048576</memory><memoryBacking><hugepages/></memoryBacking>"
                + "<numatune><memory mode='preferred' nodeset='1'/></numatune>");
        assertEquals("hugepages p2m1", r.vm().backing().toString());
        assertEquals(1, r.vm().node());
        // a page size equal to the base page size is ordinary memory
        assertEquals("anonymous", read("<memory>1048576</memory><memoryBacking><hugepages><page size='4' unit='KiB'/>"
                + "</hugepages></memoryBacking>").vm().backing().toString());
    }

    @Test
    void aDoctypeIsRefusedSoNoEntityIsEverExpanded() {
        String laughs = "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
                + "<domain><name>&b;</name><memory>1024</memory></domain>";
        var e = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(file(laughs), null, HOST));
        assertTrue(e.getMessage().contains("DOCTYPE is not allowed"), e.getMessage());
        var ext = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(file(
                "<!DOCTYPE d SYSTEM 'http://127.0.0.1:1/d.dtd'><domain><name>g</name><memory>1</memory></domain>"), null, HOST));
        assertTrue(ext.getMessage().contains("DOCTYPE is not allowed"), ext.getMessage());
    }

    @Test
    void aHugeFileIsRefusedUnread() throws Exception {
        Path f = dir.resolve("huge.xml");
        Files.write(f, new byte[(int) XmlTree.MAX_BYTES + 1]);
        var e = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(f, null, HOST));
        assertTrue(e.getMessage().contains("a domain file is a few KiB"), e.getMessage());
        var dev = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(Path.of("/dev/zero"), null, HOST));
        assertTrue(dev.getMessage().contains("not a regular file"), dev.getMessage());
    }

    @Test
    void garbageAndWrongRootsAreDiagnosticsWithAPosition() {
        var e = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(file("<domain><name>g</name>\n<memory>1</mem"), null, HOST));
        assertEquals(2, e.line);
        var root = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(file("<pool/>"), null, HOST));
        assertTrue(root.getMessage().contains("root element is <pool>"), root.getMessage());
        var binary = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(file("\u0000\u0001\u0002"), null, HOST));
        assertTrue(binary.line >= 0);
    }

    private String refused(String body) {
        return assertThrows(DomainImport.Refused.class, () -> read(body)).getMessage();
    }

    @Test
    void hostileNumbersAreLibvirtsErrorsNotCrashes() {
        String mem = "<memory unit='MiB'>512</memory>";
        assertEquals("Failed to parse bitmap '0-2147483647'",
                refused(mem + "<numatune><memory mode='strict' nodeset='0-2147483647'/></numatune>"));
        assertEquals("Failed to parse bitmap '3-1'", refused(mem + "<numatune><memory mode='strict' nodeset='3-1'/></numatune>"));
        assertEquals("Failed to parse bitmap ''", refused(mem + "<numatune><memory mode='strict' nodeset=''/></numatune>"));
        assertEquals("value too large: 9007199254740992", refused("<memory>9007199254740992</memory>"));
        assertEquals("value too large: 18446744073709551615b", refused("<memory unit='b'>18446744073709551615</memory>"));
        assertEquals("initial memory size overflowed after alignment", refused(mem + "<cpu><numa>"
                + "<cell id='0' memory='4' unit='EiB'/><cell id='1' memory='4' unit='EiB'/><cell id='2' memory='4' unit='EiB'/>"
                + "</numa></cpu>"));
    }

    @Test
    void deepNestingIsADiagnostic() throws IOException {
        String deep = "<x>".repeat(5000) + "</x>".repeat(5000);
        var e = assertThrows(DomainImport.Refused.class, () -> DomainImport.read(file("<domain><name>g</name><memory>1048576</memory>"
                + deep + "</domain>"), null, HOST));
        assertTrue(e.getMessage().contains("nested deeper than"), e.getMessage());
    }

    @Test
    void whatLibvirtRefusesIsRefused() {
        String mem = "<memory unit='MiB'>512</memory>";
        assertEquals("two master hugepages detected: 2048 and 1048576", refused(mem
                + "<memoryBacking><hugepages><page size='2048'/><page size='1048576'/></hugepages></memoryBacking>"));
        String cells = "<cpu><numa><cell id='0' memory='256' unit='MiB'/><cell id='1' memory='256' unit='MiB'/></numa></cpu>";
        assertEquals("nodeset attribute of hugepages of sizes 2048 and 1048576 intersect", refused(cells
                + "<memoryBacking><hugepages><page size='2048' nodeset='0-1'/><page size='1048576' nodeset='1'/></hugepages>"
                + "</memoryBacking>"));
        assertEquals("hugepage size can't be zero", refused(mem + "<memoryBacking><hugepages><page size='0'/></hugepages></memoryBacking>"));
        assertEquals("maxvcpus must not be less than current vcpus (2 < 8)", refused(mem + "<vcpu current='8'>2</vcpu>"));
        assertEquals("Element 'memnode' is invalid without any guest NUMA cells",
                refused(mem + "<numatune><memnode cellid='0' mode='strict' nodeset='1'/></numatune>"));
        assertEquals("Unsupported NUMA memory tuning mode 'bogus'", refused(mem + "<numatune><memory mode='bogus' nodeset='0'/></numatune>"));
        assertEquals("memory size 0x20000000 must be equal to or larger than page size 0x40000000", assertThrows(
                DomainImport.Refused.class, () -> DomainImport.read(file("<domain><name>g</name>" + mem
                        + "<memoryBacking><hugepages><page size='1' unit='G'/></hugepages></memoryBacking></domain>"), null,
                        new Host("h", 64L << 30, "skylake", ThpMode.MADVISE, null, 1, List.of(new HugePagePool("g", 1L << 30, 1, 0, -1)))))
                .getMessage());
    }

    @Test
    void sharedGuestRamIsNeverMergedAndHapOffKeepsEpt() throws Exception {
        // QEMU's memfd backend is shared unless told otherwise
        var memfd = read("<memory>1048576</memory><memoryBacking><source type='memfd'/></memoryBacking>");
        assertTrue(!memfd.vm().memMerge());
        var priv = read("<memory>1048576</memory><memoryBacking><source type='memfd'/><access mode='private'/></memoryBacking>");
        assertTrue(priv.vm().memMerge());
        var cell = read("<cpu><numa><cell id='0' memory='1048576' memAccess='shared'/></numa></cpu>");
        assertTrue(!cell.vm().memMerge());
        var hap = read("<memory>1048576</memory><features><hap state='off'/></features>");
        assertEquals("ept", hap.vm().paging().word());
        assertTrue(hap.warnings().get(0).message().contains("does nothing under QEMU/KVM"));
        var locked = read("<memory>1048576</memory><memoryBacking><locked/></memoryBacking>");
        assertTrue(locked.vm().prealloc(), "mlockall faults all guest RAM in at start");
    }

    @Test
    void aPageForAnotherGuestNodeLeavesNode0OnOrdinaryMemory() throws Exception {
        var r = read("<cpu><numa><cell id='0' memory='524288'/><cell id='1' memory='524288'/></numa></cpu>"
                + "<memoryBacking><hugepages><page size='2048' nodeset='1'/></hugepages></memoryBacking>");
        assertEquals("anonymous", r.vm().backing().toString());
    }

    private static List<String> pins(DomainImport.Result r) {
        return r.vm().vcpupin().stream().map(Object::toString).toList();
    }

    private String refusal(String body) {
        return assertThrows(DomainImport.Refused.class, () -> read(body)).getMessage();
    }

    /** <vcpu cpuset> is the VM's cpuset; vCPUs without a <vcpupin> before the last pinned one get it. */
    @Test
    void vcpupinAndCpusetPlaceTheVcpus() throws Exception {
        var r = read("<memory>1048576</memory><vcpu cpuset='0-7,^3'>4</vcpu><cputune><vcpupin vcpu='2' cpuset='5'/>"
                + "<vcpupin vcpu='0' cpuset=' 1 '/><emulatorpin cpuset='1'/><iothreadpin iothread='1' cpuset='2'/></cputune>");
        assertEquals("0-2,4-7", r.vm().cpuset().toString());
        assertEquals(List.of("1", "0-2,4-7", "5"), pins(r));
        assertEquals("0-2,4-7", r.vm().cpusOf(3).toString());
        assertEquals(List.of(), r.warnings(), "emulatorpin and iothreadpin are ignored silently");
        assertEquals("vm g on hv1 {\n  memory = 1 GiB\n  vcpus = 4\n  cpuset = \"0-2,4-7\"\n"
                + "  vcpupin = [\"1\", \"0-2,4-7\", \"5\"]\n}\n", VmText.of(r.vm()));
        assertEquals(null, read("<memory>1048576</memory><vcpu>2</vcpu>").vm().cpuset());
        assertEquals(List.of(), read("<memory>1048576</memory><vcpu>2</vcpu>").vm().vcpupin());
    }

    @Test
    void placementAutoIgnoresTheCpuset() throws Exception {
        var r = read("<memory>1048576</memory><vcpu placement='auto' cpuset='1'>2</vcpu>");
        assertEquals(null, r.vm().cpuset());
    }

    /** libvirt ignores a pin of a vCPU the domain does not have; an offline vCPU's pin does not run. */
    @Test
    void pinsOfMissingAndOfflineVcpus() throws Exception {
        var r = read("<memory>1048576</memory><vcpu current='2'>4</vcpu><cputune><vcpupin vcpu='1' cpuset='1'/>"
                + "<vcpupin vcpu='3' cpuset='3'/><vcpupin vcpu='9' cpuset='9'/></cputune>");
        assertEquals(List.of("vCPU 0 has no <vcpupin> and the domain no <vcpu cpuset>: libvirt lets it run on any host CPU;"
                + " imported pinned to CPUs 0-3 (give the host cpus = N to make that all of its CPUs)",
                "<vcpupin vcpu='9'> names a vCPU the domain does not have (it has 4): libvirt ignores it"),
                r.warnings().stream().map(DomainImport.Warning::message).toList());
        // vCPU 0 runs anywhere: the host's CPUs are not given, so on every CPU the domain names
        assertEquals(List.of("0-3", "1"), pins(r));
    }

    @Test
    void anUnpinnedVcpuBeforeAPinnedOneRunsOnEveryHostCpu() throws Exception {
        Host eight = new Host("h8", 64L << 30, "skylake", ThpMode.MADVISE, null, 1, List.of(), Map.of(), 8);
        var r = DomainImport.read(file("<domain><name>g</name><memory>1048576</memory><vcpu>2</vcpu><cputune>"
                + "<vcpupin vcpu='1' cpuset='2'/></cputune></domain>"), null, eight);
        assertEquals(List.of("0-7", "2"), pins(r));
        assertEquals(List.of(), r.warnings());
        var any = read("<memory>1048576</memory><vcpu>2</vcpu><cputune><vcpupin vcpu='1' cpuset='2'/></cputune>");
        assertEquals(List.of("0-2", "2"), pins(any));
        assertTrue(any.warnings().get(0).message().startsWith("vCPU 0 has no <vcpupin> and the domain no <vcpu cpuset>"));
    }

    @Test
    void badPinsAreLibvirtsErrors() {
        String mem = "<memory>1048576</memory><vcpu>2</vcpu>";
        assertEquals("duplicate vcpupin for vcpu '1'", refusal(mem + "<cputune><vcpupin vcpu='1' cpuset='0'/>"
                + "<vcpupin vcpu='1' cpuset='1'/></cputune>"));
        assertEquals("missing cpuset for vcpupin", refusal(mem + "<cputune><vcpupin vcpu='0'/></cputune>"));
        assertEquals("Missing required attribute 'vcpu' in element 'vcpupin'", refusal(mem + "<cputune><vcpupin cpuset='0'/>"
                + "</cputune>"));
        assertEquals("Invalid value for attribute 'vcpu' in element 'vcpupin': '-1'. Expected non-negative integer value",
                refusal(mem + "<cputune><vcpupin vcpu='-1' cpuset='0'/></cputune>"));
        assertEquals("Failed to parse bitmap '0-'", refusal(mem + "<cputune><vcpupin vcpu='0' cpuset='0-'/></cputune>"));
        assertEquals("Invalid value of 'cpuset': 1,^1", refusal(mem + "<cputune><vcpupin vcpu='0' cpuset='1,^1'/></cputune>"));
        assertEquals("Failed to parse bitmap 'x'", refusal("<memory>1048576</memory><vcpu cpuset='x'>2</vcpu>"));
    }
}
