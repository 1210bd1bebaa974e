package org.kvmsim.bench;

import java.util.Locale;

/**
 * What one `kvmsim bench NAME` run measured: the engine part's throughput and, measured in the
 * same process over the same input, the throughput of a deliberately trivial baseline loop, so
 * the ratio says how much the engine costs over the least work the job could possibly take.
 */
public record BenchResult(String benchmark, double throughput, String unit, double baseline, String detail) {

    public double ratio() {
        return baseline == 0 ? 0 : throughput / baseline;
    }

    /** The JSON form that scripts rely on: {"benchmark", "throughput", "unit", "baseline", "ratio"}. */
    public String toJson() {
        return String.format(Locale.ROOT,
                "{\"benchmark\": \"%s\", \"throughput\": %.0f, \"unit\": \"%s\", \"baseline\": %.0f, \"ratio\": %.4f%s}",
                benchmark, throughput, unit, baseline, ratio(),
                detail == null || detail.isEmpty() ? "" : ", \"detail\": \"" + detail.replace("\"", "'") + "\"");
    }

    public String toText() {
        return String.format(Locale.ROOT, "%s: %,.0f %s (baseline %,.0f %s, ratio %.3f)%s",
                benchmark, throughput, unit, baseline, unit, ratio(),
                detail == null || detail.isEmpty() ? "" : "\n  " + detail);
    }
}
