package org.kvmsim.lang;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.Syntax.Atom;
import org.kvmsim.lang.Syntax.Value;

class ValuesTest {

    private static final Span S = new Span("t", 1, 1, 1);

    /** Parses "x = TEXT" and returns the value, to test the readers on real syntax. */
    private static Value value(String text) {
        Diagnostics d = new Diagnostics();
        var script = Parse.parse(new SourceFile("t", "host h { x = " + text + " }"), d);
        assertTrue(!d.hasErrors(), d.render(null));
        var host = (Syntax.HostDecl) script.statements().get(0);
        return ((Syntax.Attr) host.body().items().get(0)).value();
    }

    @Test
    void sizesInBinaryUnits() {
        Diagnostics d = new Diagnostics();
        Values v = new Values(d);
        assertEquals(2L << 30, v.size(value("2 GiB"), "memory"));
        assertEquals(1536L << 20, v.size(value("1.5 GiB"), "memory"));
        assertEquals(512L, v.size(value("512 B"), "memory"));
        assertEquals(1L << 40, v.size(value("1 TiB"), "memory"));
        assertEquals(20_000_000L << 10, v.size(value("20_000_000 KiB"), "memory"));
        assertTrue(!d.hasErrors());
    }

    @Test
    void aBareNumberNamesTheUnits() {
        Diagnostics d = new Diagnostics();
        assertNull(new Values(d).size(value("4096"), "memory"));
        assertEquals("a size needs a unit: B, KiB, MiB, GiB or TiB (e.g. '2 GiB')", d.list().get(0).message());
        Diagnostics d2 = new Diagnostics();
        assertNull(new Values(d2).duration(value("20"), "sleep"));
        assertEquals("a duration needs a unit: ns, us, ms, s, min or h (e.g. '20 ms')", d2.list().get(0).message());
    }

    @Test
    void wrongUnitsAreNamed() {
        Diagnostics d = new Diagnostics();
        Values v = new Values(d);
        assertNull(v.size(value("1 GB"), "memory"));
        assertNull(v.size(value("20 ms"), "memory"));
        assertNull(v.duration(value("2 GiB"), "sleep"));
        List<Diagnostic> l = d.list();
        assertEquals("unknown size unit 'GB'", l.get(0).message());
        assertEquals("did you mean 'GiB'? (kvmsim sizes are binary: B, KiB, MiB, GiB or TiB)", l.get(0).hint());
        assertEquals("'ms' is a unit of time; memory takes B, KiB, MiB, GiB or TiB", l.get(1).hint());
        assertEquals("'GiB' is a unit of size; sleep takes ns, us, ms, s, min or h", l.get(2).hint());
    }

    @Test
    void durations() {
        Values v = new Values(new Diagnostics());
        assertEquals(20_000_000L, v.duration(value("20 ms"), "sleep"));
        assertEquals(300_000_000_000L, v.duration(value("5 min"), "run"));
        assertEquals(7_200_000_000_000L, v.duration(value("2 h"), "run"));
        assertEquals(1_500L, v.duration(value("1.5 us"), "run"));
    }

    @Test
    void overflowIsAnErrorNotAWrap() {
        Diagnostics d = new Diagnostics();
        Values v = new Values(d);
        assertNull(v.size(value("99999999999 TiB"), "memory"));
        assertNull(v.count(value("9223372036854775808"), "accesses", 0, Long.MAX_VALUE));
        assertEquals(Long.MAX_VALUE, v.count(value("9223372036854775807"), "accesses", 0, Long.MAX_VALUE));
        assertEquals("size too large: 99999999999 TiB", d.list().get(0).message());
        assertTrue(d.list().get(1).message().startsWith("number too large"));
    }

    @Test
    void percentagesAndCounts() {
        Diagnostics d = new Diagnostics();
        Values v = new Values(d);
        assertEquals(70.0, v.percent(value("70%"), "shared"));
        assertNull(v.percent(value("170%"), "shared"));
        assertNull(v.percent(value("70"), "shared"));
        assertEquals("write '70%'", d.list().get(1).hint());
        assertNull(v.count(value("0"), "pages_to_scan", 1, Integer.MAX_VALUE));
        assertEquals("pages_to_scan must be at least 1, not 0", d.list().get(2).message());
        assertNull(v.count(value("2.5"), "count", 0, 10));
    }

    @Test
    void addresses() {
        Diagnostics d = new Diagnostics();
        Values v = new Values(d);
        Atom a = value("0x7f00_0000_1000").atoms().get(0);
        assertEquals(0x7f0000001000L, v.address(a, "show walk"));
        assertEquals(-1L, v.address(value("0xffff_ffff_ffff_ffff").atoms().get(0), "a"));
        assertNull(v.address(value("0x1_0000_0000_0000_0000").atoms().get(0), "a"));
        assertEquals("address too large: 0x1_0000_0000_0000_0000 (addresses have 64 bits)", d.list().get(0).message());
    }

    @Test
    void choicesSuggestTheNearest() {
        Diagnostics d = new Diagnostics();
        assertNull(new Values(d).choice(value("eptt"), "paging", List.of("ept", "npt", "shadow", "native")));
        assertEquals("did you mean 'ept'?", d.list().get(0).hint());
    }
}
