package org.kvmsim;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * ../shared beside this repository (pom.xml passes its path as kvmsim.shared): the specification's
 * example scripts. A test that reads it asks here, so that a build cannot pass by checking less:
 * in CI (the environment variable CI set, as .ci/run does) a missing directory fails the test;
 * elsewhere the test is skipped, or runs on what it has, with a message naming what is missing.
 */
public final class SharedDir {

    private SharedDir() {}

    /** ../shared/examples; when it is missing the calling test fails (CI) or is skipped. */
    public static Path examples() {
        Path dir = examplesPath();
        if (!Files.isDirectory(dir)) {
            String why = missing(dir);
            if (inCi()) fail(why + " (CI is set: failing rather than skipping)");
            Assumptions.abort(why + " (skipped; with CI set this fails)");
        }
        return dir;
    }

    /**
     * ../shared/examples, or null when it is missing outside CI (said on standard error, with what
     * the caller does {@code without} it); in CI a missing directory throws an AssertionError.
     */
    public static Path examplesIfPresent(String without) {
        Path dir = examplesPath();
        if (Files.isDirectory(dir)) return dir;
        String why = missing(dir);
        if (inCi()) throw new AssertionError(why + " (CI is set: failing rather than " + without + ")");
        System.err.println("WARNING: " + why + "; " + without);
        return null;
    }

    /** Whether this is a CI run: CI set and not "false" or "0" (CI=true on the usual CI services). */
    public static boolean inCi() {
        String ci = System.getenv("CI");
        return ci != null && !ci.isEmpty() && !ci.equalsIgnoreCase("false") && !ci.equals("0");
    }

    private static Path examplesPath() {
        return Path.of(System.getProperty("kvmsim.shared", "../shared"), "examples");
    }

    private static String missing(Path dir) {
        return dir.toAbsolutePath().normalize() + " is missing (the specification's example scripts, in ../shared beside"
                + " this repository)";
    }
}
