package org.kvmsim.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A KSM configuration: values of /sys/kernel/mm/ksm knobs, keyed by their sysfs names
 * (pages_to_scan, sleep_millisecs, ...). Knobs not given keep Linux's defaults
 * ({@link org.kvmsim.lang.Schema#KSM_DEFAULTS}).
 */
public record KsmPolicy(String name, Map<String, Long> knobs) implements Declaration {

    public KsmPolicy {
        knobs = Map.copyOf(knobs);
    }

    public long knob(String sysfsName) {
        Long v = knobs.get(sysfsName);
        if (v == null) throw new IllegalArgumentException("no KSM knob " + sysfsName);
        return v;
    }

    /** One write to a file of /sys/kernel/mm/ksm: its name and the text written. */
    public record KnobWrite(String knob, String value) {}

    /**
     * The text written to /sys/kernel/mm/ksm/{@code sysfsName} for a knob's value: a number, but
     * advisor_mode is a word (the language holds it as 0 none, 1 scan-time).
     */
    public static String sysfsText(String sysfsName, long value) {
        if (sysfsName.equals("advisor_mode")) return value == 1 ? "scan-time" : "none";
        return Long.toString(value);
    }

    /**
     * The writes that set this policy up, in the order an admin's script must make them: the
     * knobs by name, then advisor_mode (after pages_to_scan, which the advisor then owns), run
     * last (ksmd starts with everything else in place).
     */
    public List<KnobWrite> writes() {
        List<KnobWrite> out = new ArrayList<>();
        for (Map.Entry<String, Long> k : new TreeMap<>(knobs).entrySet()) {
            if (k.getKey().equals("run") || k.getKey().equals("advisor_mode")) continue;
            out.add(new KnobWrite(k.getKey(), sysfsText(k.getKey(), k.getValue())));
        }
        out.add(new KnobWrite("advisor_mode", sysfsText("advisor_mode", knob("advisor_mode"))));
        out.add(new KnobWrite("run", sysfsText("run", knob("run"))));
        return out;
    }

    public KsmPolicy with(String sysfsName, long value) {
        Map<String, Long> m = new TreeMap<>(knobs);
        m.put(sysfsName, value);
        return new KsmPolicy(name, m);
    }
}
