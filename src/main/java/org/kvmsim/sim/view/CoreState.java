package org.kvmsim.sim.view;

import java.util.List;

/**
 * One host CPU as `show cpus` shows it: the vCPUs that ran on it ("VM/N", in the order they first
 * did), the vCPU on it now (or null), switches between vCPUs and between VMs, the remote flush
 * and shootdown requests its vCPUs handled here and the IPIs among them, and the simulated time
 * its vCPUs' accesses took at their nominal rate (more than the time elapsed when vCPUs share it).
 */
public record CoreState(int cpu, List<String> ran, String current, long vcpuSwitches, long vmSwitches,
                        long flushesReceived, long ipisReceived, long busyNs) {
    public CoreState {
        ran = List.copyOf(ran);
    }
}
