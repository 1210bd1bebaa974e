package org.kvmsim.kernel;

import java.util.LinkedHashMap;
import java.util.Map;
import org.kvmsim.lang.Schema;
import org.kvmsim.query.Queries;

/**
 * What each statement keyword and unit means, in a line or two and the form it takes: the text
 * inspection shows. Attributes are documented in {@link org.kvmsim.lang.Schema}, next to their
 * checks, and `show` targets by their queries ({@link Queries}); this holds the other words.
 */
final class Keywords {

    private Keywords() {}

    static final Map<String, String> STATEMENTS = new LinkedHashMap<>();
    static final Map<String, String> WORDS = new LinkedHashMap<>();

    static {
        STATEMENTS.put("ksm", "ksm policy NAME { ATTR = VALUE ... }\n"
                + "Declares a KSM policy: the /sys/kernel/mm/ksm knobs ksmd runs with. A host uses it with `ksm = NAME`.");
        STATEMENTS.put("policy", STATEMENTS.get("ksm"));
        STATEMENTS.put("host", "host NAME { memory = SIZE ... }\n"
                + "Declares a host: physical memory, CPU preset, THP mode, KSM policy, NUMA nodes and\n"
                + "hugetlb pools (`hugepages NAME { page_size = 2 MiB  count = N }`).");
        STATEMENTS.put("image", "image NAME { footprint = SIZE  shared = P%  zero = P% }\n"
                + "Declares a guest image: how much memory a booted guest touches and how much of it is\n"
                + "identical across guests or zero-filled (what KSM can merge).");
        STATEMENTS.put("vm", "vm NAME on HOST [like VM] { memory = SIZE ... }\n"
                + "Declares a guest on a host (a QEMU process): RAM, vCPUs, paging mode, backing.\n"
                + "Redeclaring a VM replaces it.");
        STATEMENTS.put("import", "import libvirt \"DOMAIN.xml\" [as NAME] on HOST [{ overrides }]\n"
                + "Declares a VM from a libvirt domain file (virsh dumpxml), read as libvirt reads it; what\n"
                + "the file holds that kvmsim does not model is printed as a warning. `kvmsim import libvirt\n"
                + "FILE` prints the declaration it becomes.");
        STATEMENTS.put("workload", "workload NAME on VM[.PAGETABLE], ... { pattern = ...  footprint = SIZE ... }\n"
                + "Declares memory accesses the guests make during the `run` that follows.");
        STATEMENTS.put("pagetable", "pagetable NAME in VM { map 0xADDR size SIZE page SIZE ... }\n"
                + "Declares a guest page table: which guest-virtual ranges map with which page size.");
        STATEMENTS.put("contents", "contents VM { pages A..B = CONTENT ... }\n"
                + "Declares what guest pages hold (zero, same N, unique, image, changing every D).");
        STATEMENTS.put("run", "run DURATION | run until HOST.ksm.COUNTER = N [within DURATION]\n"
                + "Advances simulated time: starts declared VMs, runs workloads, ksmd, khugepaged.\n"
                + "In a notebook a long run shows its progress and stops at an interrupt.");
        STATEMENTS.put("until", STATEMENTS.get("run"));
        STATEMENTS.put("write", "write VM pages A..B = CONTENT\nChanges guest memory contents at run time.");
        STATEMENTS.put("set", "set HOST.ksm.KNOB = V | HOST.thp = MODE | HOST.khugepaged.KNOB = V | HOST.POOL.count = N\n"
                + "Changes a runtime knob, as writing to its sysfs file does.");
        STATEMENTS.put("start", "start [vm] NAME\nStarts a declared VM (`run` starts the ones not started yet).");
        STATEMENTS.put("stop", "stop [vm] NAME\nStops a VM and frees its memory.");
        STATEMENTS.put("reset", "reset | reset mmu\nForgets every declaration, the simulation state and the tables so far;\n"
                + "`reset mmu` only starts every VM's MMU counters again from zero (TLBs and tables stay warm).");
        STATEMENTS.put("sweep", "sweep OWNER.ATTR in [V1, V2, ...] { STATEMENTS }\n"
                + "Runs the body once per value from the same start and concatenates the queries' tables,\n"
                + "with a first column for the swept value.");
        STATEMENTS.put("show", "show TARGET [on HOST]\nA query: publishes a table. Targets: "
                + String.join(", ", Queries.all().targets()) + ".");
        STATEMENTS.put("plot", "plot TABLE { x = COLUMN  y = COLUMN  kind = line|bar|scatter  title = \"...\" }\n"
                + "Draws a chart (PNG and SVG) from a table a query produced.");
        STATEMENTS.put("export", "export TABLE to \"FILE.csv|.json|.md|.html\"\n"
                + "Writes a table to a file; the format follows the extension.");
        STATEMENTS.put("print", "print \"TEXT\"\nWrites a line to the cell's output.");

        WORDS.put("like", "vm NAME like OTHER { ... }: copies OTHER's attributes, then applies this block's.");
        WORDS.put("on", "on: names the host a VM or query belongs to, or the VMs a workload runs in; also the value `on`.");
        WORDS.put("in", "in: `pagetable NAME in VM`, `sweep X in [..]`.");
        WORDS.put("to", "to: `export TABLE to \"FILE\"`.");
        WORDS.put("pages", "pages A..B = CONTENT: a range of guest page numbers (4 KiB pages) in `contents` and `write`.");
        WORDS.put("hugepages", "hugepages NAME { page_size = 2 MiB | 1 GiB  count = N  overcommit = N  node = N }\n"
                + "A hugetlb pool of a host (/sys/kernel/mm/hugepages); as a backing, `backing = hugepages NAME`.");
        WORDS.put("thp", "thp: transparent hugepages: as a host attribute, the mode (/sys/kernel/mm/transparent_hugepage/enabled);\n"
                + "as a backing, guest RAM backed by anonymous memory eligible for THP.");
        WORDS.put("anonymous", "anonymous: guest RAM backed by anonymous memory of the QEMU process (4 KiB pages unless THP).");
        for (String u : Schema.SIZE_UNITS) WORDS.put(u, u + ": a size unit; binary (1 KiB = 1024 B).");
        WORDS.put("ns", "ns: nanoseconds (simulated time).");
        WORDS.put("us", "us: microseconds (simulated time).");
        WORDS.put("ms", "ms: milliseconds (simulated time).");
        WORDS.put("s", "s: seconds (simulated time).");
        WORDS.put("min", "min: minutes (simulated time).");
        WORDS.put("h", "h: hours (simulated time).");
    }
}
