package org.kvmsim.cli;

import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import org.kvmsim.session.Session;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * `kvmsim sweep [--spark [--master URL]] FILE...`: runs scripts as `kvmsim run` does, with the
 * same output byte for byte; with --spark each value of a sweep is a task on Apache Spark
 * (org.kvmsim.spark.SparkSweeps), on this machine (local[*]) or a standalone cluster
 * (spark://); Kubernetes and YARN through a Spark distribution's spark-submit, whose --master
 * this takes when --master is not given (spark-core alone has no k8s or yarn cluster manager). Spark is not on the core jar's class path: the
 * launcher adds target/spark-lib for this command, and spark-submit brings its own; without it
 * --spark says so and exits 2.
 */
@Command(name = "sweep", description = "Run scripts as `run` does; with --spark each sweep value is a task on Apache Spark.")
final class SweepCommand extends RunCommand {

    @Option(names = "--spark", description = "run each sweep value as a task on Apache Spark")
    boolean spark;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master: local[*], local[N] or spark://HOST:PORT (default: spark-submit's, else local[*]);"
                    + " k8s:// and yarn through a Spark distribution's spark-submit")
    String master;

    @Override
    Session.RemoteSweeps remoteSweeps(PrintWriter stderr) throws CannotStart {
        if (!spark) {
            if (master != null) throw new CannotStart("--master names a Spark master: it needs --spark", 2);
            return null;
        }
        Class<?> c;
        try {
            c = Class.forName("org.kvmsim.spark.SparkSweeps");
            // the class loads without Spark; its first use of a Spark class is what fails
            Class.forName("org.apache.spark.SparkConf");
        } catch (ClassNotFoundException | LinkageError e) {
            throw new CannotStart("Spark is not on the class path: run `./kvmsim sweep --spark ...` (the launcher adds"
                    + " target/spark-lib, which `mvn package` fills), or submit with spark-submit (README, \"Sweeps on Spark\")", 2);
        }
        try {
            return (Session.RemoteSweeps) c.getConstructor(String.class).newInstance(master);
        } catch (InvocationTargetException e) {
            Throwable why = e.getCause();
            throw new CannotStart("cannot start Spark" + (master == null ? "" : " on " + master) + ": " + why.getMessage(), 1);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
