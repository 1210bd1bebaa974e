package org.kvmsim.kernel;

import org.dflib.jjava.jupyter.channels.JupyterSocket;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.dflib.jjava.jupyter.messages.HMACGenerator;
import org.slf4j.LoggerFactory;
import org.zeromq.SocketType;
import org.zeromq.ZMQ;

/** The heartbeat socket: echoes every ping as soon as it arrives (the base library's loop slept 500 ms). */
final class Heartbeat extends JupyterSocket {

    private volatile boolean running;
    private Thread thread;

    Heartbeat(ZMQ.Context ctx, HMACGenerator hmac) {
        super(ctx, SocketType.REP, hmac, LoggerFactory.getLogger("Heartbeat"));
    }

    @Override
    public void bind(KernelConnectionProperties p) {
        bind(formatAddress(p.getTransport(), p.getIp(), p.getHbPort()));
        running = true;
        thread = new Thread(this::serve, "kvmsim-heartbeat");
        thread.setDaemon(true);
        thread.start();
    }

    private void serve() {
        ZMQ.Poller poller = ctx.poller(1);
        poller.register(this, ZMQ.Poller.POLLIN);
        try {
            while (running) {
                if (poller.poll(100) <= 0) continue;
                byte[] ping = recv();
                while (hasReceiveMore()) {
                    sendMore(ping);
                    ping = recv();
                }
                if (ping != null) send(ping);
            }
        } catch (RuntimeException e) {
            if (running) KernelLog.warn("heartbeat stopped: " + e);
        } finally {
            poller.close();
        }
    }

    void stop() {
        running = false;
        if (thread != null) {
            try {
                thread.join(1200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
