package org.kvmsim.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** libvirt's cpuset syntax, read as virBitmapParse reads it. */
class CpuSetTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "0|0", "7|7", "0-3|0-3", "1-4,^3,6|1-2,4,6", "0,2,4|0,2,4", "3,1,2|1-3",
            // fields apply in order: a caret removes what came before, a later field adds it back
            "^3,1-4|1-4", "0-3,^2,2|0-3", "0-7,^0,^7|1-6",
            // white space around numbers, dashes and commas; a trailing comma
            "' 1 - 3 , ^2 '|1,3", "'1,'|1", "'\t0,\n1'|0-1",
            // the end of a range may carry a sign (strtol)
            "2-+4|2-4", "0--0|0", "16383|16383"})
    void parsesAsLibvirtDoes(String text, String canonical) {
        assertEquals(canonical, CpuSet.parse(text).toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", ",", ",1", "1,,2", "a", "1-", "-1", "^1-2", "^", "1 2", "3-1", "1-x", "0x1",
            "16384", "0-16384", "1;2", "1-3-5", "^ 1", "99999999999999999999"})
    void badSyntaxIsLibvirtsError(String text) {
        var e = assertThrows(IllegalArgumentException.class, () -> CpuSet.parse(text));
        assertEquals("Failed to parse bitmap '" + text + "'", e.getMessage());
    }

    @Test
    void anEmptySetIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> CpuSet.parse("0,^0"));
        assertEquals("Invalid value of 'cpuset': 0,^0", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuSet.parse("^0"));
        assertThrows(IllegalArgumentException.class, () -> CpuSet.parse(null));
    }

    @Test
    void readsItsMembers() {
        CpuSet s = CpuSet.parse("6,0-3,^2");
        assertArrayEquals(new int[] {0, 1, 3, 6}, s.cpus());
        assertTrue(s.contains(3));
        assertFalse(s.contains(2));
        assertFalse(s.contains(-1));
        assertEquals(6, s.max());
        assertEquals(4, s.size());
        s.cpus()[0] = 99;
        assertEquals(0, s.cpus()[0], "cpus() is a copy");
    }

    @Test
    void equalByContent() {
        assertEquals(CpuSet.parse("0-3"), CpuSet.parse("3,2,1,0"));
        assertEquals(CpuSet.parse("0-3").hashCode(), CpuSet.of(3, 2, 1, 0).hashCode());
        assertEquals(CpuSet.range(4, 7), CpuSet.parse("4-7"));
        assertNotEquals(CpuSet.parse("0-3"), CpuSet.parse("0-4"));
        assertThrows(IllegalArgumentException.class, CpuSet::of);
    }
}
