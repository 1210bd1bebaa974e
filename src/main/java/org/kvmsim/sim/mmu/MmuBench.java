package org.kvmsim.sim.mmu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.SplittableRandom;
import org.kvmsim.bench.BenchResult;
import org.kvmsim.model.CpuModel;
import org.kvmsim.model.Paging;
import org.kvmsim.sim.view.MmuCounters;

/**
 * `kvmsim bench mmu`: a zipf(0.99) stream over 4 GiB of 4 KiB pages (10% writes, ranks scattered
 * over the pages as the language's zipf pattern does), translated under EPT on the skylake preset
 * with native pricing on, against a baseline loop that does one table lookup per access over the
 * same stream in the same process: a lookup of the guest's radix page table (the very table the
 * simulator walks, looked up in software with no TLB or cache model), i.e. what translating the
 * stream costs before any of the hardware is simulated. A flat {@code long[]} indexed by page
 * number (page -> frame, the cheapest lookup there is) is also timed and reported in the detail
 * with its ratio. The stream is generated up front from a fixed seed; one untimed pass faults
 * everything in and warms the JIT; the best of five timed passes (thread CPU time where available,
 * the same clock for every loop) is reported. The counters in the detail cover the timed passes.
 */
public final class MmuBench {

    static final long GVA_BASE = 0x7f00_0000_0000L;
    static final int PAGE_BITS = 20;
    static final long PAGES = 1L << PAGE_BITS;

    static final int REPS = 5;
    static final int WARMUP = 10;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** Thread CPU time when the JVM has it: on a shared machine, time spent descheduled is not ours. */
    private static final boolean CPU_TIME = THREADS.isCurrentThreadCpuTimeSupported();

    private MmuBench() {
    }

    private static long now() {
        return CPU_TIME ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    public static BenchResult run() {
        return run(8_000_000, 42);
    }

    static BenchResult run(int accesses, long seed) {
        int[] stream = stream(accesses, seed);
        long[] gvas = new long[accesses];
        boolean[] writes = new boolean[accesses];
        for (int i = 0; i < accesses; i++) {
            gvas[i] = GVA_BASE + ((long) (stream[i] & Integer.MAX_VALUE) << 12);
            writes[i] = stream[i] < 0;
        }

        Cpu cpu = new Cpu(CpuModel.skylake());
        LinearHostBacking host = new LinearHostBacking(1L << 32, 12, 1L << 36);
        Mmu mmu = new Mmu(Paging.EPT, cpu, 4, 4, host, 0x7f80_0000_0000L);
        long[] nextTable = {PAGES << 12};
        int space = mmu.newAddressSpace(() -> {
            long a = nextTable[0];
            nextTable[0] += 4096;
            return a;
        });
        for (long p = 0; p < PAGES; p++) {
            mmu.map(space, GVA_BASE + (p << 12), p << 12, 4096, true);
        }
        long[] flat = new long[(int) PAGES];
        for (int p = 0; p < PAGES; p++) {
            flat[p] = host.hpa((long) p << 12);
        }
        RadixTable guest = mmu.guestTable(space);

        replay(mmu, gvas, writes);
        long sink = 0;
        // the baseline loops are short: run them until the JIT has compiled them for good, so that
        // no timed pass runs in interpreted or first-tier code
        for (int i = 0; i < WARMUP; i++) {
            sink += flat(flat, gvas) + radix(guest, gvas);
        }
        mmu.resetCounters();
        double best = Double.MAX_VALUE;
        double bestFlat = Double.MAX_VALUE;
        double bestRadix = Double.MAX_VALUE;
        for (int rep = 0; rep < REPS; rep++) {
            long t0 = now();
            replay(mmu, gvas, writes);
            long t1 = now();
            sink += flat(flat, gvas);
            long t2 = now();
            sink += radix(guest, gvas);
            long t3 = now();
            best = Math.min(best, (t1 - t0) / 1e9);
            bestFlat = Math.min(bestFlat, (t2 - t1) / 1e9);
            bestRadix = Math.min(bestRadix, (t3 - t2) / 1e9);
        }
        MmuCounters c = mmu.counters();
        double sim = accesses / best;
        double radixRate = accesses / bestRadix;
        double flatRate = accesses / bestFlat;
        String detail = String.format(Locale.ROOT,
                "zipf(0.99) over 4 GiB, %d accesses, best of %d (%s time), ept/skylake: %.2f cycles/access, native %.2f, overhead %.1f%%, "
                        + "l1 miss %.2f%%, stlb miss %.2f%%, %.2f refs/walk; baseline = one guest radix page-table lookup per access; "
                        + "a flat long[] lookup by page number does %.0f M/s (ratio %.3f) (sink %d)",
                accesses, REPS, CPU_TIME ? "thread cpu" : "wall", c.cyclesPerAccess(), c.nativeCyclesPerAccess(), c.overheadPct(),
                100.0 * c.l1DtlbMisses() / c.accesses(), 100.0 * c.stlbMisses() / c.accesses(), c.refsPerWalk(),
                flatRate / 1e6, sim / flatRate, sink & 1);
        return new BenchResult("mmu", sim, "accesses/s", radixRate, detail);
    }

    /** Page numbers of the stream; the sign bit marks a write. */
    static int[] stream(int accesses, long seed) {
        Zipf z = new Zipf(PAGES, 0.99, seed);
        SplittableRandom w = new SplittableRandom(seed ^ 0x5DEECE66DL);
        int[] out = new int[accesses];
        for (int i = 0; i < accesses; i++) {
            int page = (int) Zipf.scatter(z.next(), PAGE_BITS);
            out[i] = w.nextInt(10) == 0 ? page | Integer.MIN_VALUE : page;
        }
        return out;
    }

    private static void replay(Mmu mmu, long[] gvas, boolean[] writes) {
        mmu.access(gvas, writes, 0, gvas.length);
    }

    /** For the detail: one lookup per access in a flat table indexed by the GVA's page number. */
    private static long flat(long[] flat, long[] gvas) {
        long sum = 0;
        for (long gva : gvas) {
            sum += flat[(int) ((gva - GVA_BASE) >>> 12)];
        }
        return sum;
    }

    /** The baseline: one lookup of the guest radix page table (a software walk) per access. */
    private static long radix(RadixTable guest, long[] gvas) {
        long sum = 0;
        for (long gva : gvas) {
            sum += guest.lookup(gva);
        }
        return sum;
    }

    public static void main(String[] args) {
        BenchResult r = run();
        System.out.println(args.length > 0 && args[0].equals("--json") ? r.toJson() : r.toText());
    }
}
