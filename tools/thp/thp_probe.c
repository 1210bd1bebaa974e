// Ground truth for kvmsim's host faults (docs/model.md sections 4 and 6), two modes:
//   faultcost MiB  what the kernel spends faulting anonymous memory in on first touch, 4 KiB
//                  pages against 2 MiB THPs (oracle O1, the host-fault term)
//   zeropage MiB   reads of never-written memory map the (huge) zero page, and what a later
//                  write allocates (oracle O3)
// usage: thp_probe faultcost|zeropage MiB
// Prints one JSON line per phase and a summary line. Reads only /proc and /sys, writes no knob.
// faultcost phases, each over its own 2 MiB-aligned region of MiB:
//   warmup   touched once with MADV_HUGEPAGE and once with MADV_NOHUGEPAGE, unmapped, untimed
//            (this machine is a VM: its own first use of a frame may take the outer host's
//            fault; the buddy lists hand the same frames back)
//   small    MADV_NOHUGEPAGE, one write per 4 KiB: do_anonymous_page() for every page
//   retouch  the same pages again, present: no fault
//   thp      MADV_HUGEPAGE, one write per 4 KiB: do_huge_pmd_anonymous_page() per 2 MiB
//            (thp_fault_alloc must rise by MiB/2, else the run is marked invalid)
// zeropage phases, each line the process's smaps_rollup Rss and AnonHugePages (kB) and the
// /proc/vmstat deltas since the start of its region:
//   huge_start, huge_read, huge_write   MADV_HUGEPAGE: a read of one byte per 2 MiB
//            (do_huge_pmd_anonymous_page() maps the huge zero page), then a write of one byte
//            per 2 MiB (do_huge_zero_wp_pmd())
//   small_start, small_read, small_write   MADV_NOHUGEPAGE: the same per 4 KiB
//            (do_anonymous_page() maps the zero page; a write is wp_page_copy())
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static long vmstat(const char *name) {
    FILE *f = fopen("/proc/vmstat", "r"); char k[128]; long v, r = -1;
    while (fscanf(f, "%127s %ld", k, &v) == 2) if (!strcmp(k, name)) r = v;
    fclose(f); return r;
}
static double now_ns(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec;
}
static char *region(size_t bytes, int advice) {
    size_t hp = 2UL << 20;
    char *m = mmap(NULL, bytes + hp, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) { perror("mmap"); exit(1); }
    char *a = (char *) (((uintptr_t) m + hp - 1) & ~(hp - 1));
    if (madvise(a, bytes, advice)) { perror("madvise"); exit(1); }
    return a;
}
static double touch(char *a, size_t bytes) {
    double t0 = now_ns();
    for (size_t o = 0; o < bytes; o += 4096) a[o] = 1;
    return now_ns() - t0;
}
static long rollup(const char *name) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r"); char line[256]; long v, r = -1; size_t n = strlen(name);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, name, n) && line[n] == ':' && sscanf(line + n + 1, "%ld", &v) == 1) r = v;
    fclose(f); return r;
}
static const char *const counters[] = {"thp_fault_alloc", "thp_fault_fallback", "thp_zero_page_alloc",
                                       "thp_zero_page_alloc_failed", "thp_split_pmd"};
#define NCOUNTERS (sizeof counters / sizeof *counters)
static void snapshot(long *v) { for (size_t i = 0; i < NCOUNTERS; i++) v[i] = vmstat(counters[i]); }
static void report(const char *phase, size_t mib, const long *base) {
    long now[NCOUNTERS]; snapshot(now);
    printf("{\"phase\":\"%s\",\"mib\":%zu,\"rss_kb\":%ld,\"anon_huge_kb\":%ld", phase, mib,
           rollup("Rss"), rollup("AnonHugePages"));
    for (size_t i = 0; i < NCOUNTERS; i++) printf(",\"%s\":%ld", counters[i], now[i] - base[i]);
    printf("}\n");
}
static long sum;  // what the reads saw, printed so that the compiler keeps them
static void access_each(char *a, size_t bytes, size_t step, int write) {
    for (size_t o = 0; o < bytes; o += step) { if (write) a[o] = 1; else sum += *(volatile char *) (a + o); }
}
static int zeropage(size_t mib) {
    size_t bytes = mib << 20;
    long base[NCOUNTERS];
    snapshot(base);
    report("warmup", mib, base);  // stdio's and the readers' own first allocations, before the regions
    char *h = region(bytes, MADV_HUGEPAGE);
    snapshot(base);
    report("huge_start", mib, base);
    access_each(h, bytes, 2UL << 20, 0);
    report("huge_read", mib, base);
    long hr = rollup("AnonHugePages");
    access_each(h, bytes, 2UL << 20, 1);
    report("huge_write", mib, base);
    long hw = rollup("AnonHugePages");
    munmap(h, bytes);

    char *s = region(bytes, MADV_NOHUGEPAGE);
    snapshot(base);
    report("small_start", mib, base);
    long r0 = rollup("Rss");
    access_each(s, bytes, 4096, 0);
    report("small_read", mib, base);
    long r1 = rollup("Rss");
    access_each(s, bytes, 4096, 1);
    report("small_write", mib, base);
    long r2 = rollup("Rss");
    munmap(s, bytes);
    // valid when THP was really in effect for the huge region: the writes made MiB/2 THPs
    int valid = hw - hr == (long) (mib << 10);
    printf("{\"summary\":true,\"mib\":%zu,\"huge_anon_huge_kb_after_read\":%ld,\"huge_anon_huge_kb_after_write\":%ld,"
           "\"small_rss_kb_read\":%ld,\"small_rss_kb_write\":%ld,\"sum\":%ld,\"valid\":%s}\n",
           mib, hr, hw, r1 - r0, r2 - r0, sum, valid ? "true" : "false");
    return valid ? 0 : 3;
}
int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "zeropage")) return zeropage(atol(argv[2]));
    if (argc != 3 || strcmp(argv[1], "faultcost")) { fprintf(stderr, "usage: thp_probe faultcost|zeropage MiB\n"); return 2; }
    size_t mib = atol(argv[2]), bytes = mib << 20, pages = bytes >> 12, ranges = bytes >> 21;
    char *w = region(bytes, MADV_HUGEPAGE); touch(w, bytes); munmap(w, bytes);
    w = region(bytes, MADV_NOHUGEPAGE); touch(w, bytes); munmap(w, bytes);

    char *s = region(bytes, MADV_NOHUGEPAGE);
    long s0 = vmstat("thp_fault_alloc");
    double small = touch(s, bytes);
    long s1 = vmstat("thp_fault_alloc");
    double retouch = touch(s, bytes);
    printf("{\"phase\":\"small\",\"mib\":%zu,\"ns\":%.0f,\"ns_per_4k\":%.1f,\"thp_fault_alloc\":%ld}\n", mib, small, small / pages, s1 - s0);
    printf("{\"phase\":\"retouch\",\"mib\":%zu,\"ns\":%.0f,\"ns_per_4k\":%.1f}\n", mib, retouch, retouch / pages);
    munmap(s, bytes);

    char *h = region(bytes, MADV_HUGEPAGE);
    long h0 = vmstat("thp_fault_alloc"), f0 = vmstat("thp_fault_fallback"), c0 = vmstat("compact_stall");
    double thp = touch(h, bytes);
    long h1 = vmstat("thp_fault_alloc"), f1 = vmstat("thp_fault_fallback"), c1 = vmstat("compact_stall");
    printf("{\"phase\":\"thp\",\"mib\":%zu,\"ns\":%.0f,\"ns_per_2m\":%.0f,\"thp_fault_alloc\":%ld,\"thp_fault_fallback\":%ld,\"compact_stall\":%ld}\n",
           mib, thp, thp / ranges, h1 - h0, f1 - f0, c1 - c0);
    munmap(h, bytes);

    int valid = (size_t) (h1 - h0) == ranges && s1 == s0;
    printf("{\"summary\":true,\"mib\":%zu,\"ns_per_4k\":%.1f,\"small_ns_per_2m\":%.0f,\"thp_ns_per_2m\":%.0f,"
           "\"ratio_4k_to_thp_per_2m\":%.3f,\"retouch_ns_per_4k\":%.1f,\"valid\":%s}\n",
           mib, small / pages, small / ranges, thp / ranges, small / thp, retouch / pages, valid ? "true" : "false");
    return valid ? 0 : 3;
}
