package org.kvmsim.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** What the registry tells the rest of kvmsim, and the layering that keeps queries on the view. */
class QueriesTest {

    @Test
    void targetsAreTheFirstWordsInHelpOrder() {
        assertEquals(List.of("vms", "translate", "walk", "mmu", "cpus", "ksm", "meminfo", "khugepaged", "hugepages",
                "pagetable", "pagetables", "workloads", "events"), Queries.all().targets());
    }

    @Test
    void onlyWalkAndTranslateChangeStateAndTheyAndPagetableNeedTheirVmStarted() {
        // what a sweep replays and what the session answers on a started copy
        List<String> changing = new ArrayList<>();
        for (Query<?> q : Queries.all().queries()) {
            if (q.changesState()) changing.add(String.join(" ", q.words()));
        }
        assertEquals(List.of("translate", "walk"), changing);
        assertEquals("g", Queries.all().vm(new WalkQuery.Args("g", null, 0x1000)));
        assertEquals("g", Queries.all().vm(new TranslateQuery.Args("g", "app", 0x1000)));
        assertEquals("g", Queries.all().vm(new PagetableQuery.Args("g", "app")));
        assertNull(Queries.all().vm(new MmuQuery.Args(List.of("g"))));
        assertNull(Queries.all().vm(new KsmByVmQuery.Args(null)));
    }

    private static final Pattern IMPORT = Pattern.compile("org\\.kvmsim\\.([a-z]+(?:\\.[a-z]+)?)");

    /** The org.kvmsim packages the sources under {@code dir} name. */
    private static List<String> uses(String dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("src/main/java/org/kvmsim", dir))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = IMPORT.matcher(Files.readString(f));
                while (m.find()) out.add(f.getFileName() + ": " + m.group(1));
            }
        }
        return out;
    }

    @Test
    void queriesSeeTheSimulationOnlyThroughItsViewAndTheLanguageSeesNeither() throws IOException {
        for (String use : uses("query")) {
            String pkg = use.substring(use.indexOf(": ") + 2);
            assertTrue(!pkg.startsWith("sim") || pkg.equals("sim.view"), use);
            assertTrue(!pkg.startsWith("session"), use);
        }
        for (String dir : List.of("lang", "model")) {
            for (String use : uses(dir)) {
                assertTrue(!use.contains(": query") && !use.contains(": sim") && !use.contains(": session"), use);
            }
        }
    }
}
