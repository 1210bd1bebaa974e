package org.kvmsim.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.channels.ShellChannel;
import org.dflib.jjava.jupyter.channels.ShellHandler;
import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.dflib.jjava.jupyter.messages.HMACGenerator;
import org.dflib.jjava.jupyter.messages.Message;
import org.dflib.jjava.jupyter.messages.MessageType;
import org.zeromq.ZMQ;

/**
 * The shell or control socket, served by a thread that blocks in poll until a message arrives.
 * The base library's loop polls without waiting and then sleeps 50 ms, so every request waited
 * up to 50 ms before it was read. Its loop also died on the first message whose signature did
 * not verify; here such a message is dropped (never handled) and the loop goes on. After a
 * failed cell the execute_requests already queued are aborted, as ipykernel does.
 */
final class ShellPump extends ShellChannel {

    private static final int POLL_MS = 100;

    private final boolean control;
    private final KernelConnection connection;
    private volatile boolean running;
    /** Requests that were waiting when a cell failed: aborted (execute) or handled once it has replied. */
    private final List<Message<?>> toAbort = new ArrayList<>();
    private ZMQ.Poller poller;
    private Thread thread;

    ShellPump(ZMQ.Context ctx, HMACGenerator hmac, boolean control, KernelConnection connection) {
        super(ctx, hmac, control, connection);
        this.control = control;
        this.connection = connection;
    }

    @Override
    public void bind(KernelConnectionProperties p) {
        bind(formatAddress(p.getTransport(), p.getIp(), control ? p.getControlPort() : p.getShellPort()));
        running = true;
        thread = new Thread(this::serve, control ? "kvmsim-control" : "kvmsim-shell");
        thread.setDaemon(true);
        thread.start();
    }

    private void serve() {
        Timestamps.useMilliseconds();
        ZMQ.Poller poller = ctx.poller(1);
        poller.register(this, ZMQ.Poller.POLLIN);
        this.poller = poller;
        try {
            while (running) {
                if (poller.poll(POLL_MS) <= 0) continue;
                Message<?> message = read();
                if (message != null) handle(message);
                if (!toAbort.isEmpty()) abortQueue();
            }
        } catch (RuntimeException e) {
            if (running) KernelLog.warn((control ? "control" : "shell") + " loop stopped: " + e);
        } finally {
            poller.close();
        }
    }

    /** The next message, or null if it was dropped (bad signature, malformed). */
    private Message<?> read() {
        try {
            return readMessage();
        } catch (SecurityException e) {
            KernelLog.warn("dropped a message whose signature does not verify");
        } catch (RuntimeException e) {
            KernelLog.warn("dropped a malformed message: " + e.getMessage());
        }
        return null;
    }

    /**
     * Takes the requests already waiting, so that once the failed cell has replied its queued
     * execute_requests are aborted: the kernel calls it (on this thread) when a cell failed with
     * stop_on_error, before the failed cell's reply goes out. A request that arrives after that
     * reply (a client reacting to the failure) is not among them and runs.
     */
    void abortQueuedExecuteRequests() {
        while (running && poller != null && poller.poll(0) > 0) {
            Message<?> message = read();
            if (message != null) toAbort.add(message);
        }
    }

    /**
     * What ipykernel does after a failed cell (stop_on_error): every execute_request that was
     * already waiting gets an execute_reply with status "aborted" and is not run; other requests
     * are handled as usual.
     */
    private void abortQueue() {
        List<Message<?>> waiting = new ArrayList<>(toAbort);
        toAbort.clear();
        for (Message<?> message : waiting) {
            if (message.getHeader().getType() == MessageType.EXECUTE_REQUEST) abort(message);
            else handle(message);
        }
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void abort(Message<?> message) {
        ShellReplyEnvironment env = connection.prepareReplyEnv(this, message);
        env.setBusyDeferIdle();
        Map<String, Object> status = Map.of("status", "aborted");
        env.reply(new Message(env.getContext(), MessageType.EXECUTE_REPLY, status, null, status));
        env.resolveDeferrals();
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private void handle(Message<?> message) {
        ShellHandler handler = ((JupyterConnection) connection).getHandler(message.getHeader().getType());
        if (handler == null) {
            KernelLog.warn("no handler for " + message.getHeader().getType().getName());
            return;
        }
        ShellReplyEnvironment env = connection.prepareReplyEnv(this, message);
        try {
            handler.handle(env, message);
        } catch (RuntimeException e) {
            KernelLog.warn("handling " + message.getHeader().getType().getName() + " failed: " + e);
        } finally {
            env.resolveDeferrals();
        }
        if (env.isMarkedForShutdown()) connection.shutdownRequested();
    }

    /** Stops the loop and waits for it, so the socket can then be closed from this thread. */
    void stop() {
        running = false;
        if (thread != null && thread != Thread.currentThread()) {
            try {
                thread.join(2 * POLL_MS + 1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
