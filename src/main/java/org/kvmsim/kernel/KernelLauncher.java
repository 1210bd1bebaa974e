package org.kvmsim.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Optional;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.kvmsim.session.Session;

/**
 * Starts the kernel on a connection file and serves until a shutdown_request. The kernelspec
 * runs {@link #main} directly rather than `kvmsim kernel run`: building the CLI's command model
 * costs about a third of the kernel's start-up, and Jupyter waits for kernel_info.
 */
public final class KernelLauncher {

    private KernelLauncher() {}

    /** {@code KernelLauncher CONNECTION_FILE [SEED]}, what kernel.json runs. */
    public static void main(String[] args) {
        if (args.length < 1 || args.length > 2) {
            KernelLog.warn("usage: KernelLauncher CONNECTION_FILE [SEED]");
            System.exit(2);
        }
        watchParent();
        System.exit(run(Path.of(args[0]), args.length > 1 ? Long.parseLong(args[1]) : 1));
    }

    /**
     * Exits when the process that started the kernel is gone, as ipykernel's ParentPollerUnix
     * does: a Jupyter server or client that dies (or is killed) must not leave kernels behind.
     * The parent is JPY_PARENT_PID if the launcher set it, else the process's own parent.
     */
    static void watchParent() {
        Optional<ProcessHandle> parent;
        String pid = System.getenv("JPY_PARENT_PID");
        try {
            parent = pid != null && !pid.isBlank() ? ProcessHandle.of(Long.parseLong(pid.trim()))
                    : ProcessHandle.current().parent();
        } catch (NumberFormatException e) {
            parent = ProcessHandle.current().parent();
        }
        parent.ifPresent(p -> p.onExit().thenRun(() -> {
            KernelLog.warn("the process that started the kernel (pid " + p.pid() + ") exited; stopping");
            Runtime.getRuntime().halt(0);
        }));
    }

    /** Returns the exit code: 0 after a shutdown request, 2 if the connection file is unusable. */
    public static int run(Path connectionFile, long seed) {
        KernelConnectionProperties props;
        try {
            props = KernelConnectionProperties.parse(Files.readString(connectionFile, StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            KernelLog.warn("cannot read connection file " + connectionFile + ": " + e.getMessage());
            return 2;
        }
        KernelConnection connection;
        try {
            connection = new KernelConnection(props);
        } catch (GeneralSecurityException e) {
            KernelLog.warn("unsupported signature scheme " + props.getSignatureScheme() + ": " + e.getMessage());
            return 2;
        }
        Session session = new Session(seed);
        session.outDir(Path.of("").toAbsolutePath());
        KvmsimKernel kernel = new KvmsimKernel(session);
        kernel.becomeHandlerForConnection(connection);
        connection.connect();
        connection.waitUntilClose();
        kernel.onShutdown(false);
        connection.close();
        return 0;
    }
}
