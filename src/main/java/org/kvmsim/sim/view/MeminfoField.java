package org.kvmsim.sim.view;

/**
 * One line of /proc/meminfo: the field name exactly as Linux prints it, its value, and its unit
 * ("kB", or "" for the HugePages_ counts, which Linux prints as bare numbers).
 */
public record MeminfoField(String name, long value, String unit) {

    /** The line as fs/proc/meminfo.c prints it: name and colon padded to 16, value to width 8. */
    public String line() {
        String label = name + ":";
        StringBuilder sb = new StringBuilder(label);
        while (sb.length() < 16) {
            sb.append(' ');
        }
        String v = Long.toString(value);
        for (int i = v.length(); i < 8; i++) {
            sb.append(' ');
        }
        sb.append(v);
        if (!unit.isEmpty()) {
            sb.append(' ').append(unit);
        }
        return sb.toString();
    }
}
