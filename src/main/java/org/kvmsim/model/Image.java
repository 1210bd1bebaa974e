package org.kvmsim.model;

/** A guest image: what a booted guest has touched, and how much of it every guest shares. */
public record Image(String name, long footprint, double sharedPct, double zeroPct) implements Declaration {}
