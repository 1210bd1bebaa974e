package org.kvmsim.sim;

import java.util.List;
import java.util.Locale;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.model.Backing;
import org.kvmsim.model.Content;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Host;
import org.kvmsim.model.Paging;
import org.kvmsim.model.ThpMode;
import org.kvmsim.model.Vm;

/**
 * `kvmsim bench touch`: 64 VMs of 4 GiB touch all their RAM through the engine, 64 M pages
 * (256 GiB) on a 320 GiB host with THP off (every page a 4 KiB fault: the worst case). Per page:
 * a buddy allocation, the host mapping entry, and a new unique content identity in the guest's
 * sparse contents. Baseline, measured in the same process: a loop writing one long per page.
 * Targets (issue 4): at most 20 s and 2 GiB of heap; the heap per page is printed.
 */
public final class EngineBench {

    static final int VMS = 64;
    static final long VM_BYTES = 4L << 30;

    private EngineBench() {}

    public static BenchResult touch() {
        long pagesPerVm = VM_BYTES >>> 12;
        long total = VMS * pagesPerVm;
        double baseline = baseline(total);
        Runtime rt = Runtime.getRuntime();
        System.gc();
        long heapBefore = rt.totalMemory() - rt.freeMemory();
        long t0 = System.nanoTime();
        Declarations d = new Declarations();
        d.declare(new Host("hv1", 320L << 30, "skylake", ThpMode.NEVER, null, 2, List.of()));
        for (int v = 0; v < VMS; v++) {
            d.declare(new Vm("vm" + v, "hv1", VM_BYTES, 1, Paging.EPT, Backing.ANONYMOUS, null, 4, false, true, true, 0, false));
        }
        Engine e = new Engine(1);
        e.sync(d);
        e.startPending(d);
        for (String v : d.vms.keySet()) e.write(v, 0, pagesPerVm - 1, Content.UNIQUE);
        long nanos = System.nanoTime() - t0;
        System.gc();
        long heapAfter = rt.totalMemory() - rt.freeMemory();
        long present = 0;
        for (String v : d.vms.keySet()) present += e.view().vm(v).presentPages();
        java.lang.ref.Reference.reachabilityFence(e);
        if (present != total) throw new IllegalStateException("bench touched " + present + " of " + total + " pages");
        double heapPerPage = (heapAfter - heapBefore) / (double) total;
        String detail = String.format(Locale.ROOT,
                "%d pages (%d GiB) over %d VMs in %.2f s; heap %.0f MiB (%.1f B/page); targets: <= 20 s, <= 2 GiB",
                total, (total << 12) >>> 30, VMS, nanos / 1e9, (heapAfter - heapBefore) / 1048576.0, heapPerPage);
        return new BenchResult("touch", total / (nanos / 1e9), "pages/s", baseline, detail);
    }

    private static double baseline(long total) {
        long[] a = new long[1 << 24];
        long t0 = System.nanoTime();
        for (long p = 0; p < total; p++) a[(int) (p & ((1 << 24) - 1))] = p;
        long nanos = System.nanoTime() - t0;
        if (a[a.length - 1] < 0) throw new IllegalStateException();
        return total / (nanos / 1e9);
    }
}
