package org.kvmsim.model;

/** A virtual machine as QEMU would be started for it. {@code image} may be null. */
public record Vm(String name, String host, long memory, int vcpus, Paging paging, Backing backing, String image,
                 int levels, boolean prealloc, boolean reserve, boolean memMerge) implements Declaration {}
