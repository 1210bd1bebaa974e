package org.kvmsim.kernel;

import org.kvmsim.lang.SourceFile;
import org.kvmsim.report.Render;
import org.kvmsim.session.Output;
import org.kvmsim.session.Session;
import tech.tablesaw.api.Table;

/**
 * Loads the front end and tablesaw (whose first touch scans the classpath, ~0.4 s) in the
 * background once the kernel has answered kernel_info, so neither start-up nor the first cell
 * pays for it. Runs on a throwaway session; the kernel's own session is never touched.
 */
final class Warmup {

    private Warmup() {}

    static void start() {
        Thread t = new Thread(Warmup::run, "kvmsim-warmup");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        t.start();
    }

    private static void run() {
        try {
            Session s = new Session(0);
            s.execute(new SourceFile("warmup", "host h { memory = 1 GiB }\nvm v on h { memory = 512 MiB }\nshow vms\n"),
                    new Output() {
                        @Override
                        public void print(String text) {}

                        @Override
                        public void table(Table table) {
                            Render.html(table);
                            Render.text(table);
                        }

                        @Override
                        public void chart(String name, byte[] png, String svg) {}
                    });
            Completion.complete("host h {\n  memo", 15, s);
        } catch (RuntimeException e) {
            KernelLog.warn("warm-up failed: " + e);
        }
    }
}
