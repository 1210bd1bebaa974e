package org.kvmsim.model;

import java.util.List;

/** A `contents VM { pages A .. B = ... }` block: page ranges (4 KiB page numbers, ends included). */
public record ContentsSpec(String vm, List<Fill> fills) implements Declaration {

    @Override
    public String name() {
        return vm;
    }

    public record Fill(long from, long to, Content content) {}

    public ContentsSpec {
        fills = List.copyOf(fills);
    }
}
