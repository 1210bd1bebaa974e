package org.kvmsim.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.kvmsim.session.Session;

/** Starts the kernel on a connection file and serves until a shutdown_request. */
public final class KernelLauncher {

    private KernelLauncher() {}

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
