package org.kvmsim.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.ScriptRun;
import org.kvmsim.model.CpuModel;
import tech.tablesaw.api.Table;

/**
 * The host-fault term of `show mmu` through the whole engine: a first touch inside an access is
 * charged (host_fault plus clear_page per 4 KiB zeroed), the guest's own table pages included;
 * nothing for preallocated or present pages or a native VM; the whole GiB for a 1 GiB hugetlbfs
 * page. The calibration against this machine's recording is {@code mmu.HostFaultTest}.
 */
class HostFaultEngineTest {

    private static final CpuModel SKYLAKE = CpuModel.skylake();

    /** Runs a script; returns `show mmu`'s host_fault_cycles and ept_violations, by VM. */
    private static Table mmu(String text) {
        List<Table> tables = ScriptRun.tables("host-fault", text);
        return tables.stream().filter(t -> t.name().equals("mmu")).reduce((a, b) -> b).orElseThrow();
    }

    private static long cell(Table t, String vm, String column) {
        for (int i = 0; i < t.rowCount(); i++) {
            if (t.stringColumn("vm").get(i).equals(vm)) return t.longColumn(column).get(i);
        }
        throw new AssertionError("no row for " + vm);
    }

    /** A first touch of {@code footprint} in each VM, one access per 4 KiB page (strided 4 KiB). */
    private static String firstTouch(String vms, String footprint, long pages) {
        return vms + "\nworkload w on " + String.join(", ", names(vms)) + " { pattern = strided(4 KiB); footprint = "
                + footprint + "; accesses = " + pages + "; seed = 1 }\nrun 1 s\nshow mmu\n";
    }

    private static List<String> names(String vms) {
        List<String> out = new ArrayList<>();
        for (String line : vms.split("\n")) {
            if (line.startsWith("vm ")) out.add(line.split(" ")[1]);
        }
        return out;
    }

    @Test
    void eachFirstTouchInsideAnAccessIsCharged() {
        Table t = mmu(firstTouch("""
                host hv1 { memory = 1 GiB; cpu = skylake }
                vm small on hv1 { memory = 64 MiB; paging = ept; backing = anonymous }
                vm thp on hv1 { memory = 64 MiB; paging = ept; backing = thp }""", "2 MiB", 512));
        // 512 data pages and the 4 guest table pages the workload's space needs (its own writes)
        assertEquals(516, cell(t, "small", "ept_violations"));
        assertEquals(516 * (SKYLAKE.host_fault_cycles() + SKYLAKE.clear_page_cycles()), cell(t, "small", "host_fault_cycles"));
        // two THPs for the data (it starts at GPA 1 MiB: the guest never uses the first MiB), one for
        // the 2 MiB at the top of guest RAM that holds the tables
        assertEquals(3 * (SKYLAKE.host_fault_cycles() + 512L * SKYLAKE.clear_page_cycles()), cell(t, "thp", "host_fault_cycles"));
    }

    @Test
    void shadowPagingChargesTheSameHostFaults() {
        Table t = mmu(firstTouch("""
                host hv1 { memory = 1 GiB; cpu = skylake }
                vm small on hv1 { memory = 64 MiB; paging = shadow; backing = anonymous }
                vm thp on hv1 { memory = 64 MiB; paging = shadow; backing = thp }
                vm native on hv1 { memory = 64 MiB; paging = native; backing = anonymous }""", "2 MiB", 512));
        // the data pages only: KVM reads the guest's tables in software, and the guest's own writes to
        // them are not simulated under shadow paging (docs/model.md), so no shadow fault reaches them
        assertEquals(512 * (SKYLAKE.host_fault_cycles() + SKYLAKE.clear_page_cycles()), cell(t, "small", "host_fault_cycles"));
        // the data's two THPs (GPA 1-3 MiB)
        assertEquals(2 * (SKYLAKE.host_fault_cycles() + 512L * SKYLAKE.clear_page_cycles()), cell(t, "thp", "host_fault_cycles"));
        assertEquals(0, cell(t, "native", "host_fault_cycles"), "a native process's faults are its guest faults");
    }

    @Test
    void preallocatedRamTakesNoHostFault() {
        Table t = mmu(firstTouch("""
                host hv1 { memory = 1 GiB; cpu = skylake }
                vm ept on hv1 { memory = 64 MiB; paging = ept; prealloc = on }
                vm shadow on hv1 { memory = 64 MiB; paging = shadow; prealloc = on }""", "2 MiB", 512));
        assertEquals(516, cell(t, "ept", "ept_violations"), "the violations still happen (512 data, 4 table pages)");
        assertEquals(0, cell(t, "ept", "host_fault_cycles"));
        assertEquals(0, cell(t, "shadow", "host_fault_cycles"));
    }

    @Test
    void presentPagesTakeNoHostFaultOnASecondPass() {
        // two passes over the same 2 MiB: only the first faults anything in
        Table t = mmu("""
                host hv1 { memory = 1 GiB; cpu = skylake }
                vm a on hv1 { memory = 64 MiB; paging = ept }
                workload w on a { pattern = strided(4 KiB); footprint = 2 MiB; accesses = 1024; seed = 1 }
                run 1 s
                show mmu
                """);
        assertEquals(516, cell(t, "a", "ept_violations"), "512 data, 4 table pages");
        assertEquals(516 * (SKYLAKE.host_fault_cycles() + SKYLAKE.clear_page_cycles()), cell(t, "a", "host_fault_cycles"));
    }

    @Test
    void aOneGiBHugetlbFirstTouchZeroesTheWholeGiB() {
        Table t = mmu(firstTouch("""
                host hv1 { memory = 4 GiB; cpu = skylake; hugepages pool1g { page_size = 1 GiB; count = 1 } }
                vm big on hv1 { memory = 1 GiB; paging = ept; backing = hugepages pool1g }""", "4 MiB", 1024));
        assertEquals(SKYLAKE.host_fault_cycles() + 262_144L * SKYLAKE.clear_page_cycles(), cell(t, "big", "host_fault_cycles"),
                "one fault, 262144 pages zeroed");
    }
}
