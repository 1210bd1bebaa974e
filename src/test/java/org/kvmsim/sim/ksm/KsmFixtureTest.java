package org.kvmsim.sim.ksm;

import org.kvmsim.sim.view.KsmCounters;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replays every real-kernel recording in fixtures/ksm through {@link Ksmd}: the same layout in
 * the same processes, ksmd woken every sleep_millisecs, and every counter of every full scan
 * must match (pages_scanned and pages_skipped as growth since the "start" line).
 *
 * Two races of the recording are allowed for, both explained in fixtures/ksm/README.md: the
 * "after_write" line is read right after the printing process wrote, while the other processes
 * may or may not have written yet; and the last line may be read after the other processes,
 * which stop on their own at the last scan, exited. Only ksm_zero_pages can differ between those
 * states, so either state is accepted there, each of them exactly.
 */
class KsmFixtureTest {

    static final String[] FIELDS = {"full_scans", "pages_scanned", "pages_shared", "pages_sharing",
            "pages_unshared", "pages_volatile", "pages_skipped", "ksm_zero_pages", "stable_node_chains",
            "stable_node_dups", "general_profit"};

    static Path dir() throws URISyntaxException {
        return Path.of(KsmFixtureTest.class.getResource("/fixtures/ksm").toURI());
    }

    static Stream<String> fixtures() throws Exception {
        try (Stream<Path> files = Files.list(dir())) {
            List<String> names = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".jsonl")).map(n -> n.substring(0, n.length() - 6)).sorted().toList();
            return names.stream();
        }
    }

    /** The parameters of one recording, from its .cmd. */
    record Params(int pagesToScan, boolean smart, boolean zero, int maxPageSharing, int procs, int pages,
                  int groups, int perGroup, int zeros, int scans, int writeAfter, int writePages,
                  int volatilePages, int imagePages) {
        static Params parse(String cmd) {
            String[] a = cmd.strip().split("\\s+");
            int i = 1;
            int pts = Integer.parseInt(a[i++]);
            boolean smart = a[i++].equals("1");
            boolean zero = a[i++].equals("1");
            int mps = Integer.parseInt(a[i++]);
            int procs = Integer.parseInt(a[i++]);
            i++; // --
            int[] rest = new int[9];
            for (int k = 0; k < 9 && i < a.length; k++) {
                rest[k] = Integer.parseInt(a[i++]);
            }
            return new Params(pts, smart, zero, mps, procs, rest[0], rest[1], rest[2], rest[3], rest[4],
                    rest[5], rest[6], rest[7], rest[8]);
        }
    }

    static long[] values(JsonObject o, JsonObject start) {
        long[] v = new long[FIELDS.length];
        for (int i = 0; i < FIELDS.length; i++) {
            v[i] = o.get(FIELDS[i]).getAsLong();
        }
        v[1] -= start.get("pages_scanned").getAsLong();
        v[6] -= start.get("pages_skipped").getAsLong();
        return v;
    }

    static long[] values(KsmCounters c) {
        return new long[] {c.fullScans(), c.pagesScanned(), c.pagesShared(), c.pagesSharing(), c.pagesUnshared(),
                c.pagesVolatile(), c.pagesSkipped(), c.ksmZeroPages(), c.stableNodeChains(), c.stableNodeDups(),
                c.generalProfit()};
    }

    static String diff(long[] want, long[] got) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < FIELDS.length; i++) {
            if (want[i] != got[i]) {
                b.append(' ').append(FIELDS[i]).append(" real=").append(want[i]).append(" sim=").append(got[i]);
            }
        }
        return b.toString();
    }

    /** Replays one recording; returns the mismatches, one line per line of the recording. */
    static List<String> replay(String name) throws Exception {
        Params p = Params.parse(Files.readString(dir().resolve(name + ".cmd")));
        List<JsonObject> lines = new ArrayList<>();
        for (String l : Files.readAllLines(dir().resolve(name + ".jsonl"))) {
            if (!l.isBlank()) {
                lines.add(JsonParser.parseString(l).getAsJsonObject());
            }
        }
        JsonObject start = lines.get(0);
        Ksmd ksmd = new Ksmd();
        ksmd.setPagesToScan(p.pagesToScan());
        ksmd.setSleepMillisecs(20);
        ksmd.setSmartScan(p.smart());
        ksmd.setUseZeroPages(p.zero());
        ksmd.setMaxPageSharing(p.maxPageSharing());
        // children register first, one after another; the printing parent last
        ProbeLayout[] procs = new ProbeLayout[p.procs()];
        int[] slot = new int[p.procs()];
        for (int i = 0; i < p.procs(); i++) {
            procs[i] = new ProbeLayout(p.pages(), p.groups(), p.perGroup(), p.zeros(), p.imagePages(),
                    p.volatilePages(), 1000 + i);
            slot[i] = ksmd.addSlot(procs[i]);
        }
        int parent = p.procs() - 1;
        ksmd.setRun(1);
        List<String> errors = new ArrayList<>();
        long now = 0;
        long tick = 0;
        int line = 1;
        int seen = 0;
        for (int wake = 0; line < lines.size() && wake < 1_000_000; wake++) {
            tick++;
            for (ProbeLayout pl : procs) {
                pl.tick(tick);
            }
            ksmd.wakeUp(now);
            now += 20_000_000L;
            List<KsmCounters> h = ksmd.history();
            while (seen < h.size() && line < lines.size()) {
                KsmCounters c = h.get(seen++);
                JsonObject want = lines.get(line++);
                boolean last = line == lines.size();
                long[] real = values(want, start);
                String d = diff(real, values(c));
                if (!d.isEmpty() && last && p.procs() > 1) {
                    // the other processes may already have exited
                    for (int i = 0; i < parent; i++) {
                        ksmd.removeSlot(slot[i]);
                    }
                    d = diff(real, values(ksmd.counters()));
                }
                if (!d.isEmpty()) {
                    errors.add(name + " scan " + want.get("scan") + ":" + d);
                }
                if (want.get("scan").getAsInt() == p.writeAfter() && line < lines.size()) {
                    JsonObject after = lines.get(line++);
                    long[] realAfter = values(after, start);
                    procs[parent].write(p.writePages(), ksmd, slot[parent]);
                    String d1 = diff(realAfter, values(ksmd.counters()));
                    for (int i = 0; i < parent; i++) {
                        procs[i].write(p.writePages(), ksmd, slot[i]);
                    }
                    String d2 = diff(realAfter, values(ksmd.counters()));
                    if (!d1.isEmpty() && !d2.isEmpty()) {
                        errors.add(name + " after_write:" + d2);
                    }
                }
            }
        }
        if (line < lines.size()) {
            errors.add(name + ": simulation never reached line " + line);
        }
        return errors;
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void everyCounterOfEveryFullScanMatchesTheRealKernel(String name) throws Exception {
        List<String> errors = replay(name);
        if (!errors.isEmpty()) {
            fail(String.join("\n", errors));
        }
        assertTrue(errors.isEmpty());
    }
}
