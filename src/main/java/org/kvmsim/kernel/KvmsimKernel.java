package org.kvmsim.kernel;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.HelpLink;
import org.dflib.jjava.jupyter.kernel.JupyterIO;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.comm.CommManager;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.util.StringStyler;
import org.dflib.jjava.jupyter.messages.Header;
import org.dflib.jjava.jupyter.messages.Message;
import org.dflib.jjava.jupyter.messages.MessageType;
import org.dflib.jjava.jupyter.messages.publish.PublishClearOutput;
import org.dflib.jjava.jupyter.messages.publish.PublishDisplayData;
import org.dflib.jjava.jupyter.messages.publish.PublishError;
import org.dflib.jjava.jupyter.messages.publish.PublishExecuteInput;
import org.dflib.jjava.jupyter.messages.publish.PublishStream;
import org.dflib.jjava.jupyter.messages.publish.PublishUpdateDisplayData;
import org.dflib.jjava.jupyter.messages.reply.ErrorReply;
import org.dflib.jjava.jupyter.messages.reply.ExecuteReply;
import org.dflib.jjava.jupyter.messages.request.ExecuteRequest;
import org.dflib.jjava.jupyter.messages.request.HistoryRequest;
import org.dflib.jjava.jupyter.messages.request.InterruptRequest;
import org.dflib.jjava.jupyter.messages.request.KernelInfoRequest;
import org.dflib.jjava.jupyter.messages.request.ShutdownRequest;
import org.kvmsim.session.Session;

/**
 * The Jupyter kernel: a thin shell over one {@link Session}. A cell is a script run in that
 * session, so declarations persist across cells; what the session produces is published as the
 * protocol asks, and its diagnostics are the cell's error. Completion, inspection and
 * is-complete are answered by {@link Completion}, {@link Inspection} and {@link Completeness}.
 * Handlers the base library gets wrong for strict clients (no {@code status} in several replies,
 * no history reply without a history manager) are overridden here.
 */
public final class KvmsimKernel extends BaseKernel {

    static final String VERSION = version();

    private final Session session;
    /** The cells run with store_history, and their text output (history_request). Shell thread only. */
    private final List<HistoryEntry> cells = new ArrayList<>();
    private final Object cellLock = new Object();
    private boolean cellRunning; // guarded by cellLock
    private KernelConnection connection;
    private volatile boolean warmedUp;

    public KvmsimKernel(Session session) {
        super("kvmsim", VERSION, languageInfo(), helpLinks(), null, new JupyterIO(StandardCharsets.UTF_8),
                new CommManager(), new Renderer(), null, null, false, new StringStyler.Builder().build());
        this.session = session;
    }

    /** The jar's version; outside the jar (tests), the one Maven wrote into version.properties. */
    private static String version() {
        String v = KvmsimKernel.class.getPackage().getImplementationVersion();
        if (v != null) return v;
        try (java.io.InputStream in = KvmsimKernel.class.getResourceAsStream("version.properties")) {
            java.util.Properties p = new java.util.Properties();
            if (in != null) p.load(in);
            return p.getProperty("version", "dev");
        } catch (java.io.IOException e) {
            return "dev";
        }
    }

    /** The kernel_info_reply's language_info (nbclient copies it into an executed notebook's metadata). */
    public static LanguageInfo languageInfo() {
        // pygments_lexer: nbconvert highlights with the lexer of this name (kvmsim_pygments.py, a
        // Pygments plugin `kvmsim kernel install` puts where Python finds it); codemirror_mode: the
        // classic Notebook sets code cells to this CodeMirror mode (defined by the kernelspec's kernel.js).
        return new LanguageInfo.Builder("kvmsim").version(VERSION).mimetype("text/x-kvmsim").fileExtension(".kvm")
                .pygments("kvmsim").codemirror("kvmsim").build();
    }

    private static List<HelpLink> helpLinks() {
        return List.of(
                new HelpLink("KSM (Linux admin guide)", "https://docs.kernel.org/admin-guide/mm/ksm.html"),
                new HelpLink("Transparent hugepages", "https://docs.kernel.org/admin-guide/mm/transhuge.html"),
                new HelpLink("HugeTLB pages", "https://docs.kernel.org/admin-guide/mm/hugetlbpage.html"),
                new HelpLink("QEMU memory backends", "https://www.qemu.org/docs/master/system/invocation.html"));
    }

    @Override
    public String getBanner() {
        return "kvmsim " + VERSION + ": a laboratory for KVM memory virtualization\n"
                + "Declare hosts and VMs, run, and query with show/plot/export. Shift-Tab documents any word.";
    }

    // ---- the language -------------------------------------------------------------------------

    @Override
    public Object evalRaw(String source) {
        throw new UnsupportedOperationException("cells run through handleExecuteRequest");
    }

    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) {
        String doc = Inspection.inspect(code, at, session);
        return doc == null ? null : new DisplayData(doc);
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        Completion.Result r = Completion.complete(code, at, session);
        return new ReplacementOptions(r.matches(), r.start(), r.end());
    }

    @Override
    public String isComplete(String code) {
        Completeness.Result r = Completeness.check(code);
        return switch (r.status()) {
            case COMPLETE -> IS_COMPLETE_YES;
            case INVALID -> IS_COMPLETE_BAD;
            case INCOMPLETE -> r.indent();
        };
    }

    /** Stops the running cell at its next statement or event boundary; with no cell running, nothing. */
    @Override
    public void interrupt() {
        synchronized (cellLock) {
            if (cellRunning) session.interrupt();
        }
    }

    @Override
    public void becomeHandlerForConnection(JupyterConnection connection) {
        super.becomeHandlerForConnection(connection);
        if (connection instanceof KernelConnection k) this.connection = k;
    }

    // ---- handlers -----------------------------------------------------------------------------

    @Override
    protected synchronized void handleExecuteRequest(ShellReplyEnvironment env, Message<ExecuteRequest> message) {
        ExecuteRequest request = message.getContent();
        synchronized (cellLock) {
            // An interrupt that came while no cell ran is not this cell's; one from now on is.
            cellRunning = true;
            session.clearInterrupt();
        }
        boolean failed;
        try {
            failed = !execute(env, request);
        } finally {
            synchronized (cellLock) {
                cellRunning = false;
                session.clearInterrupt();
            }
        }
        // As ipykernel: the cells queued behind a failed (or interrupted) one are aborted.
        if (failed && !request.isSilent() && request.shouldStopOnError() && connection != null) {
            connection.abortQueuedExecuteRequests();
        }
    }

    /** Runs one cell and publishes what it gives; false if it failed. */
    private boolean execute(ShellReplyEnvironment env, ExecuteRequest request) {
        String code = request.getCode();
        env.setBusyDeferIdle();
        int count = request.isSilent() ? executionCount.get() : executionCount.getAndIncrement();
        HistoryEntry entry = null;
        if (!request.isSilent()) {
            env.publish(new PublishExecuteInput(code, count));
            if (request.shouldStoreHistory()) cells.add(entry = new HistoryEntry(code));
        }
        CellOutput out = new CellOutput(sink(env), System::nanoTime);
        Cells.Outcome outcome = Cells.run(session, Cells.source(count, code), out);
        if (entry != null) entry.output = out.transcript();
        if (outcome.ok()) {
            env.defer().reply(new ExecuteReply(count, Map.of()));
            return true;
        }
        ErrorReply error = new ErrorReply(outcome.ename(), outcome.evalue(), outcome.traceback());
        error.setExecutionCount(count);
        env.defer().replyError(ExecuteReply.MESSAGE_TYPE.error(), error);
        return false;
    }

    private static CellOutput.Sink sink(ShellReplyEnvironment env) {
        return new CellOutput.Sink() {
            @Override
            public void stdout(String text) {
                env.publish(new PublishStream(PublishStream.StreamType.OUT, text));
            }

            @Override
            public void display(DisplayData data) {
                env.publish(new PublishDisplayData(data));
            }

            @Override
            public void update(DisplayData data) {
                env.publish(new PublishUpdateDisplayData(data));
            }

            @Override
            public void clear(boolean wait) {
                env.publish(wait ? PublishClearOutput.BEFORE_NEXT_OUTPUT : PublishClearOutput.NOW);
            }

            @Override
            public void error(String ename, String evalue, List<String> traceback) {
                env.publish(new PublishError(ename, evalue, traceback));
            }
        };
    }

    /** The base reply has no {@code status}, which strict clients reject. */
    @Override
    protected void handleKernelInfoRequest(ShellReplyEnvironment env, Message<KernelInfoRequest> message) {
        env.setBusyDeferIdle();
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("status", "ok");
        c.put("protocol_version", Header.PROTOCOL_VERISON);
        c.put("implementation", "kvmsim");
        c.put("implementation_version", VERSION);
        c.put("language_info", getLanguageInfo());
        c.put("banner", getBanner());
        c.put("help_links", getHelpLinks());
        reply(env, MessageType.KERNEL_INFO_REPLY, c);
        if (!warmedUp) {
            warmedUp = true;
            Warmup.start();
        }
    }

    /** The session's cells; the base library never answers without a history manager. */
    @Override
    protected void handleHistoryRequest(ShellReplyEnvironment env, Message<HistoryRequest> message) {
        env.setBusyDeferIdle();
        HistoryRequest request = message.getContent();
        List<Object> entries = new ArrayList<>();
        int from = 0, to;
        synchronized (this) {
            to = cells.size();
            if (request instanceof HistoryRequest.Tail tail) {
                from = Math.max(0, to - tail.getMaxReturnLength());
            } else if (request instanceof HistoryRequest.Range range) {
                from = Math.max(0, range.getStart() - 1);
                to = Math.min(to, Math.max(from, range.getStop() - 1));
            }
            for (int i = from; i < to; i++) {
                HistoryEntry cell = cells.get(i);
                if (request instanceof HistoryRequest.Search s && !glob(s.getPattern(), cell.code)) continue;
                // With output: [input, text output or null], as IPython gives [input, Out or None].
                entries.add(request.includeOutput() ? List.of(1, i + 1, Arrays.asList(cell.code, cell.output))
                        : List.of(1, i + 1, cell.code));
            }
        }
        if (request instanceof HistoryRequest.Search s && s.getMaxReturnLength() > 0 && entries.size() > s.getMaxReturnLength()) {
            entries = entries.subList(entries.size() - s.getMaxReturnLength(), entries.size());
        }
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("status", "ok");
        c.put("history", entries);
        reply(env, MessageType.HISTORY_REPLY, c);
    }

    private static final class HistoryEntry {
        final String code;
        String output;

        HistoryEntry(String code) {
            this.code = code;
        }
    }

    private static boolean glob(String pattern, String text) {
        StringBuilder re = new StringBuilder();
        for (char ch : (pattern == null ? "*" : pattern).toCharArray()) {
            re.append(ch == '*' ? ".*" : ch == '?' ? "." : Pattern.quote(String.valueOf(ch)));
        }
        return Pattern.compile(re.toString(), Pattern.DOTALL).matcher(text).matches();
    }

    @Override
    protected void handleInterruptRequest(ShellReplyEnvironment env, Message<InterruptRequest> message) {
        interrupt();
        env.setBusyDeferIdle();
        reply(env, MessageType.INTERRUPT_REPLY, Map.of("status", "ok"));
    }

    @Override
    protected void handleShutdownRequest(ShellReplyEnvironment env, Message<ShutdownRequest> message) {
        interrupt();
        env.setBusyDeferIdle();
        reply(env, MessageType.SHUTDOWN_REPLY, Map.of("status", "ok", "restart", message.getContent().isRestart()));
        env.markForShutdown();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void reply(ShellReplyEnvironment env, MessageType<?> type, Object content) {
        env.reply(new Message(env.getContext(), type, content));
    }
}
