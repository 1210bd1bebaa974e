package org.kvmsim.lang;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.kvmsim.model.KsmSysfs;

/**
 * What every block may hold: its attributes, their types, defaults, meaning and the Linux or
 * QEMU knob each mirrors. The checker validates against it, and the notebook kernel completes
 * and documents from it, so a new attribute is declared here once.
 */
public final class Schema {

    private Schema() {}

    public enum Type { SIZE, DURATION, PERCENT, COUNT, ON_OFF, CHOICE, REF, BACKING, PATTERN, PAGE_SIZE, NUMBER, STRING, CPUSET, CPUSET_LIST, FILES }

    /**
     * One attribute. {@code min}/{@code max} bound counts; {@code choices} lists CHOICE words;
     * {@code ref} names the declaration kind a REF points at.
     */
    public record Attr(String name, Type type, String defaultText, String doc, String knob,
                       long min, long max, List<String> choices, String ref) {

        public String describe() {
            StringBuilder b = new StringBuilder(name).append(": ").append(doc);
            b.append("\n  type: ").append(typeWords());
            if (defaultText != null) b.append("\n  default: ").append(defaultText);
            if (knob != null) b.append("\n  mirrors: ").append(knob);
            return b.toString();
        }

        public String typeWords() {
            return switch (type) {
                case SIZE -> "a size (B, KiB, MiB, GiB, TiB)";
                case DURATION -> "a duration (ns, us, ms, s, min, h)";
                case PERCENT -> "a percentage (0% to 100%)";
                case COUNT -> "a whole number" + (max < Long.MAX_VALUE ? " from " + min + " to " + max
                        : min > 0 ? " of at least " + min : "");
                case ON_OFF -> "on | off";
                case CHOICE -> String.join(" | ", choices.stream().map(c -> c.replace('-', '_')).toList());
                case REF -> "the name of a " + ref;
                case BACKING -> "anonymous | thp | hugepages POOL";
                case PATTERN -> "uniform | sequential | strided(SIZE) | zipf(ALPHA) | hotcold(FRACTION, PROBABILITY)";
                case PAGE_SIZE -> "4 KiB | 2 MiB | 1 GiB";
                case NUMBER -> "a number";
                case STRING -> "a string";
                case CPUSET -> "host CPUs in libvirt's cpuset syntax, a string: \"0-3,^2,6\"";
                case CPUSET_LIST -> "a list of cpusets, one per vCPU from vCPU 0: [\"2\", \"3-4\"]";
                case FILES -> "a file name in a string, or a list of them: [\"t0.xz\", \"t1.xz\"]";
            };
        }
    }

    private static Attr a(String name, Type type, String def, String doc, String knob) {
        return new Attr(name, type, def, doc, knob, 0, Long.MAX_VALUE, List.of(), null);
    }

    private static Attr count(String name, long min, long max, String def, String doc, String knob) {
        return new Attr(name, Type.COUNT, def, doc, knob, min, max, List.of(), null);
    }

    private static Attr choice(String name, String def, String doc, String knob, String... choices) {
        return new Attr(name, Type.CHOICE, def, doc, knob, 0, 0, List.of(choices), null);
    }

    private static Attr ref(String name, String kind, String doc) {
        return new Attr(name, Type.REF, null, doc, null, 0, 0, List.of(), kind);
    }

    private static Map<String, Attr> block(Attr... attrs) {
        Map<String, Attr> m = new LinkedHashMap<>();
        for (Attr x : attrs) m.put(x.name(), x);
        return m;
    }

    /** CPU presets the MMU model knows (TLB geometry and latencies). */
    public static final List<String> CPUS = List.of("skylake", "zen2", "zen");

    /**
     * A ksm policy's knobs when not given: Linux's defaults (KsmSysfs), but run 1: a host given a
     * policy runs ksmd.
     */
    public static final Map<String, Long> KSM_DEFAULTS;

    static {
        Map<String, Long> d = new LinkedHashMap<>(KsmSysfs.KNOB_DEFAULTS);
        d.put("run", 1L);
        KSM_DEFAULTS = Collections.unmodifiableMap(d);
    }

    public static final Map<String, Attr> KSM_POLICY = block(
            count("run", 0, 2, "1", "whether ksmd runs: 0 stop, 1 run, 2 stop and unmerge everything",
                    "/sys/kernel/mm/ksm/run"),
            count("pages_to_scan", 1, Integer.MAX_VALUE, "100", "pages ksmd scans per wake-up",
                    "/sys/kernel/mm/ksm/pages_to_scan"),
            a("sleep", Type.DURATION, "20 ms", "how long ksmd sleeps between wake-ups",
                    "/sys/kernel/mm/ksm/sleep_millisecs"),
            count("max_page_sharing", 2, Integer.MAX_VALUE, "256",
                    "the most mappings one KSM page may have; beyond it a duplicate KSM page is made",
                    "/sys/kernel/mm/ksm/max_page_sharing"),
            a("merge_across_nodes", Type.ON_OFF, "on", "merge pages of different NUMA nodes (off: one tree per node)",
                    "/sys/kernel/mm/ksm/merge_across_nodes"),
            a("use_zero_pages", Type.ON_OFF, "off", "merge empty pages with the kernel's zero page",
                    "/sys/kernel/mm/ksm/use_zero_pages"),
            a("smart_scan", Type.ON_OFF, "on", "skip pages that did not merge in recent scans",
                    "/sys/kernel/mm/ksm/smart_scan"),
            a("stable_node_chains_prune", Type.DURATION, "2 s", "how often stale stable-node chains are pruned",
                    "/sys/kernel/mm/ksm/stable_node_chains_prune_millisecs"),
            choice("advisor_mode", "none", "the scan-rate advisor: none, or scan_time (sysfs's scan-time) to "
                    + "adapt pages_to_scan so a full scan takes advisor_target_scan_time", "/sys/kernel/mm/ksm/advisor_mode",
                    "none", "scan-time"),
            a("advisor_max_cpu", Type.PERCENT, "70%", "the advisor's ceiling on ksmd CPU use",
                    "/sys/kernel/mm/ksm/advisor_max_cpu"),
            a("advisor_target_scan_time", Type.DURATION, "200 s", "the advisor's target time for a full scan",
                    "/sys/kernel/mm/ksm/advisor_target_scan_time"),
            count("advisor_min_pages_to_scan", 1, Integer.MAX_VALUE, "500", "the advisor's lower bound on pages_to_scan",
                    "/sys/kernel/mm/ksm/advisor_min_pages_to_scan"),
            count("advisor_max_pages_to_scan", 1, Integer.MAX_VALUE, "30000", "the advisor's upper bound on pages_to_scan",
                    "/sys/kernel/mm/ksm/advisor_max_pages_to_scan"));

    /** Maps a policy attribute to its sysfs knob name where they differ. */
    public static String ksmKnob(String attribute) {
        return switch (attribute) {
            case "sleep" -> "sleep_millisecs";
            case "stable_node_chains_prune" -> "stable_node_chains_prune_millisecs";
            default -> attribute;
        };
    }

    public static final Map<String, Attr> HOST = block(
            a("memory", Type.SIZE, null, "the host's physical memory (MemTotal)", null),
            new Attr("cpu", Type.CHOICE, "skylake", "CPU preset: TLB geometry and latencies", null, 0, 0, CPUS, null),
            choice("thp", "madvise", "transparent hugepages mode",
                    "/sys/kernel/mm/transparent_hugepage/enabled", "always", "madvise", "never"),
            ref("ksm", "ksm policy", "the KSM policy ksmd runs with (none: ksmd does not run)"),
            count("numa_nodes", 1, 64, "1", "NUMA nodes; memory is split evenly between them", null),
            count("cpus", 1, 4096, "one per vCPU", "host CPUs (logical cores), each with its own TLBs and walk caches;"
                    + " without it the host has as many as its VMs' vCPUs, so no two vCPUs share a core",
                    "nproc / the host's logical CPUs"));

    /**
     * Knobs of a CPU preset that a host may override in `cpu_overrides { ... }`: TLB geometry
     * (entries, ways), paging-structure and nested caches, VPID, PCID, and latencies in cycles.
     */
    public static final Map<String, Attr> CPU_OVERRIDES;

    static {
        Map<String, Attr> m = new LinkedHashMap<>();
        String[][] knobs = {
            {"l1_4k_entries", "L1 DTLB entries for 4 KiB pages"}, {"l1_4k_ways", "L1 DTLB ways for 4 KiB pages"},
            {"l1_2m_entries", "L1 DTLB entries for 2 MiB pages"}, {"l1_2m_ways", "L1 DTLB ways for 2 MiB pages"},
            {"l1_1g_entries", "L1 DTLB entries for 1 GiB pages"}, {"l1_1g_ways", "L1 DTLB ways for 1 GiB pages"},
            {"stlb_entries", "second-level (unified) TLB entries"}, {"stlb_ways", "second-level TLB ways"},
            {"stlb_1g_entries", "second-level TLB entries for 1 GiB pages"}, {"stlb_1g_ways", "their ways"},
            {"psc_pml5_entries", "paging-structure cache entries for PML5"},
            {"psc_pml4_entries", "paging-structure cache entries for PML4"},
            {"psc_pdpt_entries", "paging-structure cache entries for PDPT"},
            {"psc_pde_entries", "paging-structure cache entries for PDE"}, {"psc_ways", "paging-structure cache ways"},
            {"ntlb_entries", "nested TLB entries (GPA -> HPA, 2D walks)"}, {"ntlb_ways", "nested TLB ways"},
            {"npsc_pml5_entries", "nested paging-structure cache entries for PML5 (5-level EPT/NPT)"},
            {"npsc_pml4_entries", "nested paging-structure cache entries for PML4"},
            {"npsc_pdpt_entries", "nested paging-structure cache entries for PDPT"},
            {"npsc_pde_entries", "nested paging-structure cache entries for PDE"},
            {"tlb_hit_cycles", "cycles of an L1 DTLB hit"}, {"stlb_hit_cycles", "cycles of a second-level TLB hit"},
            {"walk_ref_cycles", "cycles of one memory reference of a page walk"},
            {"vm_exit_cycles", "cycles of a VM exit and entry"}, {"ept_violation_cycles", "cycles KVM spends on an EPT violation"},
            {"shadow_fault_cycles", "cycles KVM spends on a shadow page fault"},
            {"pte_write_emulation_cycles", "cycles to emulate a write to a write-protected guest page table"},
            {"sync_page_cycles", "cycles to resync an unsync shadow page"},
            {"guest_fault_cycles", "cycles of a guest page fault in the guest kernel"},
            {"clear_page_cycles", "cycles to zero one 4 KiB page (each page but the first of a guest THP fault; each page a host fault zeroes)"},
            {"host_fault_cycles", "cycles of a host fault in an EPT violation or shadow fault, zeroing excluded (only when the host page was not present)"}};
        for (String[] k : knobs) m.put(k[0], count(k[0], 0, 1_000_000, null, k[1], null));
        for (String[] k : new String[][] {{"vpid", "tag TLB entries with the VM (VPID/ASID): a VM switch does not flush"},
                {"pcid", "process-context identifiers: a guest that uses them keeps up to 6 address spaces' entries"
                        + " across context switches (CR3 loads with NOFLUSH)"},
                {"l1_unified", "one L1 DTLB array for every page size (AMD)"},
                {"stlb_holds_2m", "the second-level TLB holds 2 MiB entries too"}}) {
            m.put(k[0], a(k[0], Type.ON_OFF, null, k[1], null));
        }
        CPU_OVERRIDES = Collections.unmodifiableMap(m);
    }

    public static final Map<String, Attr> HUGEPAGES = block(
            a("page_size", Type.PAGE_SIZE, null, "the pool's page size: 2 MiB or 1 GiB",
                    "/sys/kernel/mm/hugepages/hugepages-<size>kB"),
            count("count", 0, Integer.MAX_VALUE, "0", "persistent huge pages in the pool", "vm.nr_hugepages"),
            count("overcommit", 0, Integer.MAX_VALUE, "0", "surplus huge pages that may be allocated beyond count",
                    "vm.nr_overcommit_hugepages"),
            count("node", 0, 63, "interleaved", "the NUMA node the pool's pages come from (without it they are"
                    + " interleaved over the nodes, as vm.nr_hugepages does)",
                    "/sys/devices/system/node/node<N>/hugepages/hugepages-<size>kB/nr_hugepages"));

    public static final Map<String, Attr> IMAGE = block(
            a("from", Type.STRING, null, "a page file of real guest memory (`kvmsim image import`), relative to the script;"
                    + " instead of footprint, shared and zero", null),
            a("dump", Type.STRING, null, "with from: the dump (its tag) of each guest that VMs boot holding; default the"
                    + " latest", null),
            a("footprint", Type.SIZE, null, "memory a guest booted from the image has touched", null),
            a("shared", Type.PERCENT, "0%", "share of the footprint identical in every guest of this image", null),
            a("zero", Type.PERCENT, "0%", "share of the footprint that is zero-filled", null));

    public static final Map<String, Attr> VM = block(
            a("memory", Type.SIZE, null, "guest RAM", "qemu -m"),
            count("vcpus", 1, 4096, "1", "virtual CPUs", "qemu -smp"),
            choice("paging", "ept", "how guest addresses are translated", null, "ept", "npt", "shadow", "native"),
            a("backing", Type.BACKING, "anonymous", "what backs guest RAM in the host: anonymous (4 KiB pages; "
                    + "THP only under the host's thp = always), thp (madvised MADV_HUGEPAGE, as QEMU does: THP under "
                    + "thp = madvise or always) or hugepages POOL (hugetlbfs, never merged by KSM)",
                    "qemu -object memory-backend-ram|file"),
            ref("image", "image", "the image the guest boots from"),
            count("levels", 4, 5, "4", "paging levels of guest and nested tables (5: LA57)", null),
            a("prealloc", Type.ON_OFF, "off", "fault in all guest RAM at start", "qemu -mem-prealloc"),
            a("reserve", Type.ON_OFF, "on", "reserve hugetlb pages at start (off: MAP_NORESERVE)",
                    "qemu memory-backend-file reserve="),
            a("mem_merge", Type.ON_OFF, "on", "mark guest RAM mergeable for KSM (MADV_MERGEABLE)",
                    "qemu -machine mem-merge="),
            count("node", 0, 63, "0", "the host NUMA node the guest's RAM and page tables prefer (others when it"
                    + " is full)", "qemu -object memory-backend-ram,host-nodes=N,policy=preferred"),
            choice("guest_thp", "never", "transparent hugepages in the guest: always backs each 2 MiB of a workload's"
                    + " footprint with one 2 MiB guest page at its first fault, when the range lies wholly inside the"
                    + " footprint and the guest has 2 MiB of free memory for it",
                    "the guest's /sys/kernel/mm/transparent_hugepage/enabled", "always", "never"),
            a("cpuset", Type.CPUSET, "any", "host CPUs the VM's vCPUs may run on (libvirt syntax, e.g. \"0-3,^2\")",
                    "libvirt <vcpu cpuset=...>, taskset -c"),
            a("vcpupin", Type.CPUSET_LIST, "none: every vCPU follows cpuset", "host CPUs per vCPU: entry i pins vCPU i"
                    + " (e.g. [\"2\", \"3-4\"]); vCPUs past the list's end follow cpuset",
                    "libvirt <cputune><vcpupin vcpu= cpuset=>"),
            a("pv_tlb_flush", Type.ON_OFF, "on", "the guest flushes other vCPUs' TLBs through KVM's paravirtual interface"
                    + " (KVM_FEATURE_PV_TLB_FLUSH): a preempted vCPU is marked to flush at its next entry instead of being"
                    + " sent an IPI and waited for", "qemu -cpu ...,kvm-pv-tlb-flush=on"),
            a("pcid", Type.ON_OFF, "on", "the guest kernel uses PCIDs where the host CPU has them (skylake; zen2 has"
                    + " none): it keeps up to 6 address spaces' TLB entries per vCPU and switches between them with"
                    + " CR3 NOFLUSH; off: every context switch flushes", "the guest kernel's nopcid (off)"),
            choice("machine", "pc", "QEMU's machine type, which places guest RAM: pc (i440FX, QEMU's default) keeps"
                    + " up to 3.5 GiB below 4 GiB, else 3 GiB below and the rest from 4 GiB up; q35 up to 2.75 GiB, else"
                    + " 2 GiB; both leave a hole at 0xa0000-0xfffff (VGA, ROMs) and register RAM with KVM as memslots",
                    "qemu -machine pc|q35, libvirt <os><type machine=>", "pc", "q35"));

    public static final Map<String, Attr> WORKLOAD = block(
            a("pattern", Type.PATTERN, "uniform", "the order in which pages are accessed", null),
            a("footprint", Type.SIZE, null, "memory the workload maps and touches", null),
            count("accesses", 0, Long.MAX_VALUE, "0", "memory accesses, spread evenly over the run that follows", null),
            a("writes", Type.PERCENT, "0%", "share of accesses that are writes", null),
            count("seed", 0, Long.MAX_VALUE, "0", "seed of the workload's random choices", null),
            count("threads", 1, 4096, "one per vCPU", "threads of the workload's process; each makes an equal share of"
                    + " the accesses with its own stream over the shared footprint, on one vCPU (thread i on vCPU i mod"
                    + " vcpus)", null),
            a("trace", Type.FILES, null, "a recorded program's memory accesses to replay instead of a pattern (relative"
                    + " to the script; gzip, xz or zstd compressed or plain): its addresses are the guest's virtual addresses"
                    + " in the VM's default address space, one thread on vCPU 0; a list of files is a multi-threaded"
                    + " program, thread i replaying file i on vCPU i mod vcpus; each run takes `accesses` of it (split over"
                    + " the threads in proportion to what each has left), or all that is left", null),
            choice("format", "lackey", "the trace's format: lackey (valgrind --tool=lackey --trace-mem=yes), champsim"
                    + " (ChampSim's 64-byte input_instr records) or drmemtrace (DynamoRIO drmemtrace's 12-byte"
                    + " trace_entry_t records, after raw2trace)", null, "lackey", "champsim", "drmemtrace"),
            count("limit", 1, Long.MAX_VALUE, "the whole trace", "accesses taken from the start of the trace in each pass", null),
            count("repeat", 1, Long.MAX_VALUE, "1", "passes over the trace (each from its start)", null));

    public static final Map<String, Attr> PLOT = block(
            a("x", Type.STRING, null, "the column on the x axis", null),
            a("y", Type.STRING, null, "the column on the y axis; several separated by commas draw one series each", null),
            choice("kind", "line", "the chart type", null, "line", "bar", "scatter"),
            a("title", Type.STRING, null, "the chart's title", null));

    /** The schema of a block kind, by the words that open it. */
    public static Map<String, Attr> of(String kind) {
        return switch (kind) {
            case "ksm policy" -> KSM_POLICY;
            case "host" -> HOST;
            case "hugepages" -> HUGEPAGES;
            case "image" -> IMAGE;
            case "vm" -> VM;
            case "workload" -> WORKLOAD;
            case "plot" -> PLOT;
            case "cpu_overrides" -> CPU_OVERRIDES;
            default -> Map.of();
        };
    }

    /** The counters `run until HOST.ksm.COUNTER = N` may wait for, as sysfs names them. */
    public static final List<String> KSM_COUNTERS = KsmSysfs.COUNTERS;

    /** Statement keywords, for completion and "did you mean". */
    public static final List<String> STATEMENTS = List.of("ksm policy", "host", "image", "vm", "workload",
            "pagetable", "contents", "import libvirt", "run", "write", "set", "start", "stop", "reset", "sweep", "show", "plot",
            "export", "print");

    /** Blocks inside a host: `hugepages NAME { ... }` (a hugetlb pool) and `cpu_overrides { ... }`. */
    public static final List<String> HOST_BLOCKS = List.of("hugepages", "cpu_overrides");

    /** The words a `backing` starts with (`hugepages` takes a pool's name). */
    public static final List<String> BACKINGS = List.of("anonymous", "thp", "hugepages");

    /** The access patterns of a workload; strided, zipf and hotcold take arguments in parentheses. */
    public static final List<String> PATTERNS = List.of("uniform", "sequential", "strided", "zipf", "hotcold");

    /** What `pages A .. B = ...` may hold; `changing` goes on with `every DURATION`. */
    public static final List<String> CONTENTS = List.of("same", "zero", "unique", "image", "changing");

    public static final List<String> SIZE_UNITS = List.of("B", "KiB", "MiB", "GiB", "TiB");
    public static final List<String> DURATION_UNITS = List.of("ns", "us", "ms", "s", "min", "h");
}
