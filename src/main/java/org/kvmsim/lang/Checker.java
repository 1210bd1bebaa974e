package org.kvmsim.lang;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.kvmsim.lang.Syntax.*;
import org.kvmsim.lang.libvirt.DomainImport;
import org.kvmsim.model.Backing;
import org.kvmsim.model.ByteSize;
import org.kvmsim.model.Content;
import org.kvmsim.model.ContentsSpec;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.CpuSet;
import org.kvmsim.model.Declaration;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.HugePagePool;
import org.kvmsim.model.Image;
import org.kvmsim.pages.BadDump;
import org.kvmsim.pages.PageFile;
import org.kvmsim.pages.PageImage;
import org.kvmsim.model.KhugepagedSysfs;
import org.kvmsim.model.KsmPolicy;
import org.kvmsim.model.PageTableSpec;
import org.kvmsim.model.Machine;
import org.kvmsim.model.Paging;
import org.kvmsim.model.Pattern;
import org.kvmsim.model.ShowArgs;
import org.kvmsim.model.Statement;
import org.kvmsim.model.ThpMode;
import org.kvmsim.model.Vm;
import org.kvmsim.model.Workload;

/**
 * Syntax to checked statements. Resolves every name against the declarations made so far (the
 * session's, then the script's own, in order), reads every value in its unit, and checks ranges
 * and references. It collects every error it can find rather than stopping at the first.
 */
public final class Checker {

    /** `run until` gives up after this much simulated time unless the script says `within D`. */
    public static final long DEFAULT_UNTIL_BOUND_NS = 3_600_000_000_000L;

    private static final long KIB4 = 4096, MIB2 = 2L << 20, GIB1 = 1L << 30;
    /** Hosts must be smaller than this: host frames are Java ints (at most 2^31 - 1 of 4 KiB). */
    public static final long MAX_HOST_BYTES = 8L << 40;

    private final Declarations scope;
    private final Diagnostics diags;
    private final Values values;
    private final Set<String> brokenNames;
    private final List<ShowSyntax> shows;
    /** Where relative file names resolve in a source that is not a file. */
    private final Path folder;

    /**
     * Checks against a copy of {@code declared}; the caller's declarations are not changed.
     * {@code brokenNames}: names written in statements that did not parse; not reported as
     * unknown. {@code shows}: the forms `show` takes, in the order help lists them.
     */
    public Checker(Declarations declared, Diagnostics diags, Set<String> brokenNames,
                   List<? extends ShowSyntax> shows) {
        this(declared, diags, brokenNames, shows, null);
    }

    /** The same, with {@code folder} where relative file names resolve in a source that is not a file (null: the working directory). */
    public Checker(Declarations declared, Diagnostics diags, Set<String> brokenNames,
                   List<? extends ShowSyntax> shows, Path folder) {
        this.folder = folder == null ? Path.of("") : folder;
        this.brokenNames = new HashSet<>(brokenNames);
        this.scope = declared.copy();
        this.diags = diags;
        this.values = new Values(diags);
        this.shows = List.copyOf(shows);
    }

    /** The declarations as they stand after the statements checked so far. */
    public Declarations scope() {
        return scope;
    }

    public List<Statement> check(Script script) {
        return statements(script.statements());
    }

    private List<Statement> statements(List<Stmt> stmts) {
        List<Statement> out = new ArrayList<>();
        for (Stmt s : stmts) {
            if (s instanceof ImportLibvirt im) {
                out.addAll(importLibvirt(im));
                continue;
            }
            Statement c = statement(s);
            if (c != null) out.add(c);
        }
        return out;
    }

    private Statement statement(Stmt s) {
        if (s instanceof KsmPolicyDecl d) return declare(ksmPolicy(d), d.span(), d.name());
        if (s instanceof HostDecl d) return declare(host(d), d.span(), d.name());
        if (s instanceof ImageDecl d) return declare(image(d), d.span(), d.name());
        if (s instanceof VmDecl d) return declare(vm(d), d.span(), d.name());
        if (s instanceof WorkloadDecl d) return declare(workload(d), d.span(), d.name());
        if (s instanceof PagetableDecl d) return declare(pagetable(d), d.span(), d.name());
        if (s instanceof ContentsDecl d) return declare(contents(d), d.span(), null);
        if (s instanceof RunFor r) return runFor(r);
        if (s instanceof RunUntil r) return runUntil(r);
        if (s instanceof Write w) return write(w);
        if (s instanceof SetStmt st) return set(st);
        if (s instanceof Start st) return vmRef(st.vm()) == null ? null : new Statement.Start(st.vm().text(), st.span());
        if (s instanceof Stop st) return vmRef(st.vm()) == null ? null : new Statement.Stop(st.vm().text(), st.span());
        if (s instanceof Reset r) {
            if (r.what() != null) {
                if (!r.what().text().equals("mmu")) {
                    diags.error(r.what().span(), "reset takes nothing (the whole session) or mmu (every VM's MMU counters), not '"
                            + r.what().text() + "'", hintOr(Suggest.hint(r.what().text(), List.of("mmu")), "reset mmu"));
                    return null;
                }
                return new Statement.ResetMmu(r.span());
            }
            scope.clear();
            return new Statement.Reset(r.span());
        }
        if (s instanceof Sweep sw) return sweep(sw);
        if (s instanceof Show sh) return show(sh);
        if (s instanceof Plot p) return plot(p);
        if (s instanceof Export e) return export(e);
        Print p = (Print) s;
        return new Statement.Print(p.text().value(), p.span());
    }

    private Statement declare(Declaration d, Span span, Name name) {
        if (d == null) {
            // Later uses of a declaration that failed its checks are not errors of their own.
            if (name != null) brokenNames.add(name.text());
            return null;
        }
        scope.declare(d);
        return new Statement.Declare(d, span);
    }

    // --- blocks

    /**
     * The attributes of a block, checked against its schema: unknown names (with a suggestion of
     * a valid one), attributes given twice, and items that do not belong in this kind of block.
     */
    private Map<String, Attr> attributes(Block block, String kind, Map<String, Schema.Attr> schema,
                                         List<Nested> nestedOut, List<String> nestedKinds) {
        Map<String, Attr> out = new LinkedHashMap<>();
        if (block == null) return out;
        for (Item item : block.items()) {
            if (item instanceof Attr a) {
                String n = a.name().text();
                if (!schema.containsKey(n)) {
                    diags.error(a.name().span(), "unknown attribute '" + n + "' in " + kind,
                            hintOr(Suggest.hint(n, schema.keySet()), "attributes of " + kind + ": "
                                    + String.join(", ", schema.keySet())));
                } else if (out.containsKey(n)) {
                    diags.error(a.name().span(), "attribute '" + n + "' is set twice in this " + kind,
                            "first set at line " + out.get(n).span().line());
                } else {
                    out.put(n, a);
                }
            } else if (item instanceof Nested nb) {
                if (nestedKinds.contains(nb.kind().text())) {
                    nestedOut.add(nb);
                } else {
                    String hint = Suggest.hint(nb.kind().text(), nestedKinds);
                    diags.error(nb.kind().span(), "a " + kind + " has no '" + nb.kind().text() + "' block",
                            hintOr(hint, !nestedKinds.isEmpty() ? "a " + kind + " holds attributes and "
                                    + String.join(", ", nestedKinds) + " blocks" : "a " + kind + " holds attributes only"));
                }
            } else if (item instanceof PagesItem p) {
                diags.error(p.span(), "'pages' ranges belong in a contents block, not in a " + kind);
            } else {
                diags.error(item.span(), "'map' lines belong in a pagetable block, not in a " + kind);
            }
        }
        return out;
    }

    private static String hintOr(String a, String b) {
        return a != null ? a : b;
    }

    private Map<String, Attr> attributes(Block block, String kind) {
        return attributes(block, kind, Schema.of(kind), new ArrayList<>(), List.of());
    }

    /** Reads a checked attribute value of the schema's type; null (with a diagnostic) if bad. */
    private Object read(Schema.Attr spec, Value v, String host) {
        String what = spec.name();
        return switch (spec.type()) {
            case SIZE -> values.size(v, what);
            case DURATION -> values.duration(v, what);
            case PERCENT -> values.percent(v, what);
            case COUNT -> values.count(v, what, spec.min(), spec.max());
            case ON_OFF -> values.onOff(v, what);
            case CHOICE -> values.choice(v, what, spec.choices());
            case REF -> ref(v, spec.ref());
            case BACKING -> backing(v, host);
            case PATTERN -> pattern(v);
            case PAGE_SIZE -> pageSize(v, what);
            case NUMBER -> values.decimal(v, what);
            case STRING -> string(v, what);
            case CPUSET -> cpuSet(v, what);
            case CPUSET_LIST -> cpuSets(v, what);
            case FILES -> files(v, what);
        };
    }

    private static final String CPUSET_HINT = "libvirt's cpuset syntax: CPU numbers and ranges separated by commas,"
            + " ^N leaving CPU N out, in a string: \"0-3,^2,6\"";

    /** A cpuset: a string in libvirt's syntax, or one CPU's number. */
    private CpuSet cpuSet(Value v, String what) {
        if (v.atoms().size() != 1 || !(v.atoms().get(0) instanceof Str || v.atoms().get(0) instanceof Num)) {
            diags.error(v.span(), what + " takes host CPUs as a string, not '" + v.text() + "'", CPUSET_HINT);
            return null;
        }
        Atom a = v.atoms().get(0);
        String text = a instanceof Str str ? str.value() : a.text();
        try {
            return CpuSet.parse(text);
        } catch (IllegalArgumentException e) {
            diags.error(a.span(), e.getMessage(), text.isBlank() || !e.getMessage().startsWith("Invalid")
                    ? CPUSET_HINT : "the set leaves out every CPU it names");
            return null;
        }
    }

    /** vcpupin's list: one cpuset per vCPU, from vCPU 0. */
    private List<CpuSet> cpuSets(Value v, String what) {
        if (v.atoms().size() != 1 || !(v.atoms().get(0) instanceof ListAtom list)) {
            diags.error(v.span(), what + " takes a list of cpusets, one per vCPU from vCPU 0, not '" + v.text() + "'",
                    "for example: " + what + " = [\"2\", \"3-4\"] pins vCPU 0 to CPU 2 and vCPU 1 to CPUs 3 and 4");
            return null;
        }
        List<CpuSet> out = new ArrayList<>();
        boolean ok = true;
        for (Value item : list.items()) {
            CpuSet c = cpuSet(item, what + " entry");
            if (c == null) ok = false;
            else out.add(c);
        }
        return ok ? out : null;
    }

    /**
     * A cpuset must name CPUs the host has, when it says how many it has. {@code what} says which
     * set it is ("cpuset \"0-8\"").
     */
    private boolean onHostCpus(Host h, CpuSet set, String what, Span span) {
        if (h.cpus() == 0 || set.max() < h.cpus()) return true;
        diags.error(span, what + " names CPU " + set.max() + ", but host " + h.name() + " has "
                + h.cpus() + (h.cpus() == 1 ? " CPU (0)" : " CPUs (0-" + (h.cpus() - 1) + ")"),
                "give the host more CPUs (cpus = N) or name CPUs below " + h.cpus());
        return false;
    }

    /** A cpuset as written, in quotes: the string, or its canonical form when it was not written here. */
    private static String written(Value v, CpuSet set) {
        if (v == null) return "\"" + set + "\"";
        return v.atoms().get(0) instanceof Str ? v.text() : "\"" + v.text() + "\"";
    }

    /**
     * Where a VM's vCPUs run must fit its host and its vCPUs: {@code cpusetValue} and
     * {@code pinValue} are the values written (null when inherited: then {@code fallback} is the
     * span).
     */
    private boolean placementOk(Host h, String vm, long vcpus, CpuSet cpuset, List<CpuSet> pins, Value cpusetValue,
                                Value pinValue, Span fallback) {
        boolean ok = true;
        if (cpuset != null) {
            ok &= onHostCpus(h, cpuset, "cpuset " + written(cpusetValue, cpuset),
                    cpusetValue != null ? cpusetValue.span() : fallback);
        }
        List<Value> items = pinValue != null && pinValue.atoms().get(0) instanceof ListAtom l ? l.items() : null;
        for (int i = 0; i < pins.size(); i++) {
            Value item = items != null && i < items.size() ? items.get(i) : null;
            ok &= onHostCpus(h, pins.get(i), "vcpupin " + written(item, pins.get(i)) + " of vCPU " + i,
                    item != null ? item.span() : fallback);
        }
        if (pins.size() > vcpus) {
            diags.error(pinValue != null ? pinValue.span() : fallback, "vcpupin pins " + pins.size() + " vCPUs, but vm '"
                    + vm + "' has " + vcpus + " (vcpus = " + vcpus + ")", "entry i pins vCPU i; give one entry per vCPU at most");
            ok = false;
        }
        return ok;
    }

    /** A file name, or a list of them: each with the span it was written at. */
    private List<Map.Entry<String, Span>> files(Value v, String what) {
        if (v.atoms().size() == 1 && v.atoms().get(0) instanceof ListAtom list) {
            if (list.items().isEmpty()) {
                diags.error(v.span(), what + " takes at least one file", "for example: " + what + " = [\"t0.xz\", \"t1.xz\"]");
                return null;
            }
            List<Map.Entry<String, Span>> out = new ArrayList<>();
            boolean ok = true;
            for (Value item : list.items()) {
                if (item.atoms().size() == 1 && item.atoms().get(0) instanceof Str s) out.add(Map.entry(s.value(), item.span()));
                else {
                    diags.error(item.span(), what + " lists file names in strings, not '" + item.text() + "'");
                    ok = false;
                }
            }
            return ok ? out : null;
        }
        String one = string(v, what);
        return one == null ? null : List.of(Map.entry(one, v.span()));
    }

    private String string(Value v, String what) {
        if (v.atoms().size() == 1 && v.atoms().get(0) instanceof Str s) return s.value();
        if (v.atoms().size() == 1 && v.atoms().get(0) instanceof Word w) return w.text();
        diags.error(v.span(), what + " takes a name or a string, not '" + v.text() + "'");
        return null;
    }

    private String ref(Value v, String kind) {
        if (v.atoms().size() != 1 || !(v.atoms().get(0) instanceof Word w)) {
            diags.error(v.span(), "expected the name of a " + kind + ", not '" + v.text() + "'");
            return null;
        }
        Map<String, ?> known = switch (kind) {
            case "ksm policy" -> scope.policies;
            case "image" -> scope.images;
            case "host" -> scope.hosts;
            default -> scope.vms;
        };
        if (!known.containsKey(w.text())) {
            unknown(kind, new Name(w.text(), w.span()), known.keySet());
            return null;
        }
        return w.text();
    }

    private void unknown(String kind, Name name, Collection<String> known) {
        if (brokenNames.contains(name.text())) return;
        String hint = Suggest.hint(name.text(), known);
        if (hint == null && !known.isEmpty()) {
            hint = "declared " + kind + (known.size() > 1 ? "s" : "") + ": " + String.join(", ", known);
        } else if (hint == null) {
            hint = "no " + kind + " is declared yet; declare it before it is used";
        }
        diags.error(name.span(), "unknown " + kind + " '" + name.text() + "'", hint);
    }

    private Long pageSize(Value v, String what) {
        Long s = values.size(v, what);
        if (s == null) return null;
        if (s != KIB4 && s != MIB2 && s != GIB1) {
            diags.error(v.span(), what + " must be 4 KiB, 2 MiB or 1 GiB (x86-64 page sizes), not " + v.text());
            return null;
        }
        return s;
    }

    private Backing backing(Value v, String host) {
        List<Atom> atoms = v.atoms();
        Atom first = atoms.get(0);
        List<String> kinds = Schema.BACKINGS;
        if (!(first instanceof Word w) || !kinds.contains(w.text())) {
            diags.error(first.span(), "unknown backing '" + first.text() + "'; expected anonymous | thp | hugepages POOL",
                    Suggest.hint(first.text(), kinds));
            return null;
        }
        if (!w.text().equals("hugepages")) {
            if (atoms.size() > 1) {
                diags.error(atoms.get(1).span(), "unexpected '" + atoms.get(1).text() + "' after '" + w.text() + "'");
                return null;
            }
            return w.text().equals("thp") ? Backing.THP : Backing.ANONYMOUS;
        }
        if (atoms.size() != 2 || !(atoms.get(1) instanceof Word pool)) {
            diags.error(v.span(), "'hugepages' takes the name of a pool of the VM's host: hugepages POOL");
            return null;
        }
        var h = host == null ? null : scope.hosts.get(host);
        if (h != null && h.pool(pool.text()) == null) {
            List<String> pools = h.pools().stream().map(HugePagePool::name).toList();
            String hint = Suggest.hint(pool.text(), pools);
            diags.error(pool.span(), "host '" + host + "' has no hugepages pool '" + pool.text() + "'",
                    hintOr(hint, pools.isEmpty() ? "declare one in the host: hugepages " + pool.text()
                            + " { page_size = 2 MiB; count = N }" : "pools of " + host + ": " + String.join(", ", pools)));
            return null;
        }
        return Backing.hugepages(pool.text());
    }

    private Pattern pattern(Value v) {
        List<String> kinds = Schema.PATTERNS;
        if (v.atoms().size() != 1) {
            diags.error(v.span(), "pattern takes one value, not '" + v.text() + "'");
            return null;
        }
        Atom a = v.atoms().get(0);
        String name;
        List<Value> args;
        if (a instanceof Word w) {
            name = w.text();
            args = List.of();
        } else if (a instanceof Call c) {
            name = c.name().text();
            args = c.args();
        } else {
            diags.error(a.span(), "pattern takes uniform | sequential | strided(SIZE) | zipf(ALPHA) | hotcold(F, P)");
            return null;
        }
        if (!kinds.contains(name)) {
            diags.error(a.span(), "unknown pattern '" + name + "'; expected uniform | sequential | strided(SIZE) | "
                    + "zipf(ALPHA) | hotcold(FRACTION, PROBABILITY)", Suggest.hint(name, kinds));
            return null;
        }
        int want = switch (name) {
            case "strided", "zipf" -> 1;
            case "hotcold" -> 2;
            default -> 0;
        };
        if (args.size() != want) {
            String form = switch (name) {
                case "strided" -> "strided(SIZE), e.g. strided(64 KiB)";
                case "zipf" -> "zipf(ALPHA), e.g. zipf(0.99)";
                case "hotcold" -> "hotcold(HOT_FRACTION, HOT_PROBABILITY), e.g. hotcold(10%, 90%)";
                default -> name + " (no arguments)";
            };
            diags.error(a.span(), "pattern " + name + " takes " + want + " argument" + (want == 1 ? "" : "s")
                    + ": " + form);
            return null;
        }
        return switch (name) {
            case "uniform" -> new Pattern(Pattern.Kind.UNIFORM, 0, 0);
            case "sequential" -> new Pattern(Pattern.Kind.SEQUENTIAL, 0, 0);
            case "strided" -> {
                Long s = values.size(args.get(0), "stride");
                if (s != null && s <= 0) {
                    diags.error(args.get(0).span(), "stride must be larger than 0");
                    yield null;
                }
                yield s == null ? null : new Pattern(Pattern.Kind.STRIDED, s, 0);
            }
            case "zipf" -> {
                Double alpha = values.decimal(args.get(0), "zipf's alpha");
                if (alpha != null && (alpha <= 0 || alpha > 10)) {
                    diags.error(args.get(0).span(), "zipf's alpha must be above 0 and at most 10, not " + args.get(0).text());
                    yield null;
                }
                yield alpha == null ? null : new Pattern(Pattern.Kind.ZIPF, alpha, 0);
            }
            default -> {
                Double f = fraction(args.get(0), "hot fraction"), p = fraction(args.get(1), "hot probability");
                yield f == null || p == null ? null : new Pattern(Pattern.Kind.HOTCOLD, f, p);
            }
        };
    }

    /** "10%" or "0.1": a share between 0 and 1. */
    private Double fraction(Value v, String what) {
        if (v.atoms().size() == 1 && v.atoms().get(0) instanceof Percent) {
            Double p = values.percent(v, what);
            return p == null ? null : p / 100;
        }
        Double d = values.decimal(v, what);
        if (d != null && (d < 0 || d > 1)) {
            diags.error(v.span(), what + " must be between 0 and 1 (or 0% and 100%), not " + v.text());
            return null;
        }
        return d;
    }

    // --- declarations

    private KsmPolicy ksmPolicy(KsmPolicyDecl d) {
        Map<String, Attr> attrs = attributes(d.body(), "ksm policy");
        Map<String, Long> knobs = new TreeMap<>(Schema.KSM_DEFAULTS);
        boolean ok = true;
        for (Attr a : attrs.values()) {
            Long v = knobValue(a.name().text(), a.value());
            if (v == null) ok = false;
            else knobs.put(Schema.ksmKnob(a.name().text()), v);
        }
        return ok ? new KsmPolicy(d.name().text(), knobs) : null;
    }

    /** A KSM knob's value as sysfs holds it: durations in ms (seconds for the advisor's target). */
    private Long knobValue(String attribute, Value v) {
        Schema.Attr spec = Schema.KSM_POLICY.get(attribute);
        Object o = read(spec, v, null);
        if (o == null) return null;
        return switch (spec.type()) {
            case DURATION -> {
                long ns = (Long) o;
                long unit = attribute.equals("advisor_target_scan_time") ? 1_000_000_000L : 1_000_000L;
                if (ns % unit != 0) {
                    diags.error(v.span(), attribute + " is kept in " + (unit == 1_000_000L ? "milliseconds" : "seconds")
                            + " as in sysfs; " + v.text() + " is not a whole number of them");
                    yield null;
                }
                if (attribute.equals("sleep") && ns == 0) yield 0L;
                yield ns / unit;
            }
            case ON_OFF -> (Boolean) o ? 1L : 0L;
            case PERCENT -> Math.round((Double) o);
            case CHOICE -> o.equals("scan-time") ? 1L : 0L;
            default -> (Long) o;
        };
    }

    private Host host(HostDecl d) {
        List<Nested> nested = new ArrayList<>();
        Map<String, Attr> attrs = attributes(d.body(), "host", Schema.HOST, nested, Schema.HOST_BLOCKS);
        List<Nested> poolBlocks = new ArrayList<>();
        Map<String, Long> overrides = new TreeMap<>();
        Map<String, Attr> overrideAttrs = new TreeMap<>();
        boolean overridesOk = true;
        for (Nested nb : nested) {
            if (nb.kind().text().equals("hugepages")) {
                poolBlocks.add(nb);
                continue;
            }
            for (Attr a : attributes(nb.body(), "cpu_overrides").values()) {
                Object v = read(Schema.CPU_OVERRIDES.get(a.name().text()), a.value(), null);
                if (v == null) overridesOk = false;
                else overrides.put(a.name().text(), v instanceof Boolean b ? (b ? 1L : 0L) : (Long) v);
                overrideAttrs.put(a.name().text(), a);
            }
        }
        Long memory = required(attrs, "memory", d.name(), "host", Schema.HOST, null);
        String cpu = (String) optional(attrs, "cpu", Schema.HOST, null, "skylake");
        String thp = (String) optional(attrs, "thp", Schema.HOST, null, "madvise");
        String ksm = (String) optional(attrs, "ksm", Schema.HOST, null, null);
        Long nodes = (Long) optional(attrs, "numa_nodes", Schema.HOST, null, 1L);
        // 0: not given, one CPU per vCPU of the host's VMs
        Long cpus = (Long) optional(attrs, "cpus", Schema.HOST, null, 0L);
        if (memory != null && memory % KIB4 != 0) {
            diags.error(attrs.get("memory").value().span(), "host memory must be a whole number of 4 KiB pages");
            memory = null;
        } else if (memory != null && (memory >= MAX_HOST_BYTES || memory < (1L << 20))) {
            // Host frames are numbered with Java ints (2^31 frames of 4 KiB).
            diags.error(attrs.get("memory").value().span(), "host memory must be at least 1 MiB and less than 8 TiB, not "
                    + new ByteSize(memory));
            memory = null;
        }
        List<HugePagePool> pools = new ArrayList<>();
        Map<String, Nested> seen = new LinkedHashMap<>();
        long poolBytes = 0;
        Map<Integer, Long> nodeBytes = new TreeMap<>();
        boolean poolsOk = true;
        for (Nested nb : poolBlocks) {
            if (nb.label() == null) {
                diags.error(nb.kind().span(), "a hugepages pool needs a name: hugepages NAME { ... }");
                poolsOk = false;
                continue;
            }
            if (seen.containsKey(nb.label().text())) {
                diags.error(nb.label().span(), "hugepages pool '" + nb.label().text() + "' is declared twice in this host",
                        "first declared at line " + seen.get(nb.label().text()).span().line());
                poolsOk = false;
                continue;
            }
            seen.put(nb.label().text(), nb);
            Map<String, Attr> pa = attributes(nb.body(), "hugepages", Schema.HUGEPAGES, new ArrayList<>(), List.of());
            Long size = required(pa, "page_size", nb.label(), "hugepages pool", Schema.HUGEPAGES, null);
            Long count = (Long) optional(pa, "count", Schema.HUGEPAGES, null, 0L);
            Long over = (Long) optional(pa, "overcommit", Schema.HUGEPAGES, null, 0L);
            // -1: no node given, interleaved as vm.nr_hugepages allocates
            Long node = (Long) optional(pa, "node", Schema.HUGEPAGES, null, -1L);
            if (size != null && size == KIB4) {
                diags.error(pa.get("page_size").value().span(), "a hugepages pool's page_size must be 2 MiB or 1 GiB");
                size = null;
            }
            if (size == null || count == null || over == null || node == null) {
                poolsOk = false;
                continue;
            }
            if (nodes != null && node >= nodes) {
                diags.error(pa.get("node").value().span(), "host '" + d.name().text() + "' has " + nodes
                        + " NUMA node" + (nodes == 1 ? "" : "s") + "; node " + node + " does not exist");
                poolsOk = false;
                continue;
            }
            long bytes = Math.multiplyHigh(size, count) != 0 ? Long.MAX_VALUE / 2 : size * count;
            poolBytes += bytes;
            if (node >= 0) nodeBytes.merge(node.intValue(), bytes, Long::sum);
            pools.add(new HugePagePool(nb.label().text(), size, count, over, node.intValue()));
        }
        if (memory != null && poolsOk && poolBytes > memory) {
            diags.error(d.name().span(), "the hugepages pools of host '" + d.name().text() + "' need "
                    + new ByteSize(poolBytes) + ", more than its memory ("
                    + new ByteSize(memory) + ")");
            return null;
        }
        if (memory != null && poolsOk && nodes != null) {
            // a node's pools come from that node's share of the memory (split evenly)
            long perNode = memory / nodes;
            for (Map.Entry<Integer, Long> e : nodeBytes.entrySet()) {
                if (e.getValue() > perNode) {
                    diags.error(d.name().span(), "the hugepages pools on node " + e.getKey() + " of host '" + d.name().text()
                            + "' need " + new ByteSize(e.getValue()) + ", more than the node's memory ("
                            + new ByteSize(perNode) + ")");
                    return null;
                }
            }
        }
        if (cpu != null && overridesOk && !overrides.isEmpty()) {
            // the preset with its overrides must still make buildable caches: said here, at the
            // override, not when the first run builds the CPU
            for (CpuModel.GeometryProblem p : CpuModel.preset(cpu).with(overrides).geometryProblems()) {
                Attr at = p.knobs().stream().map(overrideAttrs::get).filter(Objects::nonNull).findFirst().orElse(null);
                if (at != null) {
                    diags.error(at.value().span(), p.message());
                    overridesOk = false;
                }
            }
        }
        if (memory == null || cpu == null || thp == null || nodes == null || cpus == null || !poolsOk || !overridesOk
                || (attrs.containsKey("ksm") && ksm == null)) {
            return null;
        }
        KsmPolicy policy = ksm == null ? null : scope.policies.get(ksm);
        Host h = new Host(d.name().text(), memory, cpu, ThpMode.of(thp),
                policy, nodes.intValue(), pools, overrides, cpus.intValue());
        // the VMs declared on a host declared again must still find their CPUs on it
        boolean placed = true;
        for (Vm vm : scope.vms.values()) {
            if (!vm.host().equals(h.name())) continue;
            Span at = attrs.containsKey("cpus") ? attrs.get("cpus").value().span() : d.name().span();
            if (vm.cpuset() != null) {
                placed &= onHostCpus(h, vm.cpuset(), "cpuset \"" + vm.cpuset() + "\" of vm '" + vm.name() + "'", at);
            }
            for (int i = 0; i < vm.vcpupin().size(); i++) {
                placed &= onHostCpus(h, vm.vcpupin().get(i), "vcpupin \"" + vm.vcpupin().get(i) + "\" of vCPU " + i
                        + " of vm '" + vm.name() + "'", at);
            }
        }
        return placed ? h : null;
    }

    private Long required(Map<String, Attr> attrs, String name, Name owner, String kind, Map<String, Schema.Attr> schema,
                          String host) {
        Attr a = attrs.get(name);
        if (a == null) {
            diags.error(owner.span(), kind + " '" + owner.text() + "' needs " + name + " = ...",
                    "for example: " + name + " = " + example(schema.get(name)));
            return null;
        }
        return (Long) read(schema.get(name), a.value(), host);
    }

    private static String example(Schema.Attr spec) {
        return switch (spec.type()) {
            case SIZE -> spec.name().equals("footprint") ? "256 MiB" : "2 GiB";
            case PAGE_SIZE -> "2 MiB";
            default -> "...";
        };
    }

    /** The attribute's checked value, {@code fallback} if absent, null (with a diagnostic) if bad. */
    private Object optional(Map<String, Attr> attrs, String name, Map<String, Schema.Attr> schema, String host,
                            Object fallback) {
        Attr a = attrs.get(name);
        return a == null ? fallback : read(schema.get(name), a.value(), host);
    }

    private Image image(ImageDecl d) {
        Map<String, Attr> attrs = attributes(d.body(), "image");
        if (attrs.containsKey("from")) return pageImage(d, attrs);
        if (attrs.containsKey("dump")) {
            diags.error(attrs.get("dump").span(), "'dump' picks a dump of an image's page file", "add from = \"FILE.pages\"");
            return null;
        }
        Long footprint = required(attrs, "footprint", d.name(), "image", Schema.IMAGE, null);
        Double shared = (Double) optional(attrs, "shared", Schema.IMAGE, null, 0.0);
        Double zero = (Double) optional(attrs, "zero", Schema.IMAGE, null, 0.0);
        if (shared != null && zero != null && shared + zero > 100) {
            diags.error(attrs.get("zero").value().span(), "shared and zero add up to " + fmt(shared + zero)
                    + "% of the image; together they can be at most 100%");
            return null;
        }
        if (footprint != null && footprint % KIB4 != 0) {
            diags.error(attrs.get("footprint").value().span(), "an image's footprint must be a whole number of 4 KiB pages");
            return null;
        }
        if (footprint == null || shared == null || zero == null) return null;
        return new Image(d.name().text(), footprint, shared, zero);
    }

    /**
     * `image NAME { from = "FILE.pages" }`: real guest memory, read now (relative to the script's
     * folder, as `import libvirt` resolves its file), so a bad file is an error at the attribute.
     */
    private Image pageImage(ImageDecl d, Map<String, Attr> attrs) {
        boolean ok = true;
        for (String synthetic : List.of("footprint", "shared", "zero")) {
            if (attrs.containsKey(synthetic)) {
                diags.error(attrs.get(synthetic).span(), "an image from a page file takes no '" + synthetic + "'",
                        "its pages, zero pages and the pages its guests share come from the file");
                ok = false;
            }
        }
        String written = (String) read(Schema.IMAGE.get("from"), attrs.get("from").value(), null);
        if (written == null || !ok) return null;
        Span at = attrs.get("from").value().span();
        Path file;
        try {
            file = scriptFolder(at).resolve(written);
        } catch (InvalidPathException e) {
            diags.error(at, "not a file name: '" + written.replace("\0", "\\0") + "'");
            return null;
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            diags.error(at, "no page file '" + written + "' (looked for " + file.toAbsolutePath() + ")",
                    "a relative name is relative to the script's folder; make one with `kvmsim image import DUMP... --out FILE.pages`");
            return null;
        }
        PageImage pages;
        try {
            pages = PageFile.readCached(file);
        } catch (BadDump b) {
            diags.error(at, "bad page file: " + b.render());
            return null;
        }
        String dump = attrs.containsKey("dump") ? (String) read(Schema.IMAGE.get("dump"), attrs.get("dump").value(), null) : null;
        if (attrs.containsKey("dump") && dump == null) return null;
        if (dump != null) {
            for (int g = 0; g < pages.guests().size(); g++) {
                final String tag = dump;
                if (pages.dumpsOf(g).stream().noneMatch(x -> x.tag().equals(tag))) {
                    java.util.Set<String> tags = new java.util.TreeSet<>();
                    for (PageImage.Dump x : pages.dumpsOf(g)) tags.add(x.tag());
                    diags.error(attrs.get("dump").value().span(), "guest '" + pages.guests().get(g) + "' of " + written
                            + " has no dump '" + dump + "'", "its dumps: " + String.join(", ", tags));
                    return null;
                }
            }
        } else if (attrs.containsKey("dump")) {
            return null;
        }
        Image img = new Image(d.name().text(), 0, 0, 0, written, pages, dump);
        long most = 0;
        int ram = pages.ramBlock();
        for (int g = 0; g < pages.guests().size(); g++) most = Math.max(most, PageImage.present(img.dumpOf(g).codes()[ram]));
        return new Image(d.name().text(), most * KIB4, 0, 0, written, pages, dump);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private Vm vm(VmDecl d) {
        return vm(d, null);
    }

    /** A VM declaration; {@code imported}, when given, is the base its block overrides (an import). */
    private Vm vm(VmDecl d, Vm imported) {
        Vm base = imported;
        if (d.base() != null) {
            base = scope.vms.get(d.base().text());
            if (base == null && d.base().text().equals(d.name().text())) {
                diags.error(d.base().span(), "vm '" + d.name().text() + "' cannot be like itself before it is declared");
                return null;
            }
            if (base == null) {
                unknown("vm", d.base(), scope.vms.keySet());
                return null;
            }
        }
        String host = d.host() != null ? d.host().text() : base != null ? base.host() : null;
        if (d.host() != null && !scope.hosts.containsKey(host)) {
            unknown("host", d.host(), scope.hosts.keySet());
            if (brokenNames.contains(host)) {
                // The host had errors of its own; still report this VM's, as far as they do not need it.
                for (Attr a : attributes(d.body(), "vm").values()) read(Schema.VM.get(a.name().text()), a.value(), null);
            }
            return null;
        }
        if (host == null) {
            diags.error(d.name().span(), "vm '" + d.name().text() + "' needs a host: vm " + d.name().text() + " on HOST { ... }",
                    scope.hosts.isEmpty() ? "declare a host first" : "declared hosts: " + String.join(", ", scope.hosts.keySet()));
            return null;
        }
        if (base == null && d.body() == null) {
            diags.error(d.name().span(), "vm '" + d.name().text() + "' needs a block { memory = ... } or `like VM`");
            return null;
        }
        Map<String, Attr> attrs = attributes(d.body(), "vm");
        Map<String, Schema.Attr> s = Schema.VM;
        Long memory = attrs.containsKey("memory") || base == null
                ? required(attrs, "memory", d.name(), "vm", s, host) : (Long) base.memory();
        Long vcpus = (Long) optional(attrs, "vcpus", s, host, base != null ? (long) base.vcpus() : 1L);
        String paging = (String) optional(attrs, "paging", s, host, base != null ? base.paging().word() : "ept");
        Backing backing = (Backing) optional(attrs, "backing", s, host, base != null ? base.backing() : Backing.ANONYMOUS);
        String image = attrs.containsKey("image") ? (String) read(s.get("image"), attrs.get("image").value(), host)
                : base != null ? base.image() : null;
        Long levels = (Long) optional(attrs, "levels", s, host, base != null ? (long) base.levels() : 4L);
        Boolean prealloc = (Boolean) optional(attrs, "prealloc", s, host, base != null && base.prealloc());
        Boolean reserve = (Boolean) optional(attrs, "reserve", s, host, base == null || base.reserve());
        Boolean merge = (Boolean) optional(attrs, "mem_merge", s, host, base == null || base.memMerge());
        Long node = (Long) optional(attrs, "node", s, host, base != null ? (long) base.node() : 0L);
        if (node != null && !nodeExists(host, node, attrs.containsKey("node") ? attrs.get("node").value().span() : d.name().span())) {
            node = null;
        }
        String guestThp = (String) optional(attrs, "guest_thp", s, host, base != null && base.guestThp() ? "always" : "never");
        CpuSet cpuset = attrs.containsKey("cpuset") ? (CpuSet) read(s.get("cpuset"), attrs.get("cpuset").value(), host)
                : base != null ? base.cpuset() : null;
        @SuppressWarnings("unchecked")
        List<CpuSet> vcpupin = (List<CpuSet>) optional(attrs, "vcpupin", s, host, base != null ? base.vcpupin() : List.of());
        Boolean pvTlbFlush = (Boolean) optional(attrs, "pv_tlb_flush", s, host, base == null || base.pvTlbFlush());
        Boolean pcid = (Boolean) optional(attrs, "pcid", s, host, base == null || base.pcid());
        String machine = (String) optional(attrs, "machine", s, host, base != null ? base.machine().word() : "pc");
        if (memory == null || vcpus == null || paging == null || backing == null || levels == null || prealloc == null
                || reserve == null || merge == null || node == null || guestThp == null
                || (attrs.containsKey("image") && image == null)
                || (attrs.containsKey("cpuset") && cpuset == null) || vcpupin == null || pvTlbFlush == null
                || pcid == null || machine == null) {
            return null;
        }
        if (!placementOk(scope.hosts.get(host), d.name().text(), vcpus, cpuset, vcpupin,
                attrs.containsKey("cpuset") ? attrs.get("cpuset").value() : null,
                attrs.containsKey("vcpupin") ? attrs.get("vcpupin").value() : null, d.name().span())) {
            return null;
        }
        // A like-copied hugepages backing must name a pool of the new host too.
        if (backing.kind() == Backing.Kind.HUGEPAGES && scope.hosts.get(host).pool(backing.pool()) == null) {
            diags.error(d.name().span(), "host '" + host + "' has no hugepages pool '" + backing.pool() + "'");
            return null;
        }
        Span memSpan = attrs.containsKey("memory") ? attrs.get("memory").value().span() : d.name().span();
        if (!vmMemoryOk(memory, backing, host, memSpan)) return null;
        if (image != null) {
            Image img = scope.images.get(image);
            long ramBytes = img.pages() == null ? 0 : (long) img.pages().blocks().get(img.pages().ramBlock()).pages() * KIB4;
            if (img.pages() != null && ramBytes > memory) {
                diags.error(attrs.containsKey("image") ? attrs.get("image").value().span() : d.name().span(),
                        "image '" + image + "' was dumped from guests of " + new ByteSize(ramBytes)
                                + " of RAM, more than the VM's memory (" + new ByteSize(memory) + ")",
                        "give the VM memory = " + new ByteSize(ramBytes) + ", as the real guests had");
                return null;
            }
            if (img.footprint() > memory) {
                diags.error(attrs.containsKey("image") ? attrs.get("image").value().span() : d.name().span(),
                        "image '" + image + "' has a footprint of " + new ByteSize(img.footprint())
                                + ", more than the VM's memory (" + new ByteSize(memory) + ")");
                return null;
            }
        }
        return new Vm(d.name().text(), host, memory, vcpus.intValue(), Paging.of(paging),
                backing, image, levels.intValue(), prealloc, reserve, merge, node.intValue(), guestThp.equals("always"),
                cpuset, vcpupin, pvTlbFlush, pcid, Machine.of(machine));
    }

    /** A VM's node must be one of its host's. */
    private boolean nodeExists(String host, long node, Span span) {
        int nodes = scope.hosts.get(host).numaNodes();
        if (node < nodes) return true;
        diags.error(span, "host '" + host + "' has " + nodes + " NUMA node" + (nodes == 1 ? "" : "s") + "; node " + node + " does not exist");
        return false;
    }

    /** Guest RAM must be a whole number of the backing's pages (QEMU refuses otherwise). */
    private boolean vmMemoryOk(long memory, Backing backing, String host, Span span) {
        if (memory <= 0) {
            diags.error(span, "a VM's memory must be larger than 0");
            return false;
        }
        long page = KIB4;
        if (backing.kind() == Backing.Kind.HUGEPAGES) page = scope.hosts.get(host).pool(backing.pool()).pageSize();
        if (memory % page != 0) {
            diags.error(span, "memory must be a multiple of the backing's page size ("
                    + new ByteSize(page) + "), not " + new ByteSize(memory));
            return false;
        }
        return true;
    }

    private Workload workload(WorkloadDecl d) {
        List<Workload.Target> targets = new ArrayList<>();
        boolean ok = true;
        for (Target t : d.targets()) {
            Vm vm = vmRef(t.vm());
            if (vm == null) {
                ok = false;
                continue;
            }
            if (t.pagetable() != null && !scope.pagetables.containsKey(vm.name() + "." + t.pagetable().text())) {
                unknown("pagetable of " + vm.name(), t.pagetable(), pagetablesOf(vm.name()));
                ok = false;
                continue;
            }
            targets.add(new Workload.Target(vm.name(), t.pagetable() == null ? null : t.pagetable().text()));
        }
        Map<String, Attr> attrs = attributes(d.body(), "workload");
        Map<String, Schema.Attr> s = Schema.WORKLOAD;
        if (attrs.containsKey("trace")) return traceWorkload(d, targets, attrs, ok);
        for (String only : List.of("format", "limit", "repeat")) {
            if (attrs.containsKey(only)) {
                diags.error(attrs.get(only).span(), "'" + only + "' belongs to a trace workload", "add trace = \"FILE\"");
                ok = false;
            }
        }
        Pattern pattern = (Pattern) optional(attrs, "pattern", s, null, new Pattern(Pattern.Kind.UNIFORM, 0, 0));
        boolean allPagetables = !targets.isEmpty() && targets.stream().allMatch(t -> t.pagetable() != null);
        Long footprint = attrs.containsKey("footprint") || !allPagetables
                ? required(attrs, "footprint", d.name(), "workload", s, null) : Long.valueOf(0L);
        Long accesses = (Long) optional(attrs, "accesses", s, null, 0L);
        Double writes = (Double) optional(attrs, "writes", s, null, 0.0);
        Long seed = (Long) optional(attrs, "seed", s, null, 0L);
        // 0: not given, one thread per vCPU of each target VM
        Long threads = (Long) optional(attrs, "threads", s, null, 0L);
        if (!ok || pattern == null || footprint == null || accesses == null || writes == null || seed == null
                || threads == null) {
            return null;
        }
        if (footprint % KIB4 != 0 || (footprint == 0 && attrs.containsKey("footprint"))) {
            diags.error(attrs.get("footprint").value().span(), "a workload's footprint must be a positive whole number of 4 KiB pages");
            return null;
        }
        for (Workload.Target t : targets) {
            Vm vm = scope.vms.get(t.vm());
            if (t.pagetable() == null && footprint > vm.memory()) {
                diags.error(attrs.get("footprint").value().span(), "footprint " + new ByteSize(footprint)
                        + " is larger than vm '" + vm.name() + "' (" + new ByteSize(vm.memory()) + ")");
                return null;
            }
        }
        return new Workload(d.name().text(), targets, pattern, footprint, accesses, writes, seed, threads.intValue());
    }

    /**
     * A workload replaying a trace: each file resolved against the script's folder (as `import
     * libvirt` resolves its file) and present now; the attributes of a synthetic workload refused,
     * since the trace gives its addresses, writes and threads (one per file).
     */
    @SuppressWarnings("unchecked")
    private Workload traceWorkload(WorkloadDecl d, List<Workload.Target> targets, Map<String, Attr> attrs, boolean ok) {
        Map<String, Schema.Attr> s = Schema.WORKLOAD;
        for (String synthetic : List.of("pattern", "footprint", "writes", "seed", "threads")) {
            if (attrs.containsKey(synthetic)) {
                diags.error(attrs.get(synthetic).span(), "a trace workload takes no '" + synthetic + "'",
                        synthetic.equals("threads") ? "a trace file is one thread's accesses: thread i replays file i of"
                                + " trace = [...] on vCPU i mod vcpus"
                                : "its addresses and writes come from the trace");
                ok = false;
            }
        }
        for (Workload.Target t : targets) {
            if (t.pagetable() != null) {
                diags.error(d.span(), "a trace replays in the VM's default address space, not on pagetable '" + t + "'");
                ok = false;
            }
        }
        List<Map.Entry<String, Span>> files = (List<Map.Entry<String, Span>>) optional(attrs, "trace", s, null, null);
        String format = (String) optional(attrs, "format", s, null, "lackey");
        Long limit = (Long) optional(attrs, "limit", s, null, 0L);
        Long repeat = (Long) optional(attrs, "repeat", s, null, 1L);
        Long accesses = (Long) optional(attrs, "accesses", s, null, 0L);
        if (!ok || files == null || format == null || limit == null || repeat == null || accesses == null) return null;
        if (files.size() > 4096) {
            diags.error(attrs.get("trace").value().span(), "a trace of " + files.size() + " threads; at most 4096");
            return null;
        }
        List<Workload.Trace> traces = new ArrayList<>();
        for (Map.Entry<String, Span> f : files) {
            String written = f.getKey();
            Span at = f.getValue();
            Path file;
            try {
                file = scriptFolder(at).resolve(written);
            } catch (InvalidPathException e) {
                diags.error(at, "not a file name: '" + written.replace("\0", "\\0") + "'");
                ok = false;
                continue;
            }
            if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
                diags.error(at, "no trace file '" + written + "' (looked for " + file.toAbsolutePath() + ")",
                        "a relative name is relative to the script's folder");
                ok = false;
                continue;
            }
            traces.add(new Workload.Trace(file.toAbsolutePath().toString(), written,
                    Workload.Trace.Format.valueOf(format.toUpperCase(java.util.Locale.ROOT)), limit, repeat));
        }
        if (!ok) return null;
        return new Workload(d.name().text(), targets, new Pattern(Pattern.Kind.UNIFORM, 0, 0), 0, accesses, 0, 0,
                traces.size(), traces);
    }

    private List<String> pagetablesOf(String vm) {
        List<String> out = new ArrayList<>();
        for (PageTableSpec p : scope.pagetables.values()) if (p.vm().equals(vm)) out.add(p.name());
        return out;
    }

    private PageTableSpec pagetable(PagetableDecl d) {
        Vm vm = vmRef(d.vm());
        if (vm == null) return null;
        List<PageTableSpec.Mapping> maps = new ArrayList<>();
        long total = 0;
        boolean ok = true;
        long limit = vm.levels() == 5 ? 1L << 56 : 1L << 47;
        if (d.body() != null) {
            for (Item item : d.body().items()) {
                if (!(item instanceof MapItem m)) {
                    diags.error(item.span(), "a pagetable holds `map ADDR size SIZE page PAGE_SIZE` lines");
                    ok = false;
                    continue;
                }
                Long gva = values.address(m.address(), "map");
                Long size = values.size(m.size(), "size");
                Long page = pageSize(m.page(), "page");
                if (gva == null || size == null || page == null) {
                    ok = false;
                    continue;
                }
                if (size <= 0 || size % page != 0) {
                    diags.error(m.size().span(), "size must be a positive multiple of the page size ("
                            + new ByteSize(page) + ")");
                    ok = false;
                } else if (gva % page != 0) {
                    diags.error(m.address().span(), String.format("address 0x%x is not aligned to the page size (%s)",
                            gva, new ByteSize(page)));
                    ok = false;
                } else if (Long.compareUnsigned(gva, limit) >= 0 || Long.compareUnsigned(gva + size, limit) > 0
                        || gva + size < gva) {
                    diags.error(m.address().span(), String.format(Locale.ROOT,
                            "address range 0x%x + %s lies outside the %d-bit lower half that %d-level paging maps",
                            gva, new ByteSize(size), vm.levels() == 5 ? 57 : 48, vm.levels()),
                            vm.levels() == 4 ? "give the VM levels = 5 for addresses above 0x7fff_ffff_ffff" : null);
                    ok = false;
                } else {
                    for (PageTableSpec.Mapping o : maps) {
                        if (gva < o.gva() + o.size() && o.gva() < gva + size) {
                            diags.error(m.span(), String.format("mapping at 0x%x overlaps the mapping at 0x%x", gva, o.gva()));
                            ok = false;
                        }
                    }
                    maps.add(new PageTableSpec.Mapping(gva, size, page));
                    total += size;
                }
            }
        }
        if (ok && total > vm.memory()) {
            diags.error(d.span(), "pagetable '" + d.name().text() + "' maps " + new ByteSize(total)
                    + ", more than vm '" + vm.name() + "' has (" + new ByteSize(vm.memory()) + ")");
            return null;
        }
        return ok ? new PageTableSpec(d.name().text(), vm.name(), maps) : null;
    }

    private ContentsSpec contents(ContentsDecl d) {
        Vm vm = vmRef(d.vm());
        if (vm == null) return null;
        List<ContentsSpec.Fill> fills = new ArrayList<>();
        boolean ok = true;
        for (Item item : d.body().items()) {
            if (!(item instanceof PagesItem p)) {
                diags.error(item.span(), "a contents block holds `pages A .. B = CONTENT` lines");
                ok = false;
                continue;
            }
            long[] range = pageRange(p.range(), vm);
            Content c = content(p.value());
            if (range == null || c == null) {
                ok = false;
                continue;
            }
            fills.add(new ContentsSpec.Fill(range[0], range[1], c));
        }
        return ok ? new ContentsSpec(vm.name(), fills) : null;
    }

    private long[] pageRange(PageRange r, Vm vm) {
        long pages = vm.memory() / KIB4;
        Long from = values.integer(r.from(), "a page number", 0, Long.MAX_VALUE);
        Long to = values.integer(r.to(), "a page number", 0, Long.MAX_VALUE);
        if (from == null || to == null) return null;
        if (from > to) {
            diags.error(r.span(), "page range " + from + " .. " + to + " is empty: the first page comes after the last");
            return null;
        }
        if (to >= pages) {
            diags.error(r.to().span(), "page " + to + " is outside vm '" + vm.name() + "', whose "
                    + new ByteSize(vm.memory()) + " are pages 0 .. " + (pages - 1));
            return null;
        }
        return new long[] {from, to};
    }

    /** `same N | zero | unique | image NAME | changing every D`. */
    private Content content(Value v) {
        List<Atom> a = v.atoms();
        List<String> kinds = Schema.CONTENTS;
        if (!(a.get(0) instanceof Word w) || !kinds.contains(w.text())) {
            diags.error(a.get(0).span(), "unknown content '" + a.get(0).text()
                    + "'; expected same N | zero | unique | image NAME | changing every DURATION",
                    Suggest.hint(a.get(0).text(), kinds));
            return null;
        }
        switch (w.text()) {
            case "zero", "unique" -> {
                if (a.size() > 1) {
                    diags.error(a.get(1).span(), "unexpected '" + a.get(1).text() + "' after '" + w.text() + "'");
                    return null;
                }
                return w.text().equals("zero") ? Content.ZERO : Content.UNIQUE;
            }
            case "same" -> {
                if (a.size() != 2 || !(a.get(1) instanceof Num n)) {
                    diags.error(v.span(), "'same' takes a content tag: same N (pages with the same N are identical)");
                    return null;
                }
                Long tag = values.integer(n, "a content tag", 0, Long.MAX_VALUE);
                return tag == null ? null : Content.same(tag);
            }
            case "image" -> {
                if (a.size() != 2 || !(a.get(1) instanceof Word img)) {
                    diags.error(v.span(), "'image' takes the name of an image: image NAME");
                    return null;
                }
                if (!scope.images.containsKey(img.text())) {
                    unknown("image", new Name(img.text(), img.span()), scope.images.keySet());
                    return null;
                }
                return new Content(Content.Kind.IMAGE, 0, img.text(), 0);
            }
            default -> {
                if (a.size() < 3 || !(a.get(1) instanceof Word every) || !every.text().equals("every")) {
                    diags.error(v.span(), "'changing' takes a period: changing every DURATION (e.g. changing every 2 ms)");
                    return null;
                }
                Long ns = values.duration(new Value(a.subList(2, a.size()), a.get(2).span()), "the period");
                if (ns != null && ns <= 0) {
                    diags.error(a.get(2).span(), "the period must be longer than 0");
                    return null;
                }
                return ns == null ? null : new Content(Content.Kind.CHANGING, 0, null, ns);
            }
        }
    }

    /**
     * `import libvirt "FILE.xml" [as NAME] on HOST [{ overrides }]`: the domain file (relative to
     * the script's folder) read as DomainImport reads it, its block overriding what it gave as a
     * `vm ... like` block does; what the file holds that kvmsim does not model is printed as a
     * warning before the VM is declared.
     */
    private List<Statement> importLibvirt(ImportLibvirt im) {
        Host h = hostRef(im.host());
        if (h == null) {
            if (im.name() != null) brokenNames.add(im.name().text());
            return List.of();
        }
        String written = im.file().value();
        Path file;
        try {
            file = scriptFolder(im.span()).resolve(written);
        } catch (InvalidPathException e) {
            diags.error(im.file().span(), "not a file name: '" + written.replace("\0", "\\0") + "'");
            if (im.name() != null) brokenNames.add(im.name().text());
            return List.of();
        }
        DomainImport.Result r;
        try {
            r = DomainImport.read(file, im.name() == null ? null : im.name().text(), h);
        } catch (DomainImport.Refused e) {
            diags.error(im.file().span(), written + (e.line > 0 ? ":" + e.line + ":" + e.column : "") + ": " + e.getMessage(),
                    "kvmsim imports the domain as libvirt would define it; `kvmsim import libvirt FILE` shows what it understood");
            if (im.name() != null) brokenNames.add(im.name().text());
            return List.of();
        }
        Name name = im.name() != null ? im.name() : new Name(r.vm().name(), im.file().span());
        List<Statement> out = new ArrayList<>();
        for (DomainImport.Warning w : r.warnings()) {
            out.add(new Statement.Print("warning: " + written + ":" + w.line() + ":" + w.column() + ": " + w.message(), im.span()));
        }
        Statement d = declare(vm(new VmDecl(name, im.host(), null, im.body(), im.span()), r.vm()), im.span(), name);
        if (d == null) return List.of();
        out.add(d);
        return out;
    }

    /**
     * The folder of the script a span is in (relative names resolve there), else {@link #folder}:
     * a notebook cell's names resolve in the notebook's folder, as nbconvert runs the kernel there.
     */
    private Path scriptFolder(Span span) {
        try {
            Path p = Path.of(span.file());
            if (Files.isRegularFile(p) && p.toAbsolutePath().getParent() != null) return p.toAbsolutePath().getParent();
        } catch (InvalidPathException e) {
            // a cell's name ("In[3]"), not a file
        }
        return folder;
    }

    private Vm vmRef(Name n) {
        Vm vm = scope.vms.get(n.text());
        if (vm == null) unknown("vm", n, scope.vms.keySet());
        return vm;
    }

    private Host hostRef(Name n) {
        Host h = scope.hosts.get(n.text());
        if (h == null) unknown("host", n, scope.hosts.keySet());
        return h;
    }

    // --- actions

    private Statement runFor(RunFor r) {
        Long ns = values.duration(r.duration(), "run");
        if (ns == null) return null;
        if (ns <= 0) {
            diags.error(r.duration().span(), "run needs a duration longer than 0");
            return null;
        }
        return new Statement.RunFor(ns, r.span());
    }

    private Statement runUntil(RunUntil r) {
        List<Name> p = r.counter().parts();
        if (p.size() != 3 || !p.get(1).text().equals("ksm")) {
            diags.error(r.counter().span(), "run until waits for a KSM counter: run until HOST.ksm.COUNTER = N",
                    "counters: " + String.join(", ", Schema.KSM_COUNTERS));
            return null;
        }
        Host h = hostRef(p.get(0));
        String counter = p.get(2).text();
        boolean ok = h != null;
        if (!Schema.KSM_COUNTERS.contains(counter)) {
            diags.error(p.get(2).span(), "unknown KSM counter '" + counter + "'",
                    hintOr(Suggest.hint(counter, Schema.KSM_COUNTERS), "counters: " + String.join(", ", Schema.KSM_COUNTERS)));
            ok = false;
        }
        if (h != null && h.ksm() == null) {
            diags.error(p.get(0).span(), "host '" + h.name() + "' runs no ksmd, so its KSM counters never change",
                    "give the host a policy: ksm = POLICY");
            ok = false;
        }
        List<Atom> atoms = r.value().atoms();
        long bound = DEFAULT_UNTIL_BOUND_NS;
        Long target = null;
        if (!(atoms.get(0) instanceof Num n)) {
            diags.error(atoms.get(0).span(), "run until takes a number: run until HOST.ksm.COUNTER = N [within DURATION]");
            return null;
        }
        target = values.integer(n, "the target", Long.MIN_VALUE, Long.MAX_VALUE);
        if (atoms.size() > 1) {
            if (!(atoms.get(1) instanceof Word w) || !w.text().equals("within") || atoms.size() < 3) {
                diags.error(atoms.get(1).span(), "unexpected '" + atoms.get(1).text() + "'; expected `within DURATION` or the end of the line");
                return null;
            }
            Long b = values.duration(new Value(atoms.subList(2, atoms.size()), atoms.get(2).span()), "within");
            if (b == null) return null;
            bound = b;
        }
        if (!ok || target == null) return null;
        return new Statement.RunUntil(h.name(), counter, target, bound, r.span());
    }

    private Statement write(Write w) {
        Vm vm = vmRef(w.vm());
        if (vm == null) return null;
        long[] range = pageRange(w.range(), vm);
        Content c = content(w.value());
        if (range == null || c == null) return null;
        return new Statement.Write(vm.name(), range[0], range[1], c, w.span());
    }

    private static final List<String> SET_FORMS = List.of("HOST.ksm.KNOB", "HOST.thp", "HOST.khugepaged.KNOB",
            "HOST.POOL.count", "HOST.POOL.overcommit");

    private Statement set(SetStmt st) {
        List<Name> p = st.path().parts();
        Host h = scope.hosts.get(p.get(0).text());
        if (h == null) {
            if (scope.vms.containsKey(p.get(0).text())) {
                diags.error(st.path().span(), "a VM's configuration cannot change while it runs; declare it again instead",
                        "set changes host knobs at run time: " + String.join(", ", SET_FORMS));
            } else {
                unknown("host", p.get(0), scope.hosts.keySet());
            }
            return null;
        }
        Object value = setValue(h, p, st.value(), st.path().span());
        if (value == null) return null;
        List<String> rest = p.subList(1, p.size()).stream().map(Name::text).toList();
        return new Statement.Set(h.name(), rest, value, st.span());
    }

    /**
     * The value of a runtime knob: {@code HOST.ksm.KNOB} (as sysfs holds it), {@code HOST.thp},
     * {@code HOST.POOL.count|overcommit}. Used by `set` and by `sweep` over host knobs.
     */
    private Object setValue(Host h, List<Name> p, Value v, Span pathSpan) {
        if (p.size() == 3 && p.get(1).text().equals("ksm")) {
            String knob = p.get(2).text();
            if (h.ksm() == null) {
                diags.error(p.get(0).span(), "host '" + h.name() + "' has no ksm policy, so it runs no ksmd to tune",
                        "give the host a policy: ksm = POLICY");
                return null;
            }
            String attr = knob.equals("sleep_millisecs") ? "sleep"
                    : knob.equals("stable_node_chains_prune_millisecs") ? "stable_node_chains_prune" : knob;
            if (!Schema.KSM_POLICY.containsKey(attr)) {
                diags.error(p.get(2).span(), "unknown KSM knob '" + knob + "'", Suggest.hint(knob, Schema.KSM_POLICY.keySet()));
                return null;
            }
            if (knob.endsWith("_millisecs")) {
                Long ms = values.count(v, knob, 0, Integer.MAX_VALUE);
                return ms;
            }
            return knobValue(attr, v);
        }
        if (p.size() == 2 && p.get(1).text().equals("thp")) {
            return values.choice(v, "thp", List.of("always", "madvise", "never"));
        }
        if (p.size() == 3 && p.get(1).text().equals("khugepaged")) {
            String knob = p.get(2).text();
            if (!KhugepagedSysfs.KNOBS.contains(knob)) {
                diags.error(p.get(2).span(), "unknown khugepaged knob '" + knob + "'", Suggest.hint(knob, KhugepagedSysfs.KNOBS));
                return null;
            }
            // the values /sys/kernel/mm/transparent_hugepage/khugepaged/KNOB accepts (EINVAL otherwise)
            long[] range = KhugepagedSysfs.range(knob);
            return values.count(v, knob, range[0], range[1]);
        }
        if (p.size() == 3 && h.pool(p.get(1).text()) != null) {
            String field = p.get(2).text();
            if (!field.equals("count") && !field.equals("overcommit")) {
                diags.error(p.get(2).span(), "a pool's count and overcommit can change at run time, not '" + field + "'",
                        Suggest.hint(field, List.of("count", "overcommit")));
                return null;
            }
            return values.count(v, field, 0, Integer.MAX_VALUE);
        }
        diags.error(pathSpan, "cannot set '" + joined(p) + "'", "what can be set: " + String.join(", ", SET_FORMS));
        return null;
    }

    @SuppressWarnings("unchecked")
    private static List<CpuSet> castPins(Object o) {
        return (List<CpuSet>) o;
    }

    private static String joined(List<Name> p) {
        return String.join(".", p.stream().map(Name::text).toList());
    }

    private Statement sweep(Sweep sw) {
        List<Name> p = sw.variable().parts();
        String owner = p.get(0).text();
        String kind;
        String attribute = joined(p.subList(1, p.size()));
        List<Object> vals = new ArrayList<>();
        List<String> labels = new ArrayList<>();
        if (sw.values().items().isEmpty()) {
            diags.error(sw.values().span(), "sweep needs at least one value");
            return null;
        }
        boolean ok = true;
        if (p.size() == 2 && scope.vms.containsKey(owner)) {
            kind = "vm";
            Vm vm = scope.vms.get(owner);
            Schema.Attr spec = Schema.VM.get(attribute);
            if (spec == null) {
                diags.error(p.get(1).span(), "unknown attribute '" + attribute + "' in vm",
                        Suggest.hint(attribute, Schema.VM.keySet()));
                return null;
            }
            for (Value v : sw.values().items()) {
                Object o = read(spec, v, vm.host());
                if (o == null) {
                    ok = false;
                    continue;
                }
                if (attribute.equals("memory") && !vmMemoryOk((Long) o, vm.backing(), vm.host(), v.span())) ok = false;
                if (attribute.equals("backing") && !vmMemoryOk(vm.memory(), (Backing) o, vm.host(), v.span())) ok = false;
                if (attribute.equals("node") && !nodeExists(vm.host(), (Long) o, v.span())) ok = false;
                if (attribute.equals("cpuset") && !placementOk(scope.hosts.get(vm.host()), vm.name(), vm.vcpus(), (CpuSet) o,
                        List.of(), v, null, v.span())) {
                    ok = false;
                }
                if (attribute.equals("vcpupin") && !placementOk(scope.hosts.get(vm.host()), vm.name(), vm.vcpus(), null,
                        castPins(o), null, v, v.span())) {
                    ok = false;
                }
                if (attribute.equals("vcpus") && vm.vcpupin().size() > (Long) o) {
                    diags.error(v.span(), "vm '" + vm.name() + "' pins " + vm.vcpupin().size() + " vCPUs (vcpupin); it cannot have "
                            + o, "sweep vcpus from " + vm.vcpupin().size() + " up, or shorten its vcpupin");
                    ok = false;
                }
                vals.add(o);
                labels.add(v.text());
            }
        } else if (p.size() == 2 && scope.workloads.containsKey(owner)) {
            kind = "workload";
            Schema.Attr spec = Schema.WORKLOAD.get(attribute);
            if (spec == null) {
                diags.error(p.get(1).span(), "unknown attribute '" + attribute + "' in workload",
                        Suggest.hint(attribute, Schema.WORKLOAD.keySet()));
                return null;
            }
            for (Value v : sw.values().items()) {
                Object o = read(spec, v, null);
                if (o == null) ok = false;
                vals.add(o);
                labels.add(v.text());
            }
        } else if (p.size() >= 2 && scope.hosts.containsKey(owner)) {
            kind = "host";
            if (p.get(1).text().equals("khugepaged")) {
                // a host's declaration holds no khugepaged knobs for the sweep to vary
                diags.error(sw.variable().span(), "sweep cannot vary a khugepaged knob",
                        "write `set HOST.khugepaged.KNOB = VALUE` before the statements it should change, once per value");
                return null;
            }
            for (Value v : sw.values().items()) {
                Object o = setValue(scope.hosts.get(owner), p, v, sw.variable().span());
                if (o == null) {
                    ok = false;
                    break;
                }
                vals.add(o);
                labels.add(v.text());
            }
        } else {
            List<String> names = new ArrayList<>(scope.vms.keySet());
            names.addAll(scope.hosts.keySet());
            names.addAll(scope.workloads.keySet());
            diags.error(p.get(0).span(), "sweep varies an attribute of a vm, host or workload: sweep NAME.ATTRIBUTE in [...]",
                    Suggest.hint(owner, names));
            return null;
        }
        for (Stmt inner : sw.body()) {
            if (inner instanceof Sweep nested) {
                diags.error(nested.span(), "a sweep cannot contain another sweep",
                        "sweep one variable at a time, or declare the combinations as separate VMs");
                ok = false;
            }
        }
        // the body runs on copies of the session and leaves it as it was: what it declares (or a
        // `reset` in it clears) is not in scope after it
        Declarations before = scope.copy();
        List<Statement> body = statements(sw.body());
        scope.setTo(before);
        if (!ok) return null;
        return new Statement.Sweep(sw.variable().text(), kind, owner, attribute, vals, labels, body, sw.span());
    }

    /**
     * `show WORDS... [on HOST]`: the first word names the target; where several forms share it
     * (`ksm`, `ksm history`, `ksm by vm`) the words after it choose one, and nothing may follow
     * them unless the form takes arguments (`mmu VM...`, `mmu by vcpu VM...`). The form chosen
     * checks its own arguments.
     */
    private Statement show(Show sh) {
        List<Atom> args = sh.args();
        Atom first = args.get(0);
        String what = first.text();
        String host = null;
        if (sh.host() != null) {
            if (hostRef(sh.host()) == null) return null;
            host = sh.host().text();
        }
        List<ShowSyntax> family = shows.stream().filter(s -> s.words().get(0).equals(what)).toList();
        if (family.isEmpty()) {
            List<String> targets = shows.stream().map(s -> s.words().get(0)).distinct().toList();
            diags.error(first.span(), "unknown show target '" + what + "'",
                    hintOr(Suggest.hint(what, targets), "show " + String.join(" | ", targets)));
            return null;
        }
        ShowSyntax chosen = null;
        for (ShowSyntax s : family) {
            if (named(s, args) && (chosen == null || s.words().size() > chosen.words().size())) chosen = s;
        }
        if (chosen == null || family.size() > 1 && args.size() != chosen.words().size() && !chosen.takesArguments()) {
            noSuchForm(family, sh, args);
            return null;
        }
        ShowArgs checked = chosen.check(args.subList(chosen.words().size(), args.size()), new ShowChecks(sh.span(), host));
        return checked == null ? null : new Statement.Show(checked, sh.span());
    }

    /** Whether {@code args} begin with the words that name {@code s}. */
    private static boolean named(ShowSyntax s, List<Atom> args) {
        if (args.size() < s.words().size()) return false;
        for (int i = 0; i < s.words().size(); i++) {
            if (!(args.get(i) instanceof Word w) || !w.text().equals(s.words().get(i))) return false;
        }
        return true;
    }

    /** "show ksm takes `history` or `by vm`, not 'histroy'". */
    private void noSuchForm(List<ShowSyntax> family, Show sh, List<Atom> args) {
        List<String> forms = new ArrayList<>(), next = new ArrayList<>();
        for (ShowSyntax s : family) {
            if (s.words().size() < 2) continue;
            forms.add("`" + String.join(" ", s.words().subList(1, s.words().size())) + "`");
            next.add(s.words().get(1));
        }
        String takes = forms.size() < 2 ? String.join("", forms)
                : String.join(", ", forms.subList(0, forms.size() - 1)) + " or " + forms.get(forms.size() - 1);
        String what = "show " + args.get(0).text() + " takes " + takes;
        if (args.size() < 2) {
            diags.error(sh.span(), what);
            return;
        }
        Atom sub = args.get(1);
        diags.error(sub.span(), what + ", not '" + sub.text() + "'", Suggest.hint(sub.text(), next));
    }

    /** The checks a show form's arguments use, reported at their place in this statement. */
    private final class ShowChecks implements ShowContext {
        private final Span statement;
        private final String host;

        ShowChecks(Span statement, String host) {
            this.statement = statement;
            this.host = host;
        }

        @Override
        public Span statement() {
            return statement;
        }

        @Override
        public Path folder(Span span) {
            return scriptFolder(span);
        }

        @Override
        public String host() {
            return host;
        }

        @Override
        public void error(Span at, String message) {
            diags.error(at, message);
        }

        @Override
        public void error(Span at, String message, String hint) {
            diags.error(at, message, hint);
        }

        @Override
        public boolean noMore(List<Atom> rest, String what) {
            if (rest.isEmpty()) return true;
            diags.error(rest.get(0).span(), "show " + what + " takes no arguments; unexpected '" + rest.get(0).text() + "'");
            return false;
        }

        @Override
        public String vm(Word name) {
            return vmRef(new Name(name.text(), name.span())) == null ? null : name.text();
        }

        @Override
        public Subject subject(Atom a, String what) {
            if (!(a instanceof Word w)) {
                diags.error(a.span(), "show " + what + " needs a VM name here, not '" + a.text() + "'");
                return null;
            }
            String[] parts = w.text().split("\\.");
            Span vmSpan = new Span(a.span().file(), a.span().line(), a.span().column(), parts[0].length());
            if (vmRef(new Name(parts[0], vmSpan)) == null) return null;
            if (parts.length == 1) return new Subject(parts[0], null);
            if (parts.length > 2 || !scope.pagetables.containsKey(w.text())) {
                Span ptSpan = new Span(a.span().file(), a.span().line(), a.span().column() + parts[0].length() + 1,
                        w.text().length() - parts[0].length() - 1);
                unknown("pagetable of " + parts[0], new Name(parts[1], ptSpan), pagetablesOf(parts[0]));
                return null;
            }
            return new Subject(parts[0], parts[1]);
        }

        @Override
        public Long address(Atom a, String what) {
            return values.address(a, what);
        }
    }

    private Statement plot(Plot p) {
        Map<String, Attr> attrs = attributes(p.body(), "plot");
        String x = (String) optional(attrs, "x", Schema.PLOT, null, null);
        String y = (String) optional(attrs, "y", Schema.PLOT, null, null);
        String kind = (String) optional(attrs, "kind", Schema.PLOT, null, "line");
        String title = (String) optional(attrs, "title", Schema.PLOT, null, p.table().text());
        boolean ok = x != null && y != null && kind != null && title != null;
        if (!attrs.containsKey("x") || !attrs.containsKey("y")) {
            diags.error(p.table().span(), "plot needs the columns to draw: plot " + p.table().text()
                    + " { x = COLUMN; y = COLUMN }");
            return null;
        }
        return ok ? new Statement.Plot(p.table().text(), x, y, kind, title, p.span()) : null;
    }

    private static final List<String> EXPORT_FORMATS = List.of("csv", "json", "md", "html");

    private Statement export(Export e) {
        String file = e.file().value();
        int dot = file.lastIndexOf('.');
        String ext = dot < 0 ? "" : file.substring(dot + 1).toLowerCase(Locale.ROOT);
        if (!EXPORT_FORMATS.contains(ext)) {
            diags.error(e.file().span(), "export writes .csv, .json, .md or .html files, not '" + file + "'");
            return null;
        }
        if (file.isBlank() || file.indexOf('\0') >= 0) {
            diags.error(e.file().span(), "not a file name: '" + file + "'");
            return null;
        }
        return new Statement.Export(e.table().text(), file, ext, e.span());
    }
}
