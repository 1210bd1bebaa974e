package org.kvmsim.lang;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.Test;

class SuggestTest {

    @Test
    void nearMissesAreSuggested() {
        assertEquals("pages_to_scan", Suggest.closest("pages_to_scna", Schema.KSM_POLICY.keySet()));
        assertEquals("memory", Suggest.closest("memroy", Schema.VM.keySet()));
        assertEquals("meminfo", Suggest.closest("meminf", List.of("vms", "mmu", "meminfo", "hugepages")));
        assertEquals("hv1", Suggest.closest("hv2", List.of("hv1", "db")));
        assertEquals("never", Suggest.closest("nevr", List.of("always", "madvise", "never")));
    }

    @Test
    void farOffWordsAreNot() {
        assertNull(Suggest.closest("banana", Schema.VM.keySet()));
        assertNull(Suggest.closest("x", List.of("memory")));
        assertNull(Suggest.closest("anything", List.of()));
    }

    @Test
    void transpositionCountsAsOneEdit() {
        assertEquals(1, Suggest.distance("ab", "ba"));
        assertEquals(3, Suggest.distance("kitten", "sitting"));
    }
}
