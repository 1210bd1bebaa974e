package org.kvmsim.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class CpuModelTest {

    @Test
    void thePresetsAreBuildable() {
        for (String p : CpuModel.presets()) {
            assertEquals(List.of(), CpuModel.preset(p).geometryProblems(), p);
        }
    }

    @Test
    void aGeometryWithoutPowerOfTwoSetsNamesTheKnobsAndANearbyChoice() {
        List<CpuModel.GeometryProblem> ps = CpuModel.skylake().with(Map.of("stlb_entries", 1000L)).geometryProblems();
        assertEquals(1, ps.size());
        assertEquals(List.of("stlb_entries", "stlb_ways"), ps.get(0).knobs());
        assertTrue(ps.get(0).message().contains("768 or 1536"), ps.get(0).message());
        // 0 entries disables a structure whatever its ways; a fully associative one takes any count
        assertEquals(List.of(), CpuModel.skylake().with(Map.of("ntlb_entries", 0L, "ntlb_ways", 0L, "psc_pdpt_entries", 3L))
                .geometryProblems());
        assertEquals(List.of("psc_pde_entries", "psc_ways"),
                CpuModel.skylake().with(Map.of("psc_ways", 3L)).geometryProblems().get(0).knobs());
    }
}
