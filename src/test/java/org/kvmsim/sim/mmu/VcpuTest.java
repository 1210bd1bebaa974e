package org.kvmsim.sim.mmu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;
import org.kvmsim.sim.view.VcpuStats;

/** A VM's vCPUs on a host's cores: per-core TLBs, migrations, remote flushes and guest shootdowns. */
class VcpuTest {

    static final long GVA = 0x7f00_0000_0000L;

    /** A VM of {@code vcpus} vCPUs, vCPU i on core i, one address space with 64 pages mapped. */
    static final class Vm {
        final Cores cores;
        final Mmu mmu;
        final int space;
        private long nextTable = 0x1000_0000L;
        private long nextData = 0x4000_0000L;

        Vm(CpuModel model, int vcpus, int cores) {
            this(new Cores(model, cores), vcpus);
        }

        /** A VM of {@code vcpus} vCPUs on the given cores (shared with other VMs). */
        Vm(Cores cores, int vcpus) {
            this.cores = cores;
            int n = cores.count();
            this.mmu = new Mmu("g", Paging.EPT, this.cores, vcpus, 4, 4, new LinearHostBacking(1L << 34, 12, 1L << 38), 0);
            this.space = mmu.newAddressSpace(() -> {
                long a = nextTable;
                nextTable += 4096;
                return a;
            });
            for (int p = 0; p < 64; p++) {
                mmu.map(space, GVA + p * 4096L, nextData, 4096, true);
                nextData += 4096;
            }
            for (int i = 0; i < vcpus; i++) {
                mmu.select(i, this.cores.get(i % n));
            }
        }

        /** vCPU {@code v} touches the 64 pages {@code rounds} times. */
        void touch(int v, int rounds) {
            mmu.select(v, mmu.vcpu(v).core());
            for (int r = 0; r < rounds; r++) {
                for (int p = 0; p < 64; p++) {
                    mmu.access(GVA + p * 4096L, false);
                }
            }
        }
    }

    @Test
    void eachCoreHasItsOwnTlbs() {
        Vm vm = new Vm(CpuModel.skylake(), 2, 2);
        vm.touch(0, 2);
        vm.touch(1, 2);
        MmuCounters a = vm.mmu.counters(0);
        MmuCounters b = vm.mmu.counters(1);
        // each vCPU misses the STLB only on its own first touch of each page; the second
        // vCPU's nested TLB is cold too, but the EPT entries exist: no more violations
        assertEquals(64, a.stlbMisses());
        assertEquals(64, b.stlbMisses());
        assertEquals(64 + 4, a.eptViolations(), "the data pages and the four guest table pages");
        assertEquals(0, b.eptViolations());
        MmuCounters sum = vm.mmu.counters();
        assertEquals(a.accesses() + b.accesses(), sum.accesses());
        assertEquals(a.cycles() + b.cycles(), sum.cycles());
        assertEquals(0, vm.cores.get(0).vcpuSwitches());
    }

    @Test
    void aMigratedVcpuStartsCold() {
        Vm vm = new Vm(CpuModel.skylake(), 1, 2);
        vm.touch(0, 2);
        long warm = vm.mmu.counters(0).stlbMisses();
        vm.mmu.select(0, vm.cores.get(1));
        vm.touch(0, 1);
        VcpuStats s = vm.mmu.vcpuStats(0);
        assertEquals(1, s.migrations());
        assertEquals(1, s.core());
        assertEquals(warm + 64, vm.mmu.counters(0).stlbMisses(), "every page misses again on the new core");
    }

    @Test
    void aHostChangeFlushesEveryCoreThatRanTheVmAndKicksTheRunningVcpus() {
        Vm vm = new Vm(CpuModel.skylake(), 4, 4);
        for (int v = 0; v < 4; v++) {
            vm.touch(v, 1);
        }
        vm.mmu.vcpu(0).busy = true;
        vm.mmu.vcpu(1).busy = true;
        long exitsBefore = vm.mmu.counters().vmExits();
        // KSM merged the page: the MMU notifier zaps its EPT entry (from ksmd: no vCPU is executing)
        vm.mmu.invalidateHostPage(0x4000_0000L);
        for (int v = 0; v < 4; v++) {
            VcpuStats s = vm.mmu.vcpuStats(v);
            assertEquals(1, s.remoteFlushes(), "vCPU " + v + " got the request");
            assertEquals(v < 2 ? 1 : 0, s.flushIpis(), "only busy vCPUs in guest mode are kicked");
            assertEquals(1, vm.cores.get(v).flushesReceived());
            assertEquals(v < 2 ? 1 : 0, vm.cores.get(v).ipisReceived());
        }
        assertEquals(exitsBefore + 2, vm.mmu.counters().vmExits());
        // every vCPU's TLB was flushed: all 64 pages miss again on each core
        for (int v = 0; v < 4; v++) {
            long before = vm.mmu.counters(v).stlbMisses();
            vm.touch(v, 1);
            assertEquals(before + 64, vm.mmu.counters(v).stlbMisses());
        }
    }

    @Test
    void onIntelAZapInOneVmEmptiesTheSharedCoreForEveryVmOnAmdOnlyForItself() {
        for (String preset : new String[] {"skylake", "zen2"}) {
            Cores cores = new Cores(CpuModel.preset(preset), 1);
            Vm[] vms = new Vm[2];
            for (int i = 0; i < 2; i++) {
                vms[i] = new Vm(cores, 1);
                vms[i].touch(0, 1);
            }
            // both VMs' pages are cached on the one core, VM 1 runs there now; a zap in VM 1
            // (KSM merged a page) is flushed at once, by the IPI to it
            vms[1].mmu.invalidateHostPage(0x4000_0000L);
            long before = vms[0].mmu.counters().stlbMisses();
            vms[0].touch(0, 1);
            long missed = vms[0].mmu.counters().stlbMisses() - before;
            assertEquals(preset.equals("skylake") ? 64 : 0, missed,
                    preset + ": vmx_flush_tlb_all() is INVEPT all-context, svm_flush_tlb_all() one ASID");
        }
    }

    @Test
    void aVcpuNotInGuestModeServesAFlushRequestAtItsNextEntry() {
        Cores cores = new Cores(CpuModel.skylake(), 1);
        Vm a = new Vm(cores, 1);
        Vm b = new Vm(cores, 1);
        a.touch(0, 1);
        b.touch(0, 1);
        // b runs; a zap in a: a's request waits for its entry, b keeps its entries until then
        a.mmu.invalidateHostPage(0x4000_0000L);
        long before = b.mmu.counters().stlbMisses();
        b.touch(0, 1);
        assertEquals(before, b.mmu.counters().stlbMisses());
        assertEquals(1, a.mmu.vcpuStats(0).remoteFlushes());
        assertEquals(0, a.mmu.vcpuStats(0).flushIpis(), "not in guest mode: no IPI");
        // a enters: INVEPT all-context empties the core, b's entries with it
        a.touch(0, 1);
        long b0 = b.mmu.counters().stlbMisses();
        b.touch(0, 1);
        assertEquals(b0 + 64, b.mmu.counters().stlbMisses());
    }

    @Test
    void withVpidTwoVcpusOnOneCoreKeepTheirEntriesWithoutTheyAreFlushedEachSwitch() {
        for (boolean vpid : new boolean[] {true, false}) {
            Vm vm = new Vm(CpuModel.skylake().with("vpid", vpid ? 1 : 0), 2, 1);
            for (int r = 0; r < 3; r++) {
                vm.touch(0, 1);
                vm.touch(1, 1);
            }
            assertEquals(5, vm.cores.get(0).vcpuSwitches());
            assertEquals(0, vm.cores.get(0).vmSwitches(), "both vCPUs are one VM's");
            long misses = vm.mmu.counters().stlbMisses();
            if (vpid) {
                assertEquals(128, misses, "64 pages, once per vCPU: the entries survive the switches");
            } else {
                assertEquals(6 * 64, misses, "every switch flushed");
                assertEquals(5, vm.mmu.counters().vmSwitchFlushes());
            }
        }
    }

    @Test
    void aShootdownWaitsForAPreemptedVcpuUnlessTheGuestFlushesParavirtually() {
        for (boolean pv : new boolean[] {true, false}) {
            // vCPU 0 on core 0; vCPUs 1 and 2 share core 1, where vCPU 2 runs now: vCPU 1 is preempted
            Vm vm = new Vm(CpuModel.skylake(), 3, 2);
            vm.mmu.setPvTlbFlush(pv);
            vm.cores.preemptedWaitNs = 1_500_000;
            vm.mmu.select(1, vm.cores.get(1));
            vm.mmu.select(2, vm.cores.get(1));
            vm.touch(1, 1);
            vm.touch(2, 1);
            vm.touch(0, 1);
            for (int v = 0; v < 3; v++) {
                vm.mmu.vcpu(v).busy = true;
            }
            long exits = vm.mmu.counters().vmExits();
            // vCPU 0 remaps a present page: INVLPG locally, a shootdown to the others
            vm.mmu.map(vm.space, GVA, 0x5000_0000L, 4096, true);
            VcpuStats sender = vm.mmu.vcpuStats(0);
            assertEquals(2, sender.shootdownsSent());
            assertEquals(1, vm.mmu.vcpuStats(2).flushIpis(), "the running vCPU takes an IPI either way");
            if (pv) {
                assertEquals(1, sender.shootdownIpis());
                assertEquals(0, sender.shootdownWaitCycles());
                assertEquals(0, vm.mmu.vcpuStats(1).flushIpis(), "the preempted one is flagged, not interrupted");
                assertEquals(exits + 2, vm.mmu.counters().vmExits());
            } else {
                assertEquals(2, sender.shootdownIpis());
                assertEquals(1_500_000L * 3000 / 1000, sender.shootdownWaitCycles(), "half a base slice at 3 GHz");
                assertEquals(1, vm.mmu.vcpuStats(1).flushIpis());
                assertEquals(exits + 4, vm.mmu.counters().vmExits());
            }
            assertTrue(vm.mmu.counters(0).exitCycles() >= sender.shootdownWaitCycles());
        }
    }
}
