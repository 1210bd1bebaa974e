package org.kvmsim.sim;

import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.kvmsim.model.Declarations;
import org.kvmsim.model.Workload;
import org.kvmsim.sim.workload.AccessStream;

/**
 * Workloads onto VMs: each workload declared since the last run spreads its accesses evenly over
 * the run that follows (in up to 1000 slices of at least 1 ms), one stream per target VM or
 * pagetable, seeded from the session's seed and the workload's. A slice's accesses go to the VM's
 * MMU in batches; a write gives the page new content, as the guest's store would.
 */
final class Workloads {
    private static final int BATCH = 4096;

    private final Engine e;
    private final Map<Workload, Boolean> done = new IdentityHashMap<>();
    /** Per workload on a VM ("name@vm"): its address range. */
    private final Map<String, Range> ranges = new HashMap<>();
    private final long[] offs = new long[BATCH];
    private final long[] gvas = new long[BATCH];
    private final boolean[] wr = new boolean[BATCH];

    Workloads(Engine e) {
        this.e = e;
    }

    /**
     * A workload's address range in a VM's default address space, kept across its runs and
     * redeclarations (as the program's mapping would be): where it starts, how large it is, and
     * the guest-physical page behind each of its pages, -1 until the guest faults it in.
     */
    record Range(long base, long footprint, long[] pageToGpa) {}

    /** One workload's accesses on one VM (or one of its pagetables) during a run. */
    static final class Run {
        final VmState vm;
        final int space;
        final long base;
        final AccessStream stream;
        /**
         * Default address space: guest-physical page of each workload page, -1 until touched; the
         * range's own array, shared by every run of the workload (a redeclared workload writes the
         * pages an earlier run faulted in).
         */
        final long[] pageToGpa;
        /** Pagetable target: its mappings {gva, size, pageSize, gpa}. */
        final List<long[]> maps;
        long remaining;

        Run(VmState vm, int space, long base, AccessStream stream, long[] pageToGpa, List<long[]> maps, long accesses) {
            this.vm = vm;
            this.space = space;
            this.base = base;
            this.stream = stream;
            this.maps = maps;
            this.pageToGpa = pageToGpa;
            this.remaining = accesses;
        }
    }

    /** A VM (re)started: its workloads' ranges belong to the guest that is gone. */
    void forget(VmState v) {
        ranges.keySet().removeIf(k -> k.endsWith("@" + v.decl.name()));
    }

    /**
     * Schedules the workloads not yet run: each spreads its accesses evenly over {@code duration}
     * (the run that follows its declaration), in up to 1000 slices of at least 1 ms.
     */
    void schedule(Declarations d, long duration) {
        long slices = Math.max(1, Math.min(1000, duration / 1_000_000L));
        for (Workload w : d.workloads.values()) {
            if (w.accesses() == 0 || done.containsKey(w)) continue;
            done.put(w, true);
            int t = 0;
            for (Workload.Target target : w.targets()) {
                VmState v = e.vms.get(target.vm());
                if (v == null || !v.running()) continue;
                long seed = w.seed() * 0x9e3779b97f4a7c15L + (t++) + e.seed * 31;
                Run run;
                if (target.pagetable() == null) {
                    // A workload keeps its address range across runs; declared again with a larger
                    // footprint it gets a new range after the others, as a new mmap would.
                    String key = w.name() + "@" + v.decl.name();
                    Range range = ranges.get(key);
                    if (range == null || range.footprint() < w.footprint()) {
                        long[] pages = new long[Math.toIntExact(w.footprint() >>> 12)];
                        Arrays.fill(pages, -1);
                        range = new Range(v.nextWorkloadGva, w.footprint(), pages);
                        v.nextWorkloadGva += (w.footprint() + (2L << 20) - 1) & -(2L << 20);
                        ranges.put(key, range);
                    }
                    run = new Run(v, e.guest.defaultSpace(v), range.base(),
                            new AccessStream(w.pattern(), w.footprint(), w.writesPct(), seed),
                            range.pageToGpa(), null, w.accesses());
                } else {
                    VmState.PtSpace pt = v.pagetables.get(target.pagetable());
                    long bytes = w.footprint() > 0 ? Math.min(w.footprint(), pt.bytes()) : pt.bytes();
                    run = new Run(v, pt.space(), 0, new AccessStream(w.pattern(), bytes, w.writesPct(), seed), null,
                            pt.maps(), w.accesses());
                }
                long per = w.accesses() / slices + (w.accesses() % slices == 0 ? 0 : 1);
                long step = duration / slices;
                e.schedule(e.now + Math.max(1, step / 2), new SliceTimer(run, per, step));
            }
        }
    }

    /** One slice of a workload's accesses. */
    static final class SliceTimer extends Timer {
        final Run run;
        final long perSlice, step;
        /** Accesses of the slice under way not made yet (0 once all made); -1 between slices. */
        long sliceLeft = -1;
        /** The accesses of the slice under way. */
        long sliceSize;

        SliceTimer(Run run, long perSlice, long step) {
            this.run = run;
            this.perSlice = perSlice;
            this.step = step;
        }

        @Override
        void fire(Engine e) {
            if (!run.vm.running()) return;
            if (sliceLeft < 0) sliceLeft = sliceSize = Math.min(perSlice, run.remaining);
            try {
                e.workloads.access(this);
            } catch (Engine.VmGone gone) {
                return;
            }
            sliceLeft = -1;
            if (run.remaining > 0) e.schedule(at + Math.max(1, step), this);
        }

        @Override
        boolean cutShort() {
            return sliceLeft >= 0;
        }
    }

    /**
     * The rest of a slice's accesses, batch by batch; each batch counts as soon as it is made
     * (the workload's remaining accesses and the slice's), so an interrupt between two batches
     * leaves counters and the workload in step.
     */
    private void access(SliceTimer t) {
        if (t.sliceLeft == 0) return; // resumed after its last batch: nothing left to make
        Run r = t.run;
        VmState v = r.vm;
        v.current = r;
        try {
            if (v.mmu.currentAddressSpace() != r.space) v.mmu.loadCr3(r.space);
            while (t.sliceLeft > 0) {
                int k = (int) Math.min(BATCH, t.sliceLeft);
                r.stream.next(offs, wr, k);
                for (int i = 0; i < k; i++) gvas[i] = gvaOf(r, offs[i]);
                v.mmu.access(gvas, wr, 0, k);
                for (int i = 0; i < k; i++) {
                    if (!wr[i]) continue;
                    long gpaPage = gpaPageOf(r, offs[i]);
                    if (gpaPage >= 0 && !e.guest.write(v, gpaPage, e.nextUnique())) throw new Engine.VmGone();
                }
                t.sliceLeft -= k;
                r.remaining -= k;
                e.worked(k, t.step * (t.sliceSize - t.sliceLeft) / t.sliceSize);
            }
        } finally {
            v.current = null;
        }
    }

    private static long gvaOf(Run r, long off) {
        if (r.maps == null) return r.base + off;
        for (long[] m : r.maps) {
            if (off < m[1]) return m[0] + off;
            off -= m[1];
        }
        return r.maps.get(0)[0];
    }

    private static long gpaPageOf(Run r, long off) {
        if (r.maps == null) return r.pageToGpa[(int) (off >>> 12)];
        for (long[] m : r.maps) {
            if (off < m[1]) return (m[3] + off) >>> 12;
            off -= m[1];
        }
        return -1;
    }
}
