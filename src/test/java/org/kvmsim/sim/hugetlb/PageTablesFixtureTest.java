package org.kvmsim.sim.hugetlb;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.kvmsim.sim.mem.HostMemory;
import org.kvmsim.sim.mem.HostMemory.Counter;

/**
 * Host page tables of anonymous guest RAM against the real kernel: fixtures/pagetables holds what
 * this machine's kernel added to a process's VmPTE when it touched every page of a 1 GiB-aligned
 * anonymous mapping, with THP refused or madvised (ptprobe.c, record.sh). The model must take
 * the same number of page-table pages out of MemFree: a PTE page per 2 MiB, THP or not (the
 * deposited table), and a PMD page per 1 GiB.
 */
class PageTablesFixtureTest {
    private static final long MIB = 1L << 20;

    @Test
    void touchingAnonymousMemoryCostsWhatTheKernelSpends() throws IOException {
        String text;
        try (InputStream in = PageTablesFixtureTest.class.getResourceAsStream("/fixtures/pagetables/vmpte.jsonl")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        int cases = 0;
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            long mib = o.get("mib").getAsLong();
            boolean thp = o.get("thp").getAsInt() == 1;
            String what = line.trim();
            HostMemory mem = new HostMemory(4 * mib * MIB);
            ThpMapping m = new ThpMapping(mem, new ThpSettings(), mib * MIB / 4096, thp, 0);
            for (long page = 0; page < m.pages(); page++) {
                m.fault(page);
            }
            assertEquals(o.get("vmpte_delta_kb").getAsLong(), m.tablePages() * 4, what);
            assertEquals(m.tablePages(), mem.pages(Counter.PAGE_TABLES), what);
            assertEquals(o.get("anon_huge_kb").getAsLong(), mem.pages(Counter.ANON_HUGE_PAGES) * 4, what);
            // every table page is a frame taken from MemFree
            assertEquals(mem.totalPages() - m.presentPages() - m.tablePages(), mem.freePages(), what);
            m.release();
            assertEquals(0, mem.pages(Counter.PAGE_TABLES), what);
            assertEquals(mem.totalPages(), mem.freePages(), what);
            cases++;
        }
        assertEquals(6, cases);
    }
}
