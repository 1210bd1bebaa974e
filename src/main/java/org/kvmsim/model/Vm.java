package org.kvmsim.model;

/**
 * A virtual machine as QEMU would be started for it. {@code image} may be null; {@code node} is
 * the host NUMA node its RAM and page tables prefer; {@code guestThp} is the guest kernel's THP
 * mode for its workloads' memory (always, or never).
 */
public record Vm(String name, String host, long memory, int vcpus, Paging paging, Backing backing, String image,
                 int levels, boolean prealloc, boolean reserve, boolean memMerge, int node, boolean guestThp)
        implements Declaration {

    /** A copy with one attribute (the language's name for it) set to a checked value, as a sweep varies it. */
    public Vm with(String attribute, Object value) {
        return switch (attribute) {
            case "memory" -> new Vm(name, host, (Long) value, vcpus, paging, backing, image, levels, prealloc, reserve, memMerge, node, guestThp);
            case "vcpus" -> new Vm(name, host, memory, ((Long) value).intValue(), paging, backing, image, levels, prealloc, reserve, memMerge, node, guestThp);
            case "paging" -> new Vm(name, host, memory, vcpus, Paging.of((String) value),
                    backing, image, levels, prealloc, reserve, memMerge, node, guestThp);
            case "backing" -> new Vm(name, host, memory, vcpus, paging, (Backing) value, image, levels, prealloc, reserve, memMerge, node, guestThp);
            case "image" -> new Vm(name, host, memory, vcpus, paging, backing, (String) value, levels, prealloc, reserve, memMerge, node, guestThp);
            case "levels" -> new Vm(name, host, memory, vcpus, paging, backing, image, ((Long) value).intValue(), prealloc, reserve, memMerge, node, guestThp);
            case "prealloc" -> new Vm(name, host, memory, vcpus, paging, backing, image, levels, (Boolean) value, reserve, memMerge, node, guestThp);
            case "reserve" -> new Vm(name, host, memory, vcpus, paging, backing, image, levels, prealloc, (Boolean) value, memMerge, node, guestThp);
            case "mem_merge" -> new Vm(name, host, memory, vcpus, paging, backing, image, levels, prealloc, reserve, (Boolean) value, node, guestThp);
            case "node" -> new Vm(name, host, memory, vcpus, paging, backing, image, levels, prealloc, reserve, memMerge,
                    ((Long) value).intValue(), guestThp);
            case "guest_thp" -> new Vm(name, host, memory, vcpus, paging, backing, image, levels, prealloc, reserve, memMerge, node,
                    "always".equals(value));
            default -> throw new IllegalArgumentException("no vm attribute '" + attribute + "'");
        };
    }
}
