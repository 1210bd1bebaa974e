package org.kvmsim.sim.view;

/**
 * What one vCPU did beyond its translation counters: the core it is on (-1 before it ran), its
 * migrations between cores, the remote TLB flush requests it handled (kvm_flush_remote_tlbs())
 * and the IPIs among them that kicked it out of the guest, the guest TLB shootdowns it sent to the
 * VM's other vCPUs (and the IPIs they took) and received, and the cycles it waited for preempted
 * vCPUs to acknowledge its shootdowns.
 */
public record VcpuStats(int vcpu, int core, long migrations, long remoteFlushes, long flushIpis,
                        long shootdownsSent, long shootdownIpis, long shootdownsReceived, long shootdownWaitCycles) {
}
