package org.kvmsim.kernel;

import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.CountDownLatch;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.channels.JupyterSocket;
import org.dflib.jjava.jupyter.channels.ShellChannel;
import org.dflib.jjava.jupyter.channels.ShellReplyEnvironment;
import org.dflib.jjava.jupyter.channels.StdinChannel;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.dflib.jjava.jupyter.messages.HMACGenerator;
import org.dflib.jjava.jupyter.messages.Message;
import org.dflib.jjava.jupyter.messages.MessageContext;
import org.dflib.jjava.jupyter.messages.publish.PublishStatus;
import org.zeromq.ZMQ;

/**
 * The kernel's five sockets, bound to the address and ports of the connection file. Shell,
 * control and heartbeat are ours ({@link ShellPump}, {@link Heartbeat}); stdin and iopub are the
 * base library's. The base class's own shell, control and heartbeat sockets are never bound.
 */
final class KernelConnection extends JupyterConnection {

    private static final int LINGER_MS = 500;

    private final KernelConnectionProperties props;
    private final ZMQ.Context ctx = ZMQ.context(1);
    private final ShellPump shellPump;
    private final ShellPump controlPump;
    private final Heartbeat heartbeat;
    private final CountDownLatch shutdown = new CountDownLatch(1);

    KernelConnection(KernelConnectionProperties props) throws NoSuchAlgorithmException, InvalidKeyException {
        super(props);
        this.props = props;
        HMACGenerator hmac = props.createHMACGenerator();
        shellPump = new ShellPump(ctx, hmac, false, this);
        controlPump = new ShellPump(ctx, hmac, true, this);
        heartbeat = new Heartbeat(ctx, hmac);
    }

    @Override
    public void connect() {
        Timestamps.useMilliseconds();
        stdin.bind(props);
        iopub.bind(props);
        heartbeat.bind(props);
        controlPump.bind(props);
        shellPump.bind(props);
        iopub.sendMessage(new Message<>(null, PublishStatus.MESSAGE_TYPE, PublishStatus.STARTING));
    }

    @Override
    public ShellReplyEnvironment prepareReplyEnv(ShellChannel shell, MessageContext context) {
        return new ReplyEnvironment(shell, stdin, iopub, context);
    }

    /**
     * The library's {@code setBusyDeferIdle} builds the idle status message (and so stamps its
     * header date) when the request starts, and only sends it at the end: front ends that time
     * cells from busy/idle dates saw every cell take no time. Here idle is built when it is sent.
     */
    private static final class ReplyEnvironment extends ShellReplyEnvironment {
        ReplyEnvironment(ShellChannel shell, StdinChannel stdin, JupyterSocket iopub, MessageContext context) {
            super(shell, stdin, iopub, context);
        }

        @Override
        public void setBusyDeferIdle() {
            setStatusBusy();
            defer(this::setStatusIdle);
        }
    }

    /** After a failed cell: the execute_requests already waiting on shell are aborted. */
    void abortQueuedExecuteRequests() {
        shellPump.abortQueuedExecuteRequests();
    }

    void shutdownRequested() {
        shutdown.countDown();
    }

    /** Blocks until a shutdown_request was answered. */
    @Override
    public void waitUntilClose() {
        try {
            shutdown.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shellPump.stop();
        controlPump.stop();
        heartbeat.stop();
        for (var s : new org.zeromq.ZMQ.Socket[] {shellPump, controlPump, heartbeat, iopub, stdin}) s.setLinger(LINGER_MS);
        shellPump.close();
        controlPump.close();
        heartbeat.close();
        super.close();
        ctx.close();
    }
}
