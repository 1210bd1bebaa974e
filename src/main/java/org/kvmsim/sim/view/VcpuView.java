package org.kvmsim.sim.view;

/** One vCPU: its translation counters and its placement, flushes and shootdowns. */
public record VcpuView(MmuCounters mmu, VcpuStats stats) {
}
