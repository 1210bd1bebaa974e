package org.kvmsim.model;

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

    public KsmPolicy with(String sysfsName, long value) {
        Map<String, Long> m = new TreeMap<>(knobs);
        m.put(sysfsName, value);
        return new KsmPolicy(name, m);
    }
}
