package org.kvmsim.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * A VM whose start fails half way (no frame left for its page tables or its EPT root) leaves
 * nothing behind: its hugetlb reservation and any frames it took go back, it shows as failed,
 * and the session goes on. A hugetlb fault that needs a page-table frame on a full host runs the
 * OOM killer, as Linux does, instead of killing the faulting VM with SIGBUS.
 */
class VmStartFailureTest {

    private static final String HOST = "host hv1 { memory = 512 MiB; thp = never; hugepages p2m { page_size = 2 MiB; count = 64 } }\n";

    private static String cell(Session s, String text, boolean ok) {
        SessionTest.Collect out = new SessionTest.Collect();
        Session.Result r = SessionTest.run(s, text, out);
        assertEquals(ok, r.ok(), text + " -> " + r);
        return out.text();
    }

    private static long field(String text, String name) {
        Matcher m = Pattern.compile("hv1\\s+" + name + "\\s+(\\d+)").matcher(text);
        assertTrue(m.find(), name + " in\n" + text);
        return Long.parseLong(m.group(1));
    }

    @Test
    void aFailedHugetlbStartGivesItsReservationBack() {
        Session s = new Session(1);
        // a leaves no order-0 frame: b's page tables cannot be had after its pool was reserved
        cell(s, HOST + "vm a on hv1 { memory = 392432 KiB; prealloc = on }\nstart a", true);
        cell(s, "vm b on hv1 { memory = 128 MiB; backing = hugepages p2m }\nstart b", false);
        String after = cell(s, "show meminfo on hv1\nshow vms", true);
        assertEquals(0, field(after, "HugePages_Rsvd"));
        assertTrue(after.matches("(?s).*\\bb\\s+hv1.*failed.*"), after);
        cell(s, "stop a", true);
        String again = cell(s, "start b\nshow vms\nshow meminfo on hv1", true);
        assertEquals(64, field(again, "HugePages_Rsvd"));
        assertTrue(again.matches("(?s).*\\bb\\s+hv1.*running.*"), again);
    }

    @Test
    void aFailedStartLeavesNoFrameBehind() {
        for (String size : new String[] {"392428 KiB", "392424 KiB"}) {
            // one frame left (the PUD page fails), two left (the EPT root fails)
            Session s = new Session(1);
            cell(s, HOST + "vm a on hv1 { memory = " + size + "; prealloc = on }\nstart a", true);
            cell(s, "vm c on hv1 { memory = 64 MiB }\nstart c", false);
            // c is not running: a workload on it does nothing, and nothing throws
            String vms = cell(s, "workload w on c { pattern = uniform; footprint = 1 MiB; accesses = 1000; seed = 1 }\nrun 1 s\nshow vms", true);
            assertTrue(vms.matches("(?s).*\\bc\\s+hv1.*failed.*"), vms);
            String mem = cell(s, "stop a\nshow meminfo on hv1", true);
            assertEquals(field(mem, "MemTotal") - 64 * 2048, field(mem, "MemFree"), size);
            assertEquals(0, field(mem, "PageTables"), size);
        }
    }

    @Test
    void aHugetlbFaultWithoutATableFrameRunsTheOomKiller() {
        Session s = new Session(1);
        cell(s, HOST + "vm b on hv1 { memory = 128 MiB; backing = hugepages p2m }\nstart b\n"
                + "vm a on hv1 { memory = 392420 KiB; prealloc = on }\nstart a", true);
        String out = cell(s, "write b pages 0 .. 0 = unique\nshow vms\nshow events", true);
        assertTrue(out.contains("oom_kill  a"), out);
        assertFalse(out.contains("sigbus"), out);
        assertTrue(out.matches("(?s).*\\bb\\s+hv1.*running.*"), out);
    }
}
