package org.kvmsim.model;

import java.util.List;

/**
 * A virtual machine as QEMU would be started for it. {@code image} may be null; {@code node} is
 * the host NUMA node its RAM and page tables prefer; {@code guestThp} is the guest kernel's THP
 * mode for its workloads' memory (always, or never).
 *
 * <p>Where its vCPUs run: {@code cpuset} is the host CPUs every vCPU may run on (null: any CPU of
 * the host), {@code vcpupin} pins vCPU i to the set at i (vCPUs past its end follow
 * {@code cpuset}), as libvirt's {@code <vcpu cpuset>} and {@code <vcpupin>} do.
 * {@code pvTlbFlush}: the guest flushes other vCPUs' TLBs through KVM's paravirtual interface
 * (KVM_FEATURE_PV_TLB_FLUSH) instead of by IPIs. {@code pcid}: the guest kernel uses PCIDs where
 * the host CPU has them (false: it boots with {@code nopcid}, and every CR3 load flushes).
 * {@code machine}: QEMU's machine type, which lays guest RAM out in guest-physical memory.
 */
public record Vm(String name, String host, long memory, int vcpus, Paging paging, Backing backing, String image,
                 int levels, boolean prealloc, boolean reserve, boolean memMerge, int node, boolean guestThp,
                 CpuSet cpuset, List<CpuSet> vcpupin, boolean pvTlbFlush, boolean pcid, Machine machine)
        implements Declaration {

    public Vm {
        vcpupin = vcpupin == null ? List.of() : List.copyOf(vcpupin);
        if (machine == null) machine = Machine.PC;
    }

    /** A VM on QEMU's default machine type (pc). */
    public Vm(String name, String host, long memory, int vcpus, Paging paging, Backing backing, String image,
              int levels, boolean prealloc, boolean reserve, boolean memMerge, int node, boolean guestThp,
              CpuSet cpuset, List<CpuSet> vcpupin, boolean pvTlbFlush, boolean pcid) {
        this(name, host, memory, vcpus, paging, backing, image, levels, prealloc, reserve, memMerge, node, guestThp,
                cpuset, vcpupin, pvTlbFlush, pcid, Machine.PC);
    }

    /** A VM whose guest uses PCIDs where the CPU has them. */
    public Vm(String name, String host, long memory, int vcpus, Paging paging, Backing backing, String image,
              int levels, boolean prealloc, boolean reserve, boolean memMerge, int node, boolean guestThp,
              CpuSet cpuset, List<CpuSet> vcpupin, boolean pvTlbFlush) {
        this(name, host, memory, vcpus, paging, backing, image, levels, prealloc, reserve, memMerge, node, guestThp,
                cpuset, vcpupin, pvTlbFlush, true);
    }

    /** A VM whose vCPUs run anywhere on the host, with paravirtual TLB flushes and PCIDs. */
    public Vm(String name, String host, long memory, int vcpus, Paging paging, Backing backing, String image,
              int levels, boolean prealloc, boolean reserve, boolean memMerge, int node, boolean guestThp) {
        this(name, host, memory, vcpus, paging, backing, image, levels, prealloc, reserve, memMerge, node, guestThp,
                null, List.of(), true, true);
    }

    /** The host CPUs vCPU {@code vcpu} may run on: its vcpupin, else the cpuset; null for any. */
    public CpuSet cpusOf(int vcpu) {
        return vcpu < vcpupin.size() ? vcpupin.get(vcpu) : cpuset;
    }

    /**
     * A copy with one attribute (the language's name for it) set to a checked value, as a sweep
     * varies it: sizes and counts as Long, on/off as Boolean, cpuset as a CpuSet, vcpupin as a
     * List of CpuSet.
     */
    @SuppressWarnings("unchecked")
    public Vm with(String attribute, Object value) {
        long mem = memory;
        int cpus = vcpus, lv = levels, nd = node;
        Paging pg = paging;
        Backing bk = backing;
        String img = image;
        boolean pre = prealloc, res = reserve, merge = memMerge, thp = guestThp, pv = pvTlbFlush, pc = pcid;
        Machine mt = machine;
        CpuSet set = cpuset;
        List<CpuSet> pin = vcpupin;
        switch (attribute) {
            case "memory" -> mem = (Long) value;
            case "vcpus" -> cpus = ((Long) value).intValue();
            case "paging" -> pg = Paging.of((String) value);
            case "backing" -> bk = (Backing) value;
            case "image" -> img = (String) value;
            case "levels" -> lv = ((Long) value).intValue();
            case "prealloc" -> pre = (Boolean) value;
            case "reserve" -> res = (Boolean) value;
            case "mem_merge" -> merge = (Boolean) value;
            case "node" -> nd = ((Long) value).intValue();
            case "guest_thp" -> thp = "always".equals(value);
            case "cpuset" -> set = (CpuSet) value;
            case "vcpupin" -> pin = (List<CpuSet>) value;
            case "pv_tlb_flush" -> pv = (Boolean) value;
            case "pcid" -> pc = (Boolean) value;
            case "machine" -> mt = value instanceof Machine m ? m : Machine.of((String) value);
            default -> throw new IllegalArgumentException("no vm attribute '" + attribute + "'");
        }
        return new Vm(name, host, mem, cpus, pg, bk, img, lv, pre, res, merge, nd, thp, set, pin, pv, pc, mt);
    }
}
