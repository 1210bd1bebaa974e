package org.kvmsim.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything declared so far, by kind and name, in declaration order (VMs start in that order).
 * The checker resolves names against it; the session keeps the one that scripts and cells
 * build up. Copies are cheap: a sweep or a check works on a copy.
 */
public final class Declarations {

    public final Map<String, KsmPolicy> policies = new LinkedHashMap<>();
    public final Map<String, Host> hosts = new LinkedHashMap<>();
    public final Map<String, Image> images = new LinkedHashMap<>();
    public final Map<String, Vm> vms = new LinkedHashMap<>();
    /** Keyed by "vm.name". */
    public final Map<String, PageTableSpec> pagetables = new LinkedHashMap<>();
    /** Keyed by VM name; a VM's contents blocks accumulate. */
    public final Map<String, List<ContentsSpec>> contents = new LinkedHashMap<>();
    public final Map<String, Workload> workloads = new LinkedHashMap<>();

    public Declarations copy() {
        Declarations d = new Declarations();
        d.policies.putAll(policies);
        d.hosts.putAll(hosts);
        d.images.putAll(images);
        d.vms.putAll(vms);
        d.pagetables.putAll(pagetables);
        contents.forEach((k, v) -> d.contents.put(k, new ArrayList<>(v)));
        d.workloads.putAll(workloads);
        return d;
    }

    /** Adds or replaces a declaration. A redeclared VM moves to the end of the start order. */
    public void declare(Declaration decl) {
        if (decl instanceof KsmPolicy p) {
            policies.put(p.name(), p);
        } else if (decl instanceof Host h) {
            hosts.put(h.name(), h);
        } else if (decl instanceof Image i) {
            images.put(i.name(), i);
        } else if (decl instanceof Vm v) {
            vms.remove(v.name());
            vms.put(v.name(), v);
        } else if (decl instanceof PageTableSpec p) {
            pagetables.put(p.vm() + "." + p.name(), p);
        } else if (decl instanceof ContentsSpec c) {
            contents.computeIfAbsent(c.vm(), k -> new ArrayList<>()).add(c);
        } else if (decl instanceof Workload w) {
            workloads.put(w.name(), w);
        }
    }

    /** Makes this hold exactly what {@code other} holds (a copy of it). */
    public void setTo(Declarations other) {
        Declarations c = other.copy();
        clear();
        policies.putAll(c.policies);
        hosts.putAll(c.hosts);
        images.putAll(c.images);
        vms.putAll(c.vms);
        pagetables.putAll(c.pagetables);
        contents.putAll(c.contents);
        workloads.putAll(c.workloads);
    }

    public void clear() {
        policies.clear();
        hosts.clear();
        images.clear();
        vms.clear();
        pagetables.clear();
        contents.clear();
        workloads.clear();
    }
}
