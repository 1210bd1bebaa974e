package org.kvmsim.sim.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.kvmsim.sim.mem.OomKiller.Candidate;

class OomKillerTest {
    private static final long TOTAL = 1L << 20;

    @Test
    void largestRssPlusPageTablesDies() {
        List<Candidate> vms = List.of(
                new Candidate("a", 1000, 0),
                new Candidate("b", 900, 200 * 4096L),
                new Candidate("c", 1050, 0));
        assertEquals(1, OomKiller.selectVictim(vms, TOTAL), "b: 900 + 200 page-table pages");
    }

    @Test
    void onEqualPointsTheLaterTaskWins() {
        List<Candidate> vms = List.of(new Candidate("a", 500, 0), new Candidate("b", 500, 0),
                new Candidate("c", 100, 0));
        assertEquals(1, OomKiller.selectVictim(vms, TOTAL));
    }

    @Test
    void oomScoreAdjScalesByTotalPagesAndMinimumProtects() {
        List<Candidate> vms = List.of(
                new Candidate("big", 5000, 0, 0, OomKiller.OOM_SCORE_ADJ_MIN, false),
                new Candidate("small", 10, 0, 0, 5, false),
                new Candidate("mid", 4000, 0, 0, 0, false));
        // small: 10 + 5 * (1048576 / 1000) = 5250 > 4000
        assertEquals(1, OomKiller.selectVictim(vms, TOTAL));
        assertEquals(-1, OomKiller.selectVictim(List.of(vms.get(0)), TOTAL));
    }
}
