package org.kvmsim.model;

import java.util.List;

/** A guest address space declared with `pagetable NAME in VM { map ADDR size S page P ... }`. */
public record PageTableSpec(String name, String vm, List<Mapping> mappings) implements Declaration {

    public record Mapping(long gva, long size, long pageSize) {}

    public PageTableSpec {
        mappings = List.copyOf(mappings);
    }
}
