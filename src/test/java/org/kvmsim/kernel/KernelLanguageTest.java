package org.kvmsim.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.junit.jupiter.api.Test;
import org.kvmsim.lang.Diagnostic;
import org.kvmsim.lang.Schema;
import org.kvmsim.lang.SourceFile;
import org.kvmsim.session.Session;

/** Completion, inspection, is_complete, error text and progress of the kernel, without sockets. */
class KernelLanguageTest {

    private static Session session(String code) {
        Session s = new Session(1);
        if (!code.isEmpty()) {
            Session.Result r = s.execute(new SourceFile("setup", code), new CellOutput(new Recorder(), System::nanoTime));
            assertTrue(r.ok(), () -> r.diagnostics().toString());
        }
        return s;
    }

    private static List<String> complete(String code, Session s) {
        return Completion.complete(code, code.codePointCount(0, code.length()), s).matches();
    }

    @Test
    void attributeOfTheEnclosingBlock() {
        assertEquals(List.of("memory"), complete("host h {\n  memo", session("")));
        assertEquals(List.of("pages_to_scan"), complete("ksm policy p {\n  pages_to", session("")));
        assertEquals(List.of("vcpus", "vcpupin"), complete("host h { memory = 1 GiB }\nvm v on h {\n  vc", session("")));
    }

    @Test
    void replacementRangeCoversTheTypedPrefix() {
        String code = "host h {\n  memo";
        Completion.Result r = Completion.complete(code, code.length(), session(""));
        assertEquals(code.length() - 4, r.start());
        assertEquals(code.length(), r.end());
    }

    @Test
    void keywordsShowTargetsAndUnits() {
        Session s = session("");
        assertEquals(List.of("meminfo"), complete("show meminf", s));
        assertTrue(complete("", s).containsAll(List.of("host", "vm", "show", "run")));
        assertEquals(List.of("MiB"), complete("host h { memory = 512 Mi", s));
        assertEquals(List.of("ms", "min"), complete("run 10 m", s));
        assertEquals(List.of("always"), complete("host h {\n  thp = al", s));
    }

    @Test
    void declaredNamesOfTheRightKind() {
        Session s = session("host alpha { memory = 1 GiB }\nvm avm on alpha { memory = 512 MiB }\n"
                + "ksm policy aggressive { pages_to_scan = 1000 }");
        assertEquals(List.of("alpha"), complete("vm w on a", s));
        assertEquals(List.of("avm"), complete("start a", s));
        assertEquals(List.of("aggressive"), complete("host h2 {\n  ksm = a", s));
        assertEquals(List.of("full_scans"), complete("run until alpha.ksm.full", s));
    }

    @Test
    void inspectionDocumentsAttributesWithTheirKnob() {
        String doc = Inspection.inspect("ksm policy p {\n  pages_to_scan = 100\n}", 20, session(""));
        assertNotNull(doc);
        assertTrue(doc.contains("/sys/kernel/mm/ksm/pages_to_scan"), doc);
        assertTrue(doc.contains("default: 100"), doc);
        assertTrue(Inspection.inspect("vm v {\n  memory = 1 GiB }", 10, session("")).contains("qemu -m"));
    }

    @Test
    void inspectionDocumentsEveryKeywordAndShowTarget() {
        Session s = session("");
        for (String k : Schema.STATEMENTS) {
            String word = k.split(" ")[0];
            assertNotNull(Inspection.inspect(word, 1, s), word);
        }
        for (String t : s.queries().targets()) {
            assertNotNull(Inspection.inspect("show " + t, 6, s), t);
        }
        for (var kind : List.of("host", "vm", "image", "workload", "ksm policy", "hugepages")) {
            for (String a : Schema.of(kind).keySet()) assertNotNull(Inspection.inspect(a, 1, s), a);
        }
        assertNull(Inspection.inspect("   ", 1, s));
    }

    @Test
    void showIsCompletedAndDocumentedFromItsQueries() {
        Session s = session("host h1 { memory = 2 GiB }\nvm v1 on h1 { memory = 512 MiB }");
        assertEquals(List.of("history", "by", "on"), complete("show ksm ", s));
        assertEquals(List.of("vm"), complete("show ksm by v", s));
        assertEquals(List.of("v1", "on"), complete("show walk ", s));
        assertEquals(List.of("on"), complete("show walk v1 ", s));
        assertEquals(List.of("on"), complete("show vms ", s));
        assertEquals(List.of("h1"), complete("show meminfo on ", s));
        String ksm = Inspection.inspect("show ksm", 6, s);
        assertTrue(ksm.contains("show ksm [on HOST]") && ksm.contains("show ksm history") && ksm.contains("show ksm by vm"), ksm);
        assertTrue(Inspection.inspect("show ksm by vm", 13, s).startsWith("show ksm by vm [on HOST]: "));
        assertTrue(Inspection.inspect("show walk v1 0x1000", 11, s).startsWith("vm v1"), "a name is its declaration");
    }

    @Test
    void inspectionOfDeclaredNamesShowsTheirConfiguration() {
        Session s = session("host h1 { memory = 2 GiB }\nvm v1 on h1 { memory = 512 MiB\n vcpus = 2 }\nshow vms");
        String doc = Inspection.inspect("start v1", 7, s);
        assertTrue(doc.startsWith("vm v1"), doc);
        assertTrue(doc.contains("memory = 512 MiB"), doc);
        assertTrue(doc.contains("vcpus = 2"), doc);
        assertTrue(doc.contains("in table vms"), doc);
        assertTrue(Inspection.inspect("vm x on h1", 9, s).contains("memory = 2 GiB"));
    }

    @Test
    void inspectionWordsAreTheLanguagesWhateverTheLocale() {
        // the Turkish-locale test run holds these: MADVISE lowercased under tr is 'madvıse'
        Session s = session("host h1 { memory = 2 GiB; thp = madvise }\nvm v1 on h1 { memory = 512 MiB; paging = native }");
        String host = Inspection.inspect("h1", 1, s);
        assertTrue(host.contains("thp = madvise"), host);
        String vm = Inspection.inspect("v1", 1, s);
        assertTrue(vm.contains("paging = native"), vm);
    }

    @Test
    void isComplete() {
        assertEquals(new Completeness.Result(Completeness.Status.INCOMPLETE, "  "), Completeness.check("host h {"));
        assertEquals(Completeness.Status.INCOMPLETE, Completeness.check("host h {\n  memory = 1 GiB\n").status());
        assertEquals("    ", Completeness.check("host h {\n  hugepages p {").indent());
        assertEquals(Completeness.Status.INVALID, Completeness.check("host a }").status());
        assertEquals(Completeness.Status.INVALID, Completeness.check("print \"open").status());
        assertEquals(Completeness.Status.COMPLETE, Completeness.check("host h { memory = 1 GiB }").status());
        assertEquals(Completeness.Status.COMPLETE, Completeness.check("# only a comment {").status());
        assertEquals(Completeness.Status.COMPLETE, Completeness.check("").status());
    }

    @Test
    void errorIsTheDiagnosticRelativeToTheCell() {
        Session s = session("");
        SourceFile cell = new SourceFile("In[3]", "host a { memory = 1 GiB }\nhost b { memroy = 2 GiB }");
        Session.Result r = s.execute(cell, new CellOutput(new Recorder(), System::nanoTime));
        assertFalse(r.ok());
        String text = r.diagnostics().stream().map((Diagnostic d) -> d.render(cell)).reduce("", String::concat);
        assertTrue(text.contains("In[3]:2:10: error: unknown attribute 'memroy'"), text);
        assertTrue(text.contains("  2 | host b { memroy = 2 GiB }"), text);
        assertTrue(text.contains("^^^^^^"), text);
        assertTrue(text.contains("did you mean 'memory'?"), text);
        assertFalse(text.contains("at org."), text);
    }

    @Test
    void progressAppearsAfterASecondAndUpdatesAtMostFourTimesASecond() {
        Recorder rec = new Recorder();
        long[] now = {0};
        CellOutput out = new CellOutput(rec, () -> now[0]);
        out.progress(1, 100);
        assertTrue(rec.displays.isEmpty(), "no display for the first second");
        for (int ms = 1000; ms <= 3000; ms += 10) {
            now[0] = ms * 1_000_000L;
            out.progress(ms, 10_000);
        }
        assertEquals(1, rec.displays.size());
        assertTrue(rec.updates.size() <= 9, "updates: " + rec.updates.size());
        assertTrue(rec.displays.get(0).hasDisplayId());
        out.finish();
        // the cell showed nothing else: the display goes at once
        assertEquals(List.of("clear(wait=false)"), rec.events.subList(rec.events.size() - 1, rec.events.size()));
    }

    @Test
    void progressIsTakenAwayAndTheCellsOutputsPublishedAgainWhenTheRunIsOver() {
        Recorder rec = new Recorder();
        long[] now = {0};
        CellOutput out = new CellOutput(rec, () -> now[0]);
        out.print("before");
        now[0] = 1_500_000_000L;
        out.progress(5, 10);
        now[0] = 1_800_000_000L;
        out.progress(10, 10);
        out.print("after");
        // nbclient saves what follows a clear_output(wait=true): the outputs without the progress
        assertEquals(List.of("stdout before\n", "display progress", "clear(wait=true)", "stdout before\n", "stdout after\n"),
                rec.events);
        // a second run in the same cell shows its progress only after a second of its own
        now[0] = 2_000_000_000L;
        out.progress(1, 10);
        assertEquals(5, rec.events.size());
        now[0] = 3_000_000_000L;
        out.progress(2, 10);
        out.error("Interrupted", "stopped", List.of("In[1]:1:1: interrupted"));
        assertEquals(List.of("display progress", "clear(wait=true)", "stdout before\n", "stdout after\n", "error Interrupted"),
                rec.events.subList(5, rec.events.size()));
        out.finish();
        assertEquals(10, rec.events.size(), "nothing more to take away");
    }

    @Test
    void aTracesCountBeforeItsRunShowsAsProgressThenGivesWayToTheRun() {
        Recorder rec = new Recorder();
        long[] now = {0};
        CellOutput out = new CellOutput(rec, () -> now[0]);
        out.counting("big.lackey.zst", 16_384);
        assertTrue(rec.displays.isEmpty(), "no display for the first second");
        now[0] = 1_200_000_000L;
        out.counting("big.lackey.zst", 25_000_000);
        assertEquals(1, rec.displays.size());
        String text = rec.displays.get(0).getData(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_PLAIN).toString();
        assertEquals("run: reading trace big.lackey.zst before its first run (once per process): 25.00 M accesses so far", text);
        // the run that follows updates the same display with its simulated time
        now[0] = 1_600_000_000L;
        out.progress(5, 10);
        assertEquals(1, rec.displays.size());
        String run = rec.updates.get(rec.updates.size() - 1).getData(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_PLAIN).toString();
        assertTrue(run.startsWith("run: ") && run.contains("simulated"), run);
        out.finish();
        assertEquals(List.of("display progress", "clear(wait=false)"), rec.events);
    }

    @Test
    void printGoesToStdoutAndTablesToDisplayData() {
        Recorder rec = new Recorder();
        Session s = new Session(1);
        s.execute(new SourceFile("c", "print \"hi\"\nhost h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\nshow vms"),
                new CellOutput(rec, System::nanoTime));
        assertEquals(List.of("hi\n"), rec.stdout);
        assertEquals(1, rec.displays.size());
        assertTrue(rec.displays.get(0).hasDataForType(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_HTML));
        assertTrue(rec.displays.get(0).hasDataForType(org.dflib.jjava.jupyter.kernel.display.mime.MIMEType.TEXT_PLAIN));
    }

    @Test
    void transcriptIsTheCellsTextOutputWithoutProgressAndIsCapped() {
        Recorder rec = new Recorder();
        long[] now = {0};
        CellOutput quiet = new CellOutput(rec, () -> now[0]);
        assertNull(quiet.transcript(), "a cell that showed nothing has no output");
        Session s = new Session(1);
        CellOutput out = new CellOutput(rec, () -> now[0]);
        s.execute(new SourceFile("c", "print \"hi\"\nhost h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\nshow vms"), out);
        now[0] = 2_000_000_000L;
        out.progress(1, 2);
        out.finish();
        String t = out.transcript();
        assertTrue(t.startsWith("hi\n"), t);
        assertTrue(t.contains("536870912"), t);
        assertFalse(t.contains("simulated"), "the progress display is not output: " + t);
        CellOutput big = new CellOutput(rec, () -> now[0]);
        for (int i = 0; i < 10_000; i++) big.print("line " + i);
        String b = big.transcript();
        assertTrue(b.length() < CellOutput.TRANSCRIPT_MAX_CHARS + 100, "length " + b.length());
        assertTrue(b.endsWith("more characters)\n"), b.substring(b.length() - 60));
    }

    @Test
    void anInterruptBeforeTheFirstStatementStopsTheCellUntilCleared() {
        // The kernel forwards an interrupt only while a cell runs, and it may land while the cell
        // is still compiling: execute must not forget it.
        Session s = new Session(1);
        s.interrupt();
        Session.Result r = s.execute(new SourceFile("c", "print \"never\""), new CellOutput(new Recorder(), System::nanoTime));
        assertTrue(r.interrupted());
        assertTrue(r.diagnostics().get(0).message().contains("before line 1"), r.diagnostics().toString());
        s.interrupt();
        s.clearInterrupt();
        Recorder rec = new Recorder();
        assertTrue(s.execute(new SourceFile("c", "print \"runs\""), new CellOutput(rec, System::nanoTime)).ok());
        assertEquals(List.of("runs\n"), rec.stdout);
    }

    static final class Recorder implements CellOutput.Sink {
        final List<String> stdout = new ArrayList<>();
        final List<DisplayData> displays = new ArrayList<>();
        final List<DisplayData> updates = new ArrayList<>();
        /** Every message but updates, in order: "stdout TEXT", "display progress|data", "clear(wait=B)", "error ENAME". */
        final List<String> events = new ArrayList<>();

        @Override
        public void stdout(String text) {
            stdout.add(text);
            events.add("stdout " + text);
        }

        @Override
        public void display(DisplayData data) {
            displays.add(data);
            events.add("display " + (data.hasDisplayId() ? "progress" : "data"));
        }

        @Override
        public void update(DisplayData data) {
            updates.add(data);
        }

        @Override
        public void clear(boolean wait) {
            events.add("clear(wait=" + wait + ")");
        }

        @Override
        public void error(String ename, String evalue, List<String> traceback) {
            events.add("error " + ename);
        }
    }
}
