package org.kvmsim.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.lang.SourceFile;
import tech.tablesaw.api.Table;

/** Host CPUs and vCPUs through the language: the behaviour issue 12 asks to hold. */
class HostCpusTest {

    private static SessionTest.Collect run(String script) {
        SessionTest.Collect out = new SessionTest.Collect();
        Session.Result r = new Session(5).execute(new SourceFile("cpus.kvm", script), out);
        assertTrue(r.ok(), r.diagnostics().toString());
        return out;
    }

    private static Table table(SessionTest.Collect out, String name) {
        Table found = null;
        for (Table t : out.tables) if (t.name().equals(name)) found = t;
        return found;
    }

    /** The row of {@code vm} in a `show mmu` table, every column but the VM's name. */
    private static String mmuRow(SessionTest.Collect out, String vm) {
        Table t = table(out, "mmu");
        for (int r = 0; r < t.rowCount(); r++) {
            if (t.stringColumn("vm").get(r).equals(vm)) return t.row(r).toString().replaceFirst("^\\S+\\s+", "");
        }
        throw new AssertionError("no row for " + vm);
    }

    private static long cell(SessionTest.Collect out, String table, String keyColumn, String key, String column) {
        Table t = table(out, table);
        for (int r = 0; r < t.rowCount(); r++) {
            if (t.column(keyColumn).getString(r).equals(key)) return (long) Double.parseDouble(t.column(column).getString(r));
        }
        throw new AssertionError("no row " + key + " in " + table);
    }

    private static final String HOST = "host hv1 { memory = 8 GiB; thp = never; CPUS }\n";
    private static final String G1 = """
            vm g1 on hv1 { memory = 512 MiB }
            workload w1 on g1 { pattern = zipf(0.9); footprint = 64 MiB; accesses = 400_000; seed = 1 }
            """;
    private static final String G2 = """
            vm g2 on hv1 { memory = 512 MiB }
            workload w2 on g2 { pattern = uniform; footprint = 64 MiB; accesses = 400_000; seed = 2 }
            """;

    @Test
    void twoGuestsWithCoresToSpareDoNotEvictEachOthersEntries() {
        String alone = mmuRow(run(HOST.replace("CPUS", "") + G1 + "run 1 s\nshow mmu\n"), "g1");
        String together = mmuRow(run(HOST.replace("CPUS", "") + G1 + G2 + "run 1 s\nshow mmu\n"), "g1");
        assertEquals(alone, together);
    }

    @Test
    void onOneCoreTheyShareCapacityWithVpidAndAreFlushedAtEverySwitchWithout() {
        String alone = mmuRow(run(HOST.replace("CPUS", "cpus = 1") + G1 + "run 1 s\nshow mmu\n"), "g1");
        SessionTest.Collect tagged = run(HOST.replace("CPUS", "cpus = 1") + G1 + G2 + "run 1 s\nshow mmu\nshow cpus\nshow mmu by vcpu\n");
        SessionTest.Collect untagged = run(HOST.replace("CPUS", "cpus = 1; cpu_overrides { vpid = off }") + G1 + G2
                + "run 1 s\nshow mmu\nshow cpus\nshow mmu by vcpu\n");
        long switches = cell(tagged, "cpus", "cpu", "0", "vm_switches");
        assertTrue(switches > 100, "time-sliced: " + switches + " switches");
        assertTrue(!alone.equals(mmuRow(tagged, "g1")), "sharing the core's TLBs changes g1's counters");
        long aloneMisses = cell(run(HOST.replace("CPUS", "cpus = 1") + G1 + "run 1 s\nshow mmu\n"), "mmu", "vm", "g1", "stlb_misses");
        long sharedMisses = cell(tagged, "mmu", "vm", "g1", "stlb_misses");
        long flushedMisses = cell(untagged, "mmu", "vm", "g1", "stlb_misses");
        assertTrue(aloneMisses < sharedMisses && sharedMisses < flushedMisses,
                "alone " + aloneMisses + " < shared capacity " + sharedMisses + " < flushed " + flushedMisses);
        assertEquals(0, cell(tagged, "mmu", "vm", "g1", "vm_exits") - cell(tagged, "mmu", "vm", "g1", "ept_violations"));
        assertEquals(switches, cell(tagged, "cpus", "cpu", "0", "vcpu_switches"));
    }

    @Test
    void aHugeGuestKeepsItsStlbWhileASmallOneRunsOnTheSameHost() {
        String script = """
                host hv1 { memory = 16 GiB; thp = never; hugepages p2m { page_size = 2 MiB; count = 1024 } }
                vm big on hv1 { memory = 1 GiB; backing = hugepages p2m; guest_thp = always }
                vm small on hv1 { memory = 1 GiB }
                workload w on big, small { pattern = uniform; footprint = 256 MiB; accesses = 2_000_000; seed = 4 }
                run 1 s
                show mmu
                """;
        SessionTest.Collect out = run(script);
        long big = cell(out, "mmu", "vm", "big", "stlb_misses");
        long small = cell(out, "mmu", "vm", "small", "stlb_misses");
        assertTrue(big * 20 < small, "2M/2M " + big + " STLB misses against 4K/4K " + small);
    }

    @Test
    void aKsmMergeOfPagesAFourVcpuGuestMapsFlushesEveryCoreThatRanIt() {
        String script = """
                ksm policy fast { pages_to_scan = 1000; sleep = 20 ms }
                host hv1 { memory = 2 GiB; ksm = fast; thp = never }
                vm e on hv1 { memory = 64 MiB; vcpus = 4 }
                pagetable app in e { map 0x7f00_0000_0000 size 4 MiB page 4 KiB }
                workload warm on e.app { pattern = sequential; footprint = 4 MiB; accesses = 40_000; writes = 100%; seed = 1 }
                run 1 s
                reset mmu
                write e pages 256 .. 355 = same 1
                workload busy on e.app { pattern = uniform; footprint = 4 MiB; accesses = 4_000_000; seed = 2 }
                run 2 s
                show mmu by vcpu
                show cpus
                show ksm
                """;
        SessionTest.Collect out = run(script);
        assertEquals(99, cell(out, "ksm", "host", "hv1", "pages_sharing"));
        for (int v = 0; v < 4; v++) {
            String vcpu = Integer.toString(v);
            assertEquals(100, cell(out, "mmu_by_vcpu", "vcpu", vcpu, "remote_flushes"), "vCPU " + v);
            assertEquals(100, cell(out, "mmu_by_vcpu", "vcpu", vcpu, "flush_ipis"), "vCPU " + v + " was running");
            assertEquals(100, cell(out, "cpus", "cpu", vcpu, "flushes_received"));
        }
    }

    @Test
    void moreVcpusThanCoresAreTimeSliced() {
        String script = """
                host hv1 { memory = 4 GiB; thp = never; cpus = 2 }
                vm g on hv1 { memory = 512 MiB; vcpus = VCPUS }
                workload w on g { pattern = uniform; footprint = 32 MiB; accesses = 400_000 }
                run 1 s
                show mmu
                show cpus
                show mmu by vcpu
                """;
        SessionTest.Collect two = run(script.replace("VCPUS", "2"));
        SessionTest.Collect four = run(script.replace("VCPUS", "4"));
        assertEquals(0, cell(two, "cpus", "cpu", "0", "vcpu_switches"));
        assertTrue(cell(four, "cpus", "cpu", "0", "vcpu_switches") > 100);
        assertEquals(4, table(four, "mmu_by_vcpu").rowCount());
        assertEquals(400_000, cell(four, "mmu", "vm", "g", "accesses"));
        assertTrue(cell(four, "mmu", "vm", "g", "stlb_misses") > cell(two, "mmu", "vm", "g", "stlb_misses"));
    }

    @Test
    void aVcpuSharingACoreMovesToOneThatFallsIdleAndStartsCold() {
        String script = """
                host hv1 { memory = 4 GiB; thp = never; cpus = 2 }
                vm a on hv1 { memory = 256 MiB }
                vm b like a
                vm c like a
                workload w1 on a, b, c { footprint = 16 MiB; accesses = 100_000 }
                run 100 ms
                workload w2 on a, c { footprint = 16 MiB; accesses = 100_000 }
                run 100 ms
                show cpus
                show mmu by vcpu
                """;
        SessionTest.Collect out = run(script);
        // a and c shared core 0 while b had core 1; with b idle, c moves there
        assertEquals(1, cell(out, "mmu_by_vcpu", "vm", "c", "migrations"));
        assertEquals(1, cell(out, "mmu_by_vcpu", "vm", "c", "cpu"));
        assertEquals(0, cell(out, "mmu_by_vcpu", "vm", "a", "migrations"));
        assertEquals(1, cell(out, "cpus", "cpu", "1", "flushes_received"), "the migration's flush");
    }

    @Test
    void windowsOfOneInstantAreScheduledTogetherWhateverTheOrderOfTargets() {
        String script = """
                host h1 { memory = 4 GiB; thp = never; cpus = 1 }
                host h2 { memory = 4 GiB; thp = never }
                vm a on h1 { memory = 256 MiB }
                vm b on h1 { memory = 256 MiB }
                vm x on h2 { memory = 256 MiB }
                workload w on TARGETS { pattern = uniform; footprint = 8 MiB; accesses = 100_000; seed = 1 }
                run 10 ms
                show cpus on h1
                show mmu a
                """;
        SessionTest.Collect axb = run(script.replace("TARGETS", "a, x, b"));
        SessionTest.Collect abx = run(script.replace("TARGETS", "a, b, x"));
        assertEquals(cell(abx, "cpus", "cpu", "0", "vcpu_switches"), cell(axb, "cpus", "cpu", "0", "vcpu_switches"));
        assertEquals(cell(abx, "mmu", "vm", "a", "stlb_misses"), cell(axb, "mmu", "vm", "a", "stlb_misses"));
    }

    @Test
    void aMigrationOntoACoreLeavesTheNativePriceOfTheVcpuThere() {
        String script = """
                host hv1 { memory = 4 GiB; thp = never; cpus = 2 }
                vm a on hv1 { memory = 256 MiB }
                vm b on hv1 { memory = 256 MiB }
                vm c on hv1 { memory = 256 MiB }
                workload wb on b { pattern = uniform; footprint = 4 MiB; accesses = 200_000; seed = 1 }
                run 10 ms
                workload wa on SHARERS { pattern = uniform; footprint = 4 MiB; accesses = 1_000 }
                run 1 ms
                reset mmu
                workload wb on b { pattern = uniform; footprint = 4 MiB; accesses = 2_000; seed = 1 }
                run 1 ms
                show mmu b
                """;
        // with a and c both busy, c moves onto b's core (b is idle then) and flushes it
        SessionTest.Collect migrated = run(script.replace("SHARERS", "a, c"));
        SessionTest.Collect alone = run(script.replace("SHARERS", "a"));
        assertEquals(cell(alone, "mmu", "vm", "b", "native_cycles_per_access"),
                cell(migrated, "mmu", "vm", "b", "native_cycles_per_access"));
    }

    @Test
    void aStoppedVmLeavesItsCoreIdle() {
        String script = """
                host hv1 { memory = 4 GiB; thp = never; cpus = 2 }
                vm a on hv1 { memory = 256 MiB }
                vm b on hv1 { memory = 256 MiB }
                workload w on a, b { pattern = uniform; footprint = 8 MiB; accesses = 10_000 }
                run 1 ms
                stop a
                show cpus
                """;
        SessionTest.Collect out = run(script);
        Table cpus = table(out, "cpus");
        assertEquals("", cpus.stringColumn("running").get(0));
        assertEquals("b/0", cpus.stringColumn("running").get(1));
    }

    @Test
    void theNumberOfSimulationThreadsDoesNotChangeAByte() {
        String script = """
                ksm policy fast { pages_to_scan = 2000; sleep = 20 ms }
                host hv1 { memory = 4 GiB; ksm = fast; thp = never }
                image deb { footprint = 64 MiB; shared = 60%; zero = 10% }
                vm a on hv1 { memory = 256 MiB; vcpus = 2; image = deb }
                vm b on hv1 { memory = 256 MiB; image = deb; paging = shadow }
                vm c on hv1 { memory = 256 MiB; image = deb; paging = native }
                vm d on hv1 { memory = 256 MiB; vcpus = 3; image = deb }
                workload w on a, b, c, d { pattern = zipf(0.8); footprint = 32 MiB; accesses = 300_000; writes = 10% }
                run 1 s
                write a pages 0 .. 99 = same 1
                run 1 s
                show mmu by vcpu
                show cpus
                show ksm
                show meminfo
                """;
        String before = System.getProperty("kvmsim.threads");
        try {
            System.setProperty("kvmsim.threads", "1");
            String one = run(script).text();
            System.setProperty("kvmsim.threads", "4");
            String four = run(script).text();
            assertEquals(one, four);
        } finally {
            if (before == null) System.clearProperty("kvmsim.threads");
            else System.setProperty("kvmsim.threads", before);
        }
    }
}
