package org.kvmsim.model;

import java.util.Arrays;
import java.util.BitSet;

/**
 * A set of host CPU numbers, written as libvirt writes one (docs/formatdomain.rst, `cpuset`):
 * CPU numbers and ranges separated by commas, {@code ^N} taking one CPU out again: "1-4,^3,6".
 *
 * <p>{@link #parse} reads it as libvirt's virBitmapParse (src/util/virbitmap.c) does: fields in
 * order, so a caret removes a CPU named before it and a later field can add it back; white space
 * around numbers, dashes and commas; a trailing comma; no caret before a range; CPU numbers below
 * libvirt's VIR_DOMAIN_CPUMASK_LEN (16384). Its errors are libvirt's words. A set naming no CPU
 * ("0,^0") is refused as libvirt refuses one for a vCPU's cpuset.
 */
public final class CpuSet {

    /** CPU numbers must be below this (libvirt parses a cpuset into a bitmap of this many bits). */
    public static final int LIMIT = 16384;

    private final int[] cpus;

    private CpuSet(int[] cpus) {
        this.cpus = cpus;
    }

    /** The set of these CPUs (any order, repeats allowed; at least one, each 0 to LIMIT - 1). */
    public static CpuSet of(int... cpus) {
        BitSet bits = new BitSet();
        for (int c : cpus) {
            if (c < 0 || c >= LIMIT) throw new IllegalArgumentException("no host CPU " + c);
            bits.set(c);
        }
        if (bits.isEmpty()) throw new IllegalArgumentException("a cpuset names at least one CPU");
        return new CpuSet(bits.stream().toArray());
    }

    /** CPUs {@code from} to {@code to}, both included. */
    public static CpuSet range(int from, int to) {
        if (from < 0 || to < from || to >= LIMIT) throw new IllegalArgumentException("no CPU range " + from + "-" + to);
        int[] c = new int[to - from + 1];
        for (int i = 0; i < c.length; i++) c[i] = from + i;
        return new CpuSet(c);
    }

    /**
     * Reads libvirt's cpuset syntax. Throws IllegalArgumentException with libvirt's message:
     * "Failed to parse bitmap 'TEXT'" for bad syntax or a CPU number of LIMIT or more, "Invalid
     * value of 'cpuset': TEXT" when the set ends up empty.
     */
    public static CpuSet parse(String text) {
        BitSet bits = new Parser(text).bits();
        if (bits.isEmpty()) throw new IllegalArgumentException("Invalid value of 'cpuset': " + text);
        return new CpuSet(bits.stream().toArray());
    }

    /** virBitmapParseInternal, field by field. */
    private static final class Parser {
        private final String s;
        private int i;

        Parser(String s) {
            this.s = s;
        }

        BitSet bits() {
            if (s == null) throw bad();
            BitSet bits = new BitSet();
            skipSpaces();
            if (i == s.length()) throw bad();
            while (i < s.length()) {
                boolean neg = false;
                if (s.charAt(i) == '^') {
                    neg = true;
                    i++;
                }
                if (i == s.length() || !isDigit(s.charAt(i))) throw bad();
                int start = number();
                skipSpaces();
                if (i == s.length() || s.charAt(i) == ',') {
                    bits.set(start, !neg);
                } else if (s.charAt(i) == '-') {
                    if (neg) throw bad();
                    i++;
                    skipSpaces();
                    // strtol: the end of a range may carry a sign
                    boolean minus = false;
                    if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) minus = s.charAt(i++) == '-';
                    if (i == s.length() || !isDigit(s.charAt(i))) throw bad();
                    int last = number();
                    if (minus) last = -last;
                    if (last < start) throw bad();
                    bits.set(start, last + 1);
                    skipSpaces();
                }
                if (i == s.length()) break;
                if (s.charAt(i) != ',') throw bad();
                i++;
                skipSpaces();
            }
            return bits;
        }

        /** Digits as a CPU number below LIMIT. */
        private int number() {
            long n = 0;
            while (i < s.length() && isDigit(s.charAt(i))) {
                n = n * 10 + (s.charAt(i++) - '0');
                if (n >= LIMIT) throw bad();
            }
            return (int) n;
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        /** c_isspace: space, \t, \n, \v, \f, \r. */
        private void skipSpaces() {
            while (i < s.length() && " \t\n\u000b\f\r".indexOf(s.charAt(i)) >= 0) i++;
        }

        private IllegalArgumentException bad() {
            return new IllegalArgumentException("Failed to parse bitmap '" + s + "'");
        }
    }

    public boolean contains(int cpu) {
        return Arrays.binarySearch(cpus, cpu) >= 0;
    }

    /** The CPUs, ascending (a copy). */
    public int[] cpus() {
        return cpus.clone();
    }

    /** The highest CPU in the set. */
    public int max() {
        return cpus[cpus.length - 1];
    }

    public int size() {
        return cpus.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CpuSet c && Arrays.equals(cpus, c.cpus);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(cpus);
    }

    /** Canonical ranges, as libvirt's virBitmapFormat writes them: "0-3,6". */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < cpus.length; ) {
            int j = k;
            while (j + 1 < cpus.length && cpus[j + 1] == cpus[j] + 1) j++;
            if (b.length() > 0) b.append(',');
            b.append(cpus[k]);
            if (j > k) b.append('-').append(cpus[j]);
            k = j + 1;
        }
        return b.toString();
    }
}
