// Ground truth for kvmsim's host faults, THP and khugepaged (docs/model.md sections 4 and 6):
// usage: thp_probe faultcost MiB
//        thp_probe zeropage MiB
//        thp_probe collapse MiB STRIDE SECS [POLL_SECS]
//        thp_probe ksmthp MiB SHARED SECS
// Prints JSON lines. Reads only /proc and /sys, writes no knob.
// faultcost (oracle O1, the host-fault term of the MMU cost): what the kernel spends faulting
// anonymous memory in on first touch, 4 KiB pages against 2 MiB THPs.
// zeropage (oracle O3): reads of never-written memory map the (huge) zero page, and what a later
// write allocates. One JSON line per phase and a summary line.
// collapse (oracle O2, khugepaged's timeline): touch every STRIDE-th 4 KiB page of a 2 MiB-aligned
// region of MiB under MADV_NOHUGEPAGE, then MADV_HUGEPAGE it (hugepage_madvise() ->
// khugepaged_enter_vma() registers the mm), and poll every POLL_SECS (0.5) for SECS seconds: the region's
// AnonHugePages and Rss (/proc/self/smaps_rollup), khugepaged's pages_collapsed and full_scans,
// and /proc/vmstat's thp_collapse_alloc, thp_collapse_alloc_failed, thp_scan_exceed_none_pte,
// with the THP `enabled` string (a recording whose string changes is not valid). t_s is taken
// with the sysfs counters, before smaps_rollup, whose read waits for mmap_lock while a collapse
// holds it. THP_PROBE_NO_SMAPS=1 in the environment skips smaps_rollup (anon_huge_kb and rss_kb
// print -1), so that the probe never contends for the mmap_lock khugepaged takes.
// ksmthp (oracle O4, KSM against khugepaged): two MADV_HUGEPAGE halves A and B of MiB each, written
// in full (a THP per 2 MiB), where the first SHARED pages of every 2 MiB range hold the same
// content in A and B and the others are unique; then MADV_MERGEABLE over both. Polls every 0.5 s
// for SECS seconds: AnonHugePages, /sys/kernel/mm/ksm pages_shared, pages_sharing, full_scans,
// khugepaged's pages_collapsed and /proc/vmstat's thp_split_page, thp_collapse_alloc,
// thp_scan_exceed_share_pte. Needs ksmd running (the script sets run = 1).
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
static long smaps_kb(const char *name) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r"); char line[256]; long v = -1; size_t n = strlen(name);
    while (fgets(line, sizeof line, f)) if (!strncmp(line, name, n) && line[n] == ':') v = atol(line + n + 1);
    fclose(f); return v;
}
static long sysfs_long(const char *path) {
    FILE *f = fopen(path, "r"); long v = -1;
    if (f) { if (fscanf(f, "%ld", &v) != 1) v = -1; fclose(f); }
    return v;
}
static void enabled(char *buf, size_t n) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f || !fgets(buf, n, f)) buf[0] = 0;
    if (f) fclose(f);
    buf[strcspn(buf, "\n")] = 0;
}
#define KH "/sys/kernel/mm/transparent_hugepage/khugepaged/"
static int collapse(size_t mib, size_t stride, double secs, double poll) {
    size_t bytes = mib << 20;
    char *a = region(bytes, MADV_NOHUGEPAGE);
    for (size_t o = 0; o < bytes; o += stride * 4096) a[o] = 1;
    char en0[128], en[128];
    enabled(en0, sizeof en0);
    long pc0 = sysfs_long(KH "pages_collapsed"), fs0 = sysfs_long(KH "full_scans");
    long ca0 = vmstat("thp_collapse_alloc"), cf0 = vmstat("thp_collapse_alloc_failed"), xn0 = vmstat("thp_scan_exceed_none_pte");
    double t0 = now_ns();
    if (madvise(a, bytes, MADV_HUGEPAGE)) { perror("madvise"); return 1; }
    int valid = 1, smaps = !getenv("THP_PROBE_NO_SMAPS");
    for (int i = 0; ; i++) {
        long pc = sysfs_long(KH "pages_collapsed") - pc0, fs = sysfs_long(KH "full_scans") - fs0;
        long ca = vmstat("thp_collapse_alloc") - ca0, cf = vmstat("thp_collapse_alloc_failed") - cf0;
        long xn = vmstat("thp_scan_exceed_none_pte") - xn0;
        double t = (now_ns() - t0) / 1e9;
        enabled(en, sizeof en);
        if (strcmp(en, en0)) valid = 0;
        printf("{\"t_s\":%.2f,\"anon_huge_kb\":%ld,\"rss_kb\":%ld,\"pages_collapsed\":%ld,\"full_scans\":%ld,"
               "\"thp_collapse_alloc\":%ld,\"thp_collapse_alloc_failed\":%ld,\"thp_scan_exceed_none_pte\":%ld,\"enabled\":\"%s\"}\n",
               t, smaps ? smaps_kb("AnonHugePages") : -1, smaps ? smaps_kb("Rss") : -1, pc, fs, ca, cf, xn, en);
        fflush(stdout);
        if (t >= secs) break;
        struct timespec d = {0, 0};
        double next = t0 + (i + 1) * poll * 1e9 - now_ns();
        if (next > 0) { d.tv_sec = (time_t) (next / 1e9); d.tv_nsec = (long) (next - d.tv_sec * 1e9); nanosleep(&d, NULL); }
    }
    printf("{\"summary\":true,\"mib\":%zu,\"stride\":%zu,\"ranges\":%zu,\"valid\":%s}\n", mib, stride, bytes >> 21, valid ? "true" : "false");
    munmap(a, bytes);
    return valid ? 0 : 3;
}
#define KSM "/sys/kernel/mm/ksm/"
static int ksmthp(size_t mib, size_t shared, double secs) {
    size_t bytes = mib << 20;
    char *a = region(2 * bytes, MADV_HUGEPAGE);
    for (size_t half = 0; half < 2; half++) {
        for (size_t o = 0; o < bytes; o += 4096) {
            size_t range = o >> 21, page = (o >> 12) & 511;
            long *p = (long *) (a + half * bytes + o);
            p[0] = (long) range + 1;
            p[1] = (long) page + 1;
            p[2] = page < shared ? 0 : (long) half + 1;
        }
    }
    long sp0 = vmstat("thp_split_page"), ca0 = vmstat("thp_collapse_alloc"), xs0 = vmstat("thp_scan_exceed_share_pte");
    long pc0 = sysfs_long(KH "pages_collapsed"), fs0 = sysfs_long(KSM "full_scans");
    double t0 = now_ns();
    if (madvise(a, 2 * bytes, MADV_MERGEABLE)) { perror("madvise"); return 1; }
    char en0[128], en[128];
    enabled(en0, sizeof en0);
    int valid = 1;
    for (int i = 0; ; i++) {
        double t = (now_ns() - t0) / 1e9;
        enabled(en, sizeof en);
        if (strcmp(en, en0)) valid = 0;
        printf("{\"t_s\":%.2f,\"anon_huge_kb\":%ld,\"pages_shared\":%ld,\"pages_sharing\":%ld,\"ksm_full_scans\":%ld,"
               "\"thp_split_page\":%ld,\"pages_collapsed\":%ld,\"thp_collapse_alloc\":%ld,\"thp_scan_exceed_share_pte\":%ld,\"enabled\":\"%s\"}\n",
               t, smaps_kb("AnonHugePages"), sysfs_long(KSM "pages_shared"), sysfs_long(KSM "pages_sharing"),
               sysfs_long(KSM "full_scans") - fs0, vmstat("thp_split_page") - sp0, sysfs_long(KH "pages_collapsed") - pc0,
               vmstat("thp_collapse_alloc") - ca0, vmstat("thp_scan_exceed_share_pte") - xs0, en);
        fflush(stdout);
        if (t >= secs) break;
        double next = t0 + (i + 1) * 0.5e9 - now_ns();
        struct timespec d = {0, 0};
        if (next > 0) { d.tv_sec = (time_t) (next / 1e9); d.tv_nsec = (long) (next - d.tv_sec * 1e9); nanosleep(&d, NULL); }
    }
    printf("{\"summary\":true,\"mib\":%zu,\"shared\":%zu,\"valid\":%s}\n", mib, shared, valid ? "true" : "false");
    return valid ? 0 : 3;
}
int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "zeropage")) return zeropage(atol(argv[2]));
    if (argc == 5 && !strcmp(argv[1], "ksmthp")) return ksmthp(atol(argv[2]), atol(argv[3]), atof(argv[4]));
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "collapse"))
        return collapse(atol(argv[2]), atol(argv[3]), atof(argv[4]), argc == 6 ? atof(argv[5]) : 0.5);
    if (argc != 3 || strcmp(argv[1], "faultcost")) {
        fprintf(stderr, "usage: thp_probe faultcost MiB | zeropage MiB | collapse MiB STRIDE SECS [POLL_SECS] | ksmthp MiB SHARED SECS\n");
        return 2;
    }
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
