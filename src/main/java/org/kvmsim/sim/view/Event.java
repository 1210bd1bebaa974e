package org.kvmsim.sim.view;

/** Something the simulated system did, as `show events` lists it (simulated time in ns). */
public record Event(long timeNs, String kind, String subject, String detail) {}
