package org.kvmsim.sim.mem;

import org.kvmsim.model.ThpMode;
import java.util.Locale;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.sim.hugetlb.ThpMapping;
import org.kvmsim.sim.hugetlb.ThpSettings;

/**
 * `kvmsim bench buddy`, the memory part of `kvmsim bench touch`: 64 VMs of 4 GiB each touch all their RAM, 64 M pages
 * (256 GiB) in all, on a 320 GiB two-node host with THP off (every page a 4 KiB fault: the
 * worst case). Measured: buddy allocation of each frame plus the per-page mapping state this
 * package owns ({@link ThpMapping}: 4 bytes per present 4 KiB page). Baseline, in the same process:
 * a loop writing one int per page into an array. The engine adds contents and EPT costs on top.
 */
public final class MemBench {
    static final int VMS = 64;
    static final long PAGES_PER_VM = 1L << 20;

    private MemBench() {
    }

    public static BenchResult touch() {
        long total = VMS * PAGES_PER_VM;
        double baseline = baseline(total);

        Runtime rt = Runtime.getRuntime();
        System.gc();
        long heapBefore = rt.totalMemory() - rt.freeMemory();
        long t0 = System.nanoTime();
        HostMemory host = HostMemory.split(320L << 30, 2);
        ThpSettings thp = new ThpSettings();
        thp.mode = ThpMode.NEVER;
        ThpMapping[] vms = new ThpMapping[VMS];
        long check = 0;
        for (int v = 0; v < VMS; v++) {
            vms[v] = new ThpMapping(host, thp, PAGES_PER_VM, true, v % 2);
            for (long p = 0; p < PAGES_PER_VM; p++) {
                check += vms[v].fault(p);
            }
        }
        long nanos = System.nanoTime() - t0;
        System.gc();
        long heapAfter = rt.totalMemory() - rt.freeMemory();
        java.lang.ref.Reference.reachabilityFence(vms);
        java.lang.ref.Reference.reachabilityFence(host);
        if (host.pages(HostMemory.Counter.ANON_PAGES) != total || check < 0) {
            throw new IllegalStateException("bench touched " + host.pages(HostMemory.Counter.ANON_PAGES));
        }
        double rate = total / (nanos / 1e9);
        String detail = String.format(Locale.ROOT,
                "%d pages over %d VMs in %.2f s; heap for host+mappings %.0f MiB (%.1f B/page)",
                total, VMS, nanos / 1e9, (heapAfter - heapBefore) / 1048576.0,
                (heapAfter - heapBefore) / (double) total);
        return new BenchResult("buddy", rate, "pages/s", baseline, detail);
    }

    private static double baseline(long total) {
        long t0 = System.nanoTime();
        int[] a = new int[(int) total];
        for (int p = 0; p < a.length; p++) {
            a[p] = p;
        }
        long nanos = System.nanoTime() - t0;
        if (a[a.length - 1] < 0) {
            throw new IllegalStateException();
        }
        return total / (nanos / 1e9);
    }

    public static void main(String[] args) {
        System.out.println(touch().toText());
    }
}
