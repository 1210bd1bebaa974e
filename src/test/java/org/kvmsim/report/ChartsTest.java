package org.kvmsim.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** A chart's SVG is the same bytes in every run: no id depends on an identity hash. */
class ChartsTest {

    @Test
    void clipIdsAreNumberedInOrderOfFirstUse() {
        String svg = "<clipPath id=\"clip-913\"/><g clip-path=\"url(#clip-913)\"/><clipPath id=\"clip42\"/>"
                + "<g clip-path=\"url(#clip42)\"/><g clip-path=\"url(#clip-913)\"/>";
        assertEquals("<clipPath id=\"clip1\"/><g clip-path=\"url(#clip1)\"/><clipPath id=\"clip2\"/>"
                + "<g clip-path=\"url(#clip2)\"/><g clip-path=\"url(#clip1)\"/>", Charts.numberClips(svg));
    }

    @Test
    void aChartRendersToTheSameSvgTwice() {
        Table t = Table.create("t", StringColumn.create("vm", "a", "b"), DoubleColumn.create("v", 1, 2));
        String one = Charts.plot(t, "vm", "v", "bar", "title").svg();
        assertEquals(one, Charts.plot(t, "vm", "v", "bar", "title").svg());
        assertTrue(one.contains("id=\"clip1\""), "numbered clip ids");
        assertFalse(one.matches("(?s).*clip[0-9]{3,}.*"), "no hash-code ids");
    }
}
