package org.kvmsim.sim.mem;

import java.util.List;

/**
 * The victim choice of the Linux OOM killer (mm/oom_kill.c), for simulated processes (one per
 * VM: its QEMU).
 *
 * <p>oom_badness(): points = rss + swap entries + page-table bytes / 4096, then
 * {@code oom_score_adj * (totalpages / 1000)} is added; a task with oom_score_adj -1000
 * (OOM_SCORE_ADJ_MIN) or otherwise unkillable scores LONG_MIN and is never chosen.
 * select_bad_process() walks the tasks in for_each_process() order (creation order, so here: the
 * order the VMs started) starting from chosen_points = LONG_MIN, and oom_evaluate_task() skips a
 * task only when {@code points < chosen_points}: on equal points the task visited later wins.
 *
 * <p>What counts as rss is the caller's: in Linux get_mm_rss() sums the anon, file and shmem
 * counters; hugetlbfs pages are accounted in mm->hugetlb_usage instead (hugetlb_count_add()), so a
 * hugetlbfs-backed guest's RAM does not raise its badness. A KSM page counts in the rss of every
 * process that maps it.
 *
 * <p>Differs from Linux: no memcg/cpuset/mempolicy constraints (totalpages is the host's RAM plus
 * swap), no oom_task_origin, no in-flight victims aborting the scan, no oom_reaper.
 */
public final class OomKiller {
    public static final int OOM_SCORE_ADJ_MIN = -1000;

    /** One process as oom_badness() sees it; all sizes in 4 KiB pages except pageTableBytes. */
    public record Candidate(String name, long rssPages, long swapPages, long pageTableBytes, int oomScoreAdj,
                            boolean unkillable) {
        public Candidate(String name, long rssPages, long pageTableBytes) {
            this(name, rssPages, 0, pageTableBytes, 0, false);
        }
    }

    private OomKiller() {
    }

    /** oom_badness(): Long.MIN_VALUE when the task may not be chosen. */
    public static long badness(Candidate c, long totalPages) {
        if (c.unkillable() || c.oomScoreAdj() == OOM_SCORE_ADJ_MIN) {
            return Long.MIN_VALUE;
        }
        long points = c.rssPages() + c.swapPages() + c.pageTableBytes() / HostMemory.PAGE_SIZE;
        long adj = (long) c.oomScoreAdj() * (totalPages / 1000);
        return points + adj;
    }

    /** select_bad_process(): the index of the victim in iteration order, or -1 if none may die. */
    public static int selectVictim(List<Candidate> tasks, long totalPages) {
        int chosen = -1;
        long chosenPoints = Long.MIN_VALUE;
        for (int i = 0; i < tasks.size(); i++) {
            long points = badness(tasks.get(i), totalPages);
            if (points == Long.MIN_VALUE || points < chosenPoints) {
                continue;
            }
            chosen = i;
            chosenPoints = points;
        }
        return chosen;
    }
}
