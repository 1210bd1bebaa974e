package org.kvmsim.lang.libvirt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.kvmsim.lang.libvirt.XmlTree.Element;
import org.kvmsim.model.Backing;
import org.kvmsim.model.CpuSet;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
import org.kvmsim.model.Machine;
import org.kvmsim.model.Paging;
import org.kvmsim.model.Vm;

/**
 * A libvirt domain (`virsh dumpxml`) as a kvmsim VM: what bears on memory virtualization, read as
 * libvirt reads it (docs/formatdomain.rst; src/conf/domain_conf.c for parsing, src/qemu/
 * qemu_command.c for the QEMU memory backend it becomes).
 *
 * <ul>
 *   <li>{@code memory} (QEMU's -m; {@code currentMemory} is the balloon's target and does not change
 *       what QEMU maps), in libvirt's units (virScaleInteger: no unit KiB; b/bytes; k/KiB, KB =
 *       10^3, M/MiB, MB, G/GiB, GB, T/TiB, TB, P, E), rounded up to KiB (virDomainParseMemory), then
 *       up to 1 MiB as libvirt aligns the initial memory for QEMU on x86
 *       (qemuDomainAlignMemorySizes).
 *   <li>{@code vcpu}: the vCPUs online at start ({@code current}, else the count); its
 *       {@code cpuset} (ignored under {@code placement='auto'}, as libvirt does): the VM's cpuset.
 *   <li>{@code cputune/vcpupin}: vcpupin, one entry per vCPU up to the last one pinned; a vCPU
 *       without one runs where {@code <vcpu cpuset>} says (libvirt gives it the domain's cpumask),
 *       else anywhere. A pin for a vCPU the domain does not have is ignored with a warning, as
 *       libvirt ignores it; pins of offline vCPUs are dropped. {@code emulatorpin} and
 *       {@code iothreadpin} place threads that make no memory accesses in the model: ignored.
 *   <li>{@code memoryBacking}: {@code hugepages} (the pool of the page size asked, or of the host's
 *       default size, 2 MiB on x86, when none is given; a page size equal to the base page size is
 *       ordinary memory), {@code nosharepages} (mem-merge=off), {@code allocation mode='immediate'}
 *       (prealloc), {@code access mode='shared'} (a shared mapping: KSM never merges it).
 *   <li>{@code numatune memory} (or guest node 0's {@code memnode}) with one node in strict or
 *       preferred mode: the host node.
 *   <li>{@code locked}: prealloc (QEMU mlocks all guest RAM at start); a memfd (shared unless
 *       {@code access mode='private'}) or shared access of guest node 0: mem_merge off.
 * </ul>
 * {@code features/hap state='off'} is a Xen setting libvirt's QEMU driver ignores: EPT stays, with
 * a warning.
 * What could change memory behaviour and is not modelled (discard, memtune, guest NUMA
 * cells, interleaved or multi-node numatune, memory devices, device passthrough, balloon
 * free page reporting) becomes a warning naming the element and its line; everything else in the
 * file is ignored. Where libvirt would refuse the domain, the import fails with libvirt's words.
 */
public final class DomainImport {

    /** Something in the file kvmsim does not model, at its element's line and column. */
    public record Warning(int line, int column, String message) {}

    /** The VM, and what it does not model of the file. */
    public record Result(Vm vm, List<Warning> warnings) {}

    /** The file cannot be imported: bad XML, or a domain libvirt would refuse. */
    public static final class Refused extends Exception {
        public final int line, column;

        Refused(String message, int line, int column) {
            super(message, null, false, false);
            this.line = line;
            this.column = column;
        }

        Refused(String message, Element at) {
            this(message, at == null ? 0 : at.line(), at == null ? 0 : at.column());
        }
    }

    /** The host's default hugepage size on x86-64 (Hugepagesize in /proc/meminfo). */
    static final long DEFAULT_HUGEPAGE = 2L << 20;
    private static final long BASE_PAGE = 4096;
    /** libvirt aligns a domain's initial memory to 1 MiB for QEMU on x86 (qemuDomainAlignMemorySizes). */
    private static final long ALIGN = 1L << 20;

    private final List<Warning> warnings = new ArrayList<>();

    private DomainImport() {}

    /**
     * Imports {@code file} as a VM on {@code host}, named {@code name} or, when null, after the
     * domain's own name (characters a kvmsim name cannot have become '_').
     */
    public static Result read(Path file, String name, Host host) throws Refused {
        Element root;
        try {
            root = XmlTree.read(file);
        } catch (XmlTree.BadXml e) {
            throw new Refused(e.getMessage(), e.line, e.column);
        }
        return new DomainImport().map(root, name, host);
    }

    private Result map(Element domain, String name, Host host) throws Refused {
        if (!domain.name().equals("domain")) {
            throw new Refused("not a libvirt domain: the root element is <" + XmlTree.clip(domain.name()) + ">, not <domain>", domain);
        }
        String vmName = name != null ? name : vmName(domain);
        long memory = memory(domain);
        int vcpus = vcpus(domain);
        CpuSet cpuset = cpuset(domain);
        List<CpuSet> vcpupin = vcpupin(domain, vcpus, cpuset, host);
        Paging paging = paging(domain);
        Machine machine = machine(domain);
        Element mb = domain.child("memoryBacking");
        boolean memMerge = true, prealloc = false;
        Backing backing = Backing.ANONYMOUS;
        int node = node(domain, host);
        if (mb != null) {
            backing = backing(domain, mb, host, node);
            if (mb.child("nosharepages") != null) memMerge = false;
            Element alloc = mb.child("allocation");
            if (alloc != null && "immediate".equals(alloc.attr("mode"))) prealloc = true;
            if (mb.child("locked") != null) {
                // -overcommit mem-lock=on: QEMU mlockall()s, so all guest RAM is faulted in at start
                prealloc = true;
                warn(mb.child("locked"), "<locked/> makes QEMU mlock all guest RAM (-overcommit mem-lock=on): imported as"
                        + " prealloc = on; that it can never be swapped or reclaimed is not modelled");
            }
            if (mb.child("discard") != null) {
                warn(mb.child("discard"), "<discard/> (freeing guest RAM on discard) is not modelled");
            }
        }
        // guest RAM shared (a MAP_SHARED mapping) is not KSM-compatible (mm/ksm.c
        // vma_ksm_compatible: VM_SHARED): <access mode='shared'>, guest node 0's cell memAccess, or
        // a memfd, which QEMU shares unless told otherwise (hostmem-memfd.c: share = true)
        Element source = mb == null ? null : mb.child("source");
        String sourceType = source == null || source.attr("type") == null ? "anonymous" : source.attr("type");
        Element access = mb == null ? null : mb.child("access");
        Element cell0 = cells(domain).isEmpty() ? null : cells(domain).get(0);
        Element accessAt = cell0 != null && cell0.attr("memAccess") != null ? cell0 : access;
        String accessMode = accessAt == null ? null : accessAt == cell0 ? cell0.attr("memAccess") : access.attr("mode");
        boolean shared = "shared".equals(accessMode) || sourceType.equals("memfd") && !"private".equals(accessMode);
        if (!sourceType.equals("anonymous")) {
            warn(source, "<source type='" + XmlTree.clip(sourceType) + "'> (" + (sourceType.equals("memfd") ? "shmem through memfd"
                    : "a file") + " behind guest RAM) is not modelled: imported as "
                    + (backing.kind() == Backing.Kind.HUGEPAGES ? "hugetlbfs" : "anonymous memory"));
        }
        if (shared && backing.kind() != Backing.Kind.HUGEPAGES && memMerge) {
            memMerge = false;
            warn(accessAt != null ? accessAt : source, "guest RAM is a shared mapping (" + (accessAt != null
                    ? "memAccess/access mode 'shared'" : "a memfd, which QEMU shares by default")
                    + "): KSM never merges it, imported as mem_merge = off");
        }
        if (backing.kind() == Backing.Kind.HUGEPAGES) {
            // libvirt preallocates hugepage memory always (qemuBuildMemoryGetPagesize: prealloc
            // when useHugepage), whatever <allocation> says
            prealloc = true;
            long pageSize = host.pool(backing.pool()).pageSize();
            Element at = domain.child("memory") != null ? domain.child("memory") : domain;
            if (memory < pageSize) {
                // QEMU's refusal (backends/hostmem-file.c, via qemu_ram_alloc_from_fd)
                throw new Refused(String.format(Locale.ROOT, "memory size 0x%x must be equal to or larger than page size 0x%x",
                        memory, pageSize), at);
            }
            if (memory % pageSize != 0) {
                long rounded = (memory + pageSize - 1) / pageSize * pageSize;
                warn(at, "memory of " + memory / 1024 + " KiB is not a whole number of " + pageSize / 1024 + " KiB pages: QEMU"
                        + " rounds the backing file up; kvmsim's guest gets the rounded " + rounded / 1024 + " KiB");
                memory = rounded;
            }
        }
        notModelled(domain);
        Vm vm = new Vm(vmName, host.name(), memory, vcpus, paging, backing, null, 4, prealloc, true, memMerge, node, false,
                cpuset, vcpupin, true, true, machine);
        warnings.sort(Comparator.comparingInt(Warning::line).thenComparingInt(Warning::column));
        return new Result(vm, List.copyOf(warnings));
    }

    /**
     * {@code <os><type machine=>}: pc-q35-* (and q35) lay guest RAM out as q35, pc-i440fx-*, pc-X.Y
     * and pc as i440FX; no machine is QEMU's default for x86-64, pc. Anything else (isapc,
     * microvm, xenfv) is not modelled: imported as pc with a warning.
     */
    private Machine machine(Element domain) {
        Element os = domain.child("os");
        Element type = os == null ? null : os.child("type");
        String m = type == null ? null : type.attr("machine");
        if (m == null || m.isEmpty()) return Machine.PC;
        if (m.equals("q35") || m.startsWith("pc-q35-")) return Machine.Q35;
        if (m.equals("pc") || m.startsWith("pc-i440fx-") || m.matches("pc-[0-9].*")) return Machine.PC;
        warn(type, "machine type '" + XmlTree.clip(m) + "' is not modelled: guest RAM is laid out as QEMU's pc (i440FX)"
                + " lays it out");
        return Machine.PC;
    }

    private void warn(Element at, String message) {
        warnings.add(new Warning(at.line(), at.column(), message));
    }

    /** The domain's name as a kvmsim name: letters, digits and '_', not starting with a digit. */
    private String vmName(Element domain) throws Refused {
        Element n = domain.child("name");
        if (n == null || n.text().isEmpty()) throw new Refused("the domain has no <name>: import it `as NAME`", domain);
        StringBuilder b = new StringBuilder();
        for (char c : n.text().toCharArray()) b.append(Character.isLetterOrDigit(c) && c < 128 || c == '_' ? c : '_');
        if (Character.isDigit(b.charAt(0))) b.insert(0, '_');
        if (!b.toString().equals(n.text())) {
            warn(n, "the domain's name '" + n.text() + "' is not a kvmsim name: imported as '" + b + "'");
        }
        return b.toString();
    }

    /**
     * QEMU's -m: with guest NUMA cells the sum of the cells, each aligned to 1 MiB (their total is
     * the domain's memory then), else {@code <memory>} aligned (qemuDomainAlignMemorySizes; the
     * fixtures' -m: 219200 KiB -> 220160k, cells of 20002, 660066 and 24002400 KiB -> 24683520k).
     */
    private long memory(Element domain) throws Refused {
        List<Element> cells = cells(domain);
        for (Element cell : cells) {
            String access = cell.attr("memAccess");
            if (access != null && !access.equals("shared") && !access.equals("private") && !access.equals("default")) {
                throw new Refused("XML error: Invalid value for attribute 'memAccess' in element 'cell': '" + access + "'.", cell);
            }
        }
        if (!cells.isEmpty()) {
            long bytes = 0;
            try {
                for (Element cell : cells) bytes = Math.addExact(bytes, align(kib(cell, cell.attr("memory"), cell.attr("unit"))));
            } catch (ArithmeticException e) {
                throw new Refused("initial memory size overflowed after alignment", cells.get(0));
            }
            return bytes;
        }
        Element m = domain.child("memory");
        if (m == null) throw new Refused("the domain has no <memory>", domain);
        long kib = kib(m, m.text(), m.attr("unit"));
        if (kib == 0) throw new Refused("the domain's <memory> is 0", m);
        try {
            return align(kib);
        } catch (ArithmeticException e) {
            throw new Refused("initial memory size overflowed after alignment", m);
        }
    }

    private static List<Element> cells(Element domain) {
        Element cpu = domain.child("cpu");
        Element numa = cpu == null ? null : cpu.child("numa");
        return numa == null ? List.of() : numa.all("cell");
    }

    private static long align(long kib) {
        long bytes = Math.multiplyExact(kib, 1024L);
        return Math.addExact(bytes, ALIGN - 1) / ALIGN * ALIGN;
    }

    /** A size as libvirt's virDomainParseMemory reads it: scaled by its unit, rounded up to KiB. */
    static long kib(Element at, String number, String unit) throws Refused {
        if (number == null || number.isBlank()) throw new Refused("<" + at.name() + "> has no size", at);
        long value;
        try {
            value = Long.parseUnsignedLong(number.strip());
        } catch (NumberFormatException e) {
            throw new Refused("invalid value '" + XmlTree.clip(number.strip()) + "' in <" + at.name() + ">: not an integer", at);
        }
        long scale = scale(at, unit);
        // virScaleInteger's limit for memory: what a long long holds in bytes (virMemoryMaxValue)
        if (value < 0 || value > Long.MAX_VALUE / scale) {
            throw new Refused("value too large: " + XmlTree.clip(number.strip()) + (unit == null ? "" : XmlTree.clip(unit)), at);
        }
        long bytes = value * scale;
        return bytes / 1024 + (bytes % 1024 == 0 ? 0 : 1);
    }

    /** virScaleInteger's units: none is KiB here; b/byte/bytes; X or XiB = 1024^n, XB = 1000^n (k m g t p e). */
    private static long scale(Element at, String unit) throws Refused {
        if (unit == null || unit.isEmpty()) return 1024;
        String u = unit.toLowerCase(Locale.ROOT);
        if (u.equals("b") || u.equals("byte") || u.equals("bytes")) return 1;
        long base;
        if (u.length() == 1 || u.substring(1).equals("ib")) base = 1024;
        else if (u.length() == 2 && u.charAt(1) == 'b') base = 1000;
        else throw new Refused("unknown suffix '" + XmlTree.clip(unit) + "'", at);
        int power = "kmgtpe".indexOf(u.charAt(0)) + 1;
        if (power == 0) throw new Refused("unknown suffix '" + XmlTree.clip(unit) + "'", at);
        long s = 1;
        for (int i = 0; i < power; i++) s *= base;
        return s;
    }

    private int vcpus(Element domain) throws Refused {
        Element v = domain.child("vcpu");
        if (v == null) return 1;
        int max = count(v, v.text());
        if (v.attr("current") == null) return max;
        int current = count(v, v.attr("current"));
        if (max < current) {
            throw new Refused("maxvcpus must not be less than current vcpus (" + max + " < " + current + ")", v);
        }
        return current;
    }

    private static int count(Element v, String n) throws Refused {
        try {
            int count = Integer.parseInt(n.strip());
            if (count < 1 || count > 4096) throw new Refused("invalid number of vCPUs: " + count, v);
            return count;
        } catch (NumberFormatException e) {
            throw new Refused("invalid vcpu value '" + XmlTree.clip(n.strip()) + "'", v);
        }
    }

    /** {@code <vcpu cpuset>} (virDomainVcpuParse): null when absent or under placement='auto'. */
    private static CpuSet cpuset(Element domain) throws Refused {
        Element v = domain.child("vcpu");
        if (v == null || v.attr("cpuset") == null || "auto".equals(v.attr("placement"))) return null;
        return cpuSet(v, v.attr("cpuset"));
    }

    /** A cpuset as virBitmapParse reads it, refused with libvirt's words. */
    private static CpuSet cpuSet(Element at, String text) throws Refused {
        try {
            return CpuSet.parse(text);
        } catch (IllegalArgumentException e) {
            throw new Refused(XmlTree.clip(e.getMessage()), at);
        }
    }

    /**
     * {@code <cputune><vcpupin vcpu='N' cpuset='...'/>} as virDomainVcpuPinDefParseXML reads them,
     * as a list from vCPU 0 to the last online vCPU pinned; a vCPU between without a pin gets the
     * domain's cpuset, as libvirt runs it.
     */
    private List<CpuSet> vcpupin(Element domain, int online, CpuSet cpuset, Host host) throws Refused {
        Element cputune = domain.child("cputune");
        if (cputune == null) return List.of();
        Element v = domain.child("vcpu");
        int max = v == null ? 1 : count(v, v.text());
        Map<Integer, CpuSet> pins = new HashMap<>();
        for (Element pin : cputune.all("vcpupin")) {
            String id = pin.attr("vcpu");
            if (id == null) throw new Refused("Missing required attribute 'vcpu' in element 'vcpupin'", pin);
            int vcpu;
            try {
                // strtoul, as virXMLPropUInt reads it: leading white space, no sign but '+'
                vcpu = Integer.parseInt(id.stripLeading());
            } catch (NumberFormatException e) {
                vcpu = -1;
            }
            if (vcpu < 0) {
                throw new Refused("Invalid value for attribute 'vcpu' in element 'vcpupin': '" + XmlTree.clip(id)
                        + "'. Expected non-negative integer value", pin);
            }
            if (vcpu >= max) {
                warn(pin, "<vcpupin vcpu='" + vcpu + "'> names a vCPU the domain does not have (it has " + max
                        + "): libvirt ignores it");
                continue;
            }
            String set = pin.attr("cpuset");
            if (set == null) throw new Refused("missing cpuset for vcpupin", pin);
            if (pins.containsKey(vcpu)) throw new Refused("duplicate vcpupin for vcpu '" + vcpu + "'", pin);
            pins.put(vcpu, cpuSet(pin, set));
        }
        int last = -1;
        int highest = online - 1;
        for (Map.Entry<Integer, CpuSet> e : pins.entrySet()) {
            if (e.getKey() < online) last = Math.max(last, e.getKey());
            highest = Math.max(highest, e.getValue().max());
        }
        List<CpuSet> out = new ArrayList<>();
        for (int i = 0; i <= last; i++) {
            CpuSet p = pins.get(i);
            if (p == null && cpuset != null) p = cpuset;
            if (p == null && host.cpus() > 0) p = CpuSet.range(0, host.cpus() - 1);
            if (p == null) {
                // kvmsim's list cannot leave a vCPU before a pinned one unpinned; with the host's
                // CPUs not given, "any" is every CPU the domain names
                p = CpuSet.range(0, highest);
                warn(cputune, "vCPU " + i + " has no <vcpupin> and the domain no <vcpu cpuset>: libvirt lets it run on any"
                        + " host CPU; imported pinned to CPUs " + p + " (give the host cpus = N to make that all of its CPUs)");
            }
            out.add(p);
        }
        return out;
    }

    private Paging paging(Element domain) {
        Element features = domain.child("features");
        Element hap = features == null ? null : features.child("hap");
        if (hap != null && "off".equals(hap.attr("state"))) {
            // a Xen (libxl) setting: libvirt's QEMU driver accepts it and does nothing with it
            // (qemu_validate.c), and KVM's EPT/NPT follow kvm_intel's ept= module parameter
            warn(hap, "<hap state='off'/> does nothing under QEMU/KVM (libvirt's QEMU driver ignores it; EPT follows"
                    + " kvm_intel's ept= parameter): imported with paging = ept; set paging = shadow to model ept=0");
        }
        return Paging.EPT;
    }

    /**
     * The host node guest RAM prefers: the numatune rule of guest node 0 (its memnode, else the
     * domain's memory element) when it names one node in strict or preferred mode, else 0.
     */
    private int node(Element domain, Host host) throws Refused {
        Element nt = domain.child("numatune");
        Element vcpu = domain.child("vcpu");
        if (nt == null) {
            if (vcpu != null && "auto".equals(vcpu.attr("placement"))) {
                warn(vcpu, "<vcpu placement='auto'> lets numad place guest RAM (an implicit strict numatune), which is not"
                        + " modelled: guest RAM prefers node 0");
            }
            return 0;
        }
        Element rule = nt.child("memory");
        int cells = cells(domain).size();
        Set<String> seen = new HashSet<>();
        for (Element mn : nt.all("memnode")) {
            // numa_conf.c virDomainNumatuneNodeParseXML
            if (cells == 0) throw new Refused("Element 'memnode' is invalid without any guest NUMA cells", mn);
            String id = mn.attr("cellid") == null ? "" : mn.attr("cellid");
            if (!seen.add(id)) throw new Refused("Multiple memnode elements with cellid " + XmlTree.clip(id), mn);
            int cellid;
            try {
                cellid = Integer.parseInt(id.strip());
            } catch (NumberFormatException e) {
                throw new Refused("Invalid cellid attribute in memnode element: " + XmlTree.clip(id), mn);
            }
            if (cellid < 0 || cellid >= cells) {
                throw new Refused("Argument 'cellid' in memnode element must correspond to existing guest's NUMA cell", mn);
            }
            if (cellid == 0) rule = mn;
            else warn(mn, "<memnode cellid='" + cellid + "'> (placement of another guest node) is not modelled");
        }
        if (rule == null) return 0;
        String mode = rule.attr("mode") == null ? "strict" : rule.attr("mode");
        if (!List.of("strict", "preferred", "interleave", "restrictive").contains(mode)) {
            throw new Refused("Unsupported NUMA memory tuning mode '" + XmlTree.clip(mode) + "'", rule);
        }
        if ("auto".equals(rule.attr("placement"))) {
            // placement auto: numad's advice replaces any nodeset (virDomainNumatuneSet)
            warn(rule, "<" + rule.name() + " placement='auto'> lets numad choose the nodes, which is not modelled:"
                    + " guest RAM prefers node 0");
            return 0;
        }
        List<Integer> nodes = nodeset(rule, rule.attr("nodeset"));
        for (int n : nodes) {
            if (n >= host.numaNodes()) {
                throw new Refused("numatune nodeset " + XmlTree.clip(rule.attr("nodeset")) + " names host node " + n + ", and host '"
                        + host.name() + "' has " + host.numaNodes() + " node" + (host.numaNodes() == 1 ? "" : "s"), rule);
            }
        }
        String what = "<" + rule.name() + " mode='" + mode + "'" + (rule.attr("nodeset") == null ? "" : " nodeset='"
                + XmlTree.clip(rule.attr("nodeset")) + "'") + ">";
        if (mode.equals("restrictive")) {
            // cgroups only: QEMU gets no host-nodes or policy (qemuBuildMemoryBackendProps)
            warn(rule, what + " (cgroup cpuset.mems only) is not modelled: guest RAM prefers node 0");
            return 0;
        }
        if (nodes.isEmpty()) {
            warn(rule, what + " without a nodeset takes numad's advice (placement auto), which is not modelled:"
                    + " guest RAM prefers node 0");
            return 0;
        }
        if (nodes.size() == 1 && (mode.equals("strict") || mode.equals("preferred"))) {
            if (mode.equals("strict")) {
                warn(rule, what + " binds guest RAM to node " + nodes.get(0)
                        + "; kvmsim prefers it (allocations fall back to other nodes when it is full)");
            }
            return nodes.get(0);
        }
        warn(rule, what + " is not modelled: guest RAM prefers node 0");
        return 0;
    }

    /** The largest node number a nodeset may hold (libvirt parses them into a bitmap of this size). */
    private static final int NODESET_BITS = 1024;

    /** A libvirt nodeset ("0", "0-2", "0,2,^1"), as virBitmapParse reads it. */
    private static List<Integer> nodeset(Element at, String set) throws Refused {
        List<Integer> out = new ArrayList<>();
        if (set == null) return out;
        BitSet bits = new BitSet();
        BitSet excluded = new BitSet();
        try {
            if (set.isBlank()) throw new NumberFormatException();
            for (String part : set.split(",", -1)) {
                String p = part.strip();
                if (p.startsWith("^")) {
                    excluded.set(bit(p.substring(1)));
                } else if (p.contains("-")) {
                    String[] r = p.split("-", 2);
                    int from = bit(r[0]), to = bit(r[1]);
                    if (from > to) throw new NumberFormatException();
                    bits.set(from, to + 1);
                } else {
                    bits.set(bit(p));
                }
            }
        } catch (NumberFormatException e) {
            throw new Refused("Failed to parse bitmap '" + XmlTree.clip(set) + "'", at);
        }
        bits.andNot(excluded);
        for (int i = bits.nextSetBit(0); i >= 0; i = bits.nextSetBit(i + 1)) out.add(i);
        return out;
    }

    private static int bit(String s) {
        int n = Integer.parseInt(s.strip());
        if (n < 0 || n >= NODESET_BITS) throw new NumberFormatException();
        return n;
    }

    /** The backing of guest RAM: a pool of the host for hugepages, else anonymous memory. */
    private Backing backing(Element domain, Element mb, Host host, int node) throws Refused {
        Element hp = mb.child("hugepages");
        if (hp == null) return Backing.ANONYMOUS;
        List<Element> pages = hp.all("page");
        // domain_validate.c: a page's nodeset names guest NUMA nodes, of which there is at least
        // one; one page at most has none (the master); no two nodesets intersect
        int guestNodes = Math.max(1, cells(domain).size());
        Element master = null, forNode0 = null;
        Map<Integer, Element> owner = new HashMap<>();
        Map<Element, Long> sizes = new HashMap<>();
        for (Element page : pages) {
            long kib = kib(page, page.attr("size"), page.attr("unit"));
            if (kib == 0) throw new Refused("hugepage size can't be zero", page);
            sizes.put(page, kib);
            if (page.attr("nodeset") == null) {
                if (master != null) {
                    throw new Refused("two master hugepages detected: " + sizes.get(master) + " and " + kib, page);
                }
                master = page;
                continue;
            }
            List<Integer> set = nodeset(page, page.attr("nodeset"));
            for (int n : set) {
                if (n >= guestNodes) throw new Refused("hugepages: node " + n + " not found", page);
                if (owner.containsKey(n)) {
                    throw new Refused("nodeset attribute of hugepages of sizes " + sizes.get(owner.get(n)) + " and " + kib
                            + " intersect", page);
                }
                owner.put(n, page);
            }
            if (set.contains(0) && forNode0 == null) forNode0 = page;
        }
        // qemuBuildMemoryGetPagesize: the page whose nodeset holds the memory's node, else the
        // master; <hugepages/> alone takes the default size. kvmsim's guest RAM is guest node 0's.
        Element page = forNode0 != null ? forNode0 : master;
        if (page == null && !pages.isEmpty()) {
            warn(pages.get(0), "no <page> covers guest node 0, whose memory libvirt backs with ordinary pages: imported as"
                    + " anonymous memory");
            return Backing.ANONYMOUS;
        }
        if (pages.size() > 1) {
            warn(pages.get(1), "hugepages of several sizes for guest NUMA nodes are not modelled: all guest RAM is backed by "
                    + "the page size of guest node 0 (" + sizes.get(page) + " KiB)");
        }
        if (page != null && sizes.get(page) * 1024 == BASE_PAGE) return Backing.ANONYMOUS; // the base page size: ordinary memory
        Element at = page != null ? page : hp;
        if (host.pools().isEmpty()) {
            throw new Refused("hugetlbfs filesystem is not mounted or disabled by administrator config", at);
        }
        // no size: the default mount (qemuBuildMemoryGetDefaultPagesize): the host's 2 MiB pool,
        // the default hugepage size on x86, else its first pool
        long size = page != null ? sizes.get(page) * 1024
                : host.pools().stream().anyMatch(p -> p.pageSize() == DEFAULT_HUGEPAGE) ? DEFAULT_HUGEPAGE
                : host.pools().get(0).pageSize();
        HugePagePool best = null;
        for (HugePagePool p : host.pools()) {
            if (p.pageSize() != size) continue;
            // a pool on the guest's node, else one interleaved over the nodes, else any of the size
            if (best == null || p.node() == node && best.node() != node || p.node() < 0 && best.node() != node && best.node() >= 0) best = p;
        }
        if (best == null) {
            throw new Refused("Unable to find any usable hugetlbfs mount for " + size / 1024 + " KiB", at);
        }
        return Backing.hugepages(best.name());
    }

    /** Warnings for what could change memory behaviour and is not modelled. */
    private void notModelled(Element domain) {
        Element max = domain.child("maxMemory");
        if (max != null) warn(max, "<maxMemory> (memory hotplug slots) is not modelled: only the initial memory is");
        Element mt = domain.child("memtune");
        if (mt != null) warn(mt, "<memtune> (cgroup memory limits) is not modelled: nothing limits the guest but the host");
        Element cpu = domain.child("cpu");
        Element numa = cpu == null ? null : cpu.child("numa");
        if (numa != null && numa.all("cell").size() > 1) {
            warn(numa, "guest NUMA (" + numa.all("cell").size() + " <cell>s) is not modelled: one guest node holds all memory");
        }
        Element devices = domain.child("devices");
        if (devices != null) {
            for (Element d : devices.children()) {
                switch (d.name()) {
                    case "memory" -> warn(d, "<memory model='" + d.attr("model") + "'> (a memory device) is not modelled:"
                            + " only the initial memory is");
                    case "hostdev" -> warn(d, "<hostdev> (device assignment) pins all guest RAM for DMA (VFIO): not modelled");
                    case "memballoon" -> {
                        if (d.attr("freePageReporting") != null && d.attr("freePageReporting").equals("on")) {
                            warn(d, "<memballoon freePageReporting='on'> returns free guest pages to the host: not modelled");
                        }
                    }
                    default -> { }
                }
            }
        }
    }
}
