package org.kvmsim.spark;

import java.io.Serializable;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.spark.SimpleFutureAction;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.kvmsim.session.Session;
import org.kvmsim.session.SweepTask;
import scala.runtime.BoxedUnit;

/**
 * Sweeps on Apache Spark: each value of a sweep is one Spark task ({@link SweepTask#run}), which
 * rebuilds the sweep's starting state from the script's text on a fresh engine, runs the value,
 * and returns its output encoded (tables as raw values, prints, charts, exports to write); the
 * driver sends each value's output on as soon as it and every value before it are in, so the
 * driver holds results, never an engine, and the output is byte for byte a local sweep's.
 *
 * <p>One RDD partition per value, so Spark spreads values over every executor core; the job is
 * submitted with a result handler ({@code SparkContext.submitJob}) rather than collected, so the
 * first values' output streams out while later ones still run. Ctrl-C, or a value that fails,
 * cancels the job, its running tasks interrupted.
 *
 * <p>Where it differs from a local sweep: the memory guard is per task (each task checks its own
 * engine against its executor's heap, not against the other tasks on that executor: give
 * executors {@code spark.executor.memory} for {@code spark.executor.cores} engines), the progress
 * bar does not show a task's progress, and files the script reads (traces) must be at the same
 * path on every executor.
 */
public final class SparkSweeps implements Session.RemoteSweeps, AutoCloseable {

    private final JavaSparkContext spark;
    /**
     * Numbers the jobs' groups. Atomic: `kvmsim sweep --spark A B C` runs the scripts side by
     * side through this one object, and two scripts once drew the same number.
     */
    private final java.util.concurrent.atomic.AtomicInteger jobs = new java.util.concurrent.atomic.AtomicInteger();
    /** The next job's group number (a test puts every job in one group: see SparkSweepTest). */
    java.util.function.IntSupplier groups = jobs::incrementAndGet;

    /**
     * A Spark context for {@code master} (null: the spark.master that spark-submit set, else
     * local[*]). Outside local mode the executors are sent kvmsim's jar and its libraries
     * (spark.jars) unless the configuration names jars already.
     */
    public SparkSweeps(String master) {
        SparkConf conf = new SparkConf().setAppName("kvmsim sweep");
        if (master != null) conf.setMaster(master);
        else conf.setIfMissing("spark.master", "local[*]");
        // no web UI on port 4040 unless asked: a CLI run on a laptop should not open a port
        conf.setIfMissing("spark.ui.enabled", "false");
        if (!conf.get("spark.master").startsWith("local") && !conf.contains("spark.jars")) {
            String jars = String.join(",", kvmsimJars());
            if (!jars.isEmpty()) conf.set("spark.jars", jars);
        }
        spark = new JavaSparkContext(conf);
    }

    /** The master this context runs on. */
    public String master() {
        return spark.master();
    }

    @Override
    public boolean run(SweepTask task, Session.ValueSink inOrder, BooleanSupplier stop) {
        try {
            return runJob(task, inOrder, stop);
        } catch (IllegalStateException e) {
            // Spark stops its context from a shutdown hook of its own (SparkShutdownHookManager):
            // on Ctrl-C or SIGTERM it may run before kvmsim's hook has asked the session to stop,
            // and every call on the context then throws. That is the signal's stop, not a failure.
            if (spark.sc().isStopped()) return false;
            throw e;
        }
    }

    private boolean runJob(SweepTask task, Session.ValueSink inOrder, BooleanSupplier stop) {
        int n = task.values();
        List<Integer> values = new ArrayList<>(n);
        for (int i = 0; i < n; i++) values.add(i);
        JavaRDD<byte[]> results = spark.parallelize(values, n).map(new RunValue(task));
        String group = "kvmsim-sweep-" + groups.getAsInt();
        spark.setJobGroup(group, String.format(Locale.ROOT, "%s: sweep at statement %d, %d values",
                task.file(), task.statement() + 1, n), true);
        byte[][] slots = new byte[n][];
        Object lock = new Object();
        List<Object> partitions = new ArrayList<>(values);
        SimpleFutureAction<BoxedUnit> job = spark.sc().submitJob(results.rdd(), new Single(),
                scala.jdk.javaapi.CollectionConverters.asScala(partitions).toList(),
                (scala.Function2<Object, byte[], BoxedUnit>) (p, r) -> {
                    // on Spark's scheduler thread: only hand the bytes over
                    synchronized (lock) {
                        slots[(Integer) p] = r;
                        lock.notifyAll();
                    }
                    return BoxedUnit.UNIT;
                }, () -> BoxedUnit.UNIT);
        boolean ok = false;
        try {
            for (int next = 0; next < n; next++) {
                byte[] r;
                synchronized (lock) {
                    while ((r = slots[next]) == null) {
                        if (stop.getAsBoolean()) return false;
                        if (job.isCompleted() && slots[next] == null) job.get(); // throws the job's failure
                        lock.wait(100);
                    }
                    slots[next] = null; // sent on: the driver keeps only what the sink keeps
                }
                inOrder.accept(next, r);
            }
            ok = true;
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (org.apache.spark.SparkException e) {
            // the job failed as the shutdown hook stopped the context (see run): the signal's stop
            if (stop.getAsBoolean() || spark.sc().isStopped()) return false;
            throw new Session.RemoteFailure("Spark job failed: " + why(e), e);
        } finally {
            if (!ok && !spark.sc().isStopped()) {
                try {
                    // this job only: cancelling its group would take any other job that shares
                    // the group (scripts side by side: one script's failed value once cancelled
                    // another script's sweep, "3 of 4 done" in SparkSweepTest)
                    job.cancel();
                } catch (IllegalStateException stoppedMeanwhile) {
                    // its shutdown hook got there first: nothing left to cancel
                }
            }
        }
    }

    /**
     * What failed, in one line: the job's failure, not the wrapper that waiting on it adds
     * ({@code FutureAction.get} throws "Exception thrown in awaitResult: " around it, see Spark's
     * SparkThreadUtils.awaitResult), and its first line only (Spark appends the executor's
     * stack trace to the message).
     */
    static String why(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t
                && String.valueOf(t.getMessage()).startsWith("Exception thrown in awaitResult")) {
            t = t.getCause();
        }
        String first = t.getMessage() == null ? "" : t.getMessage().lines().findFirst().orElse("").strip();
        return first.isEmpty() ? t.getClass().getName() : first;
    }

    @Override
    public void close() {
        spark.stop();
    }

    /** A value's task: runs on an executor. */
    private record RunValue(SweepTask task) implements Function<Integer, byte[]> {
        @Override
        public byte[] call(Integer value) {
            return task.run(value);
        }
    }

    /** A partition's one result (one value per partition). */
    private static final class Single implements scala.Function1<scala.collection.Iterator<byte[]>, byte[]>, Serializable {
        @Override
        public byte[] apply(scala.collection.Iterator<byte[]> it) {
            return it.next();
        }
    }

    /** kvmsim's jar and the libraries beside it (target/lib), as the executors need them. */
    private static List<String> kvmsimJars() {
        List<String> jars = new ArrayList<>();
        try {
            Path jar = Path.of(Session.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (!Files.isRegularFile(jar)) return jars;
            jars.add(jar.toString());
            Path lib = jar.resolveSibling("lib");
            if (Files.isDirectory(lib)) {
                try (Stream<Path> s = Files.list(lib)) {
                    s.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> jars.add(p.toString()));
                }
            }
        } catch (URISyntaxException | java.io.IOException | SecurityException e) {
            // no jar to send: spark-submit's --jars must bring them
        }
        return jars;
    }
}
