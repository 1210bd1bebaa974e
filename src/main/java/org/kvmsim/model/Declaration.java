package org.kvmsim.model;

/** Anything a script declares by name; a later declaration of the same name replaces it. */
public sealed interface Declaration permits KsmPolicy, Host, Image, Vm, PageTableSpec, ContentsSpec, Workload {
    String name();
}
