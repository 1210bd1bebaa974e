package org.kvmsim.lang.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
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
        XmlTree.Element at = new XmlTree.Element("memory", java.util.Map.of(), value, List.of(), 1, 1);
        assertEquals(kib, DomainImport.kib(at, value, unit));
    }

    @Test
    void unknownUnitsAndTooLargeValuesAreLibvirtsErrors() {
        XmlTree.Element at = new XmlTree.Element("memory", java.util.Map.of(), "1", List.of(), 3, 5);
        assertEquals("unknown suffix 'kibs'", assertThrows(DomainImport.Refused.class, () -> DomainImport.kib(at, "1", "kibs")).getMessage());
        assertEquals("unknown suffix 'x'", assertThrows(DomainImport.Refused.class, () -> DomainImport.kib(at, "1", "x")).getMessage());
        assertTrue(assertThrows(DomainImport.Refused.class, () -> DomainImport.kib(at, "18446744073709551615", "EiB"))
                .getMessage().startsWith("Value too large"));
    }

    @Test
    void memoryIsAlignedTo1MiBAndToTheHugepageSize() throws Exception {
        assertEquals(2L << 20, read("<memory unit='KiB'>1025</memory>").vm().memory());
        assertEquals(4L << 20, read("<memory unit='MiB'>3</memory><memoryBacking><hugepages/></memoryBacking>").vm().memory());
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
}
