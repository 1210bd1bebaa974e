package org.kvmsim.lang;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.kvmsim.lang.Syntax.Atom;
import org.kvmsim.lang.Syntax.Hex;
import org.kvmsim.lang.Syntax.Num;
import org.kvmsim.lang.Syntax.Percent;
import org.kvmsim.lang.Syntax.Value;
import org.kvmsim.lang.Syntax.Word;

/**
 * Reads values in their units: sizes, durations, percentages, counts, addresses, on/off and
 * choices. Each reader reports a diagnostic and returns null on a bad value, so the checker can
 * go on and report the script's other errors too.
 */
final class Values {

    static final Map<String, Long> SIZE_UNITS = Map.of("B", 1L, "KiB", 1L << 10, "MiB", 1L << 20,
            "GiB", 1L << 30, "TiB", 1L << 40);
    static final Map<String, Long> DURATION_UNITS = Map.of("ns", 1L, "us", 1_000L, "ms", 1_000_000L,
            "s", 1_000_000_000L, "min", 60_000_000_000L, "h", 3_600_000_000_000L);
    private static final String SIZE_WORDS = "B, KiB, MiB, GiB or TiB";
    private static final String DURATION_WORDS = "ns, us, ms, s, min or h";

    private final Diagnostics diags;

    Values(Diagnostics diags) {
        this.diags = diags;
    }

    /** A decimal number as written ("20_000_000", "0.99"), or null with a diagnostic. */
    BigDecimal number(Num n) {
        String text = n.text().replace("_", "");
        try {
            return new BigDecimal(text);
        } catch (NumberFormatException e) {
            diags.error(n.span(), "not a number: '" + n.text() + "'");
            return null;
        }
    }

    /** A whole number within [min, max]. */
    Long count(Value v, String what, long min, long max) {
        if (!single(v, what, "a whole number")) return null;
        Atom a = v.atoms().get(0);
        if (!(a instanceof Num n)) {
            diags.error(a.span(), what + " takes a whole number, not '" + a.text() + "'");
            return null;
        }
        return integer(n, what, min, max);
    }

    Long integer(Num n, String what, long min, long max) {
        BigDecimal d = number(n);
        if (d == null) return null;
        if (d.scale() > 0 && d.stripTrailingZeros().scale() > 0) {
            diags.error(n.span(), what + " takes a whole number, not " + n.text());
            return null;
        }
        BigInteger i = d.toBigInteger();
        if (i.bitLength() > 63) {
            diags.error(n.span(), "number too large: " + n.text() + " (at most " + Long.MAX_VALUE + ")");
            return null;
        }
        long x = i.longValue();
        if (x < min || x > max) {
            diags.error(n.span(), what + " must be " + range(min, max) + ", not " + n.text());
            return null;
        }
        return x;
    }

    private static String range(long min, long max) {
        if (max == Long.MAX_VALUE || max == Integer.MAX_VALUE) return "at least " + min;
        return "from " + min + " to " + max;
    }

    /** "2 GiB", "1.5 GiB" (if whole bytes), "512 B". A bare number is an error that names the units. */
    Long size(Value v, String what) {
        return quantity(v, what, "size", SIZE_UNITS, SIZE_WORDS, DURATION_UNITS, "2 GiB");
    }

    /** "20 ms", "5 min". A bare number is an error that names the units. */
    Long duration(Value v, String what) {
        return quantity(v, what, "duration", DURATION_UNITS, DURATION_WORDS, SIZE_UNITS, "20 ms");
    }

    private Long quantity(Value v, String what, String kind, Map<String, Long> units, String unitWords,
                          Map<String, Long> otherUnits, String example) {
        List<Atom> atoms = v.atoms();
        if (atoms.isEmpty() || !(atoms.get(0) instanceof Num n)) {
            diags.error(v.span(), what + " takes a " + kind + " like '" + example + "', not '" + v.text() + "'");
            return null;
        }
        if (atoms.size() == 1) {
            diags.error(n.span(), "a " + kind + " needs a unit: " + unitWords + " (e.g. '" + example + "')",
                    "write '" + n.text() + " " + (kind.equals("size") ? "MiB" : "ms") + "' or another unit");
            return null;
        }
        if (atoms.size() > 2 || !(atoms.get(1) instanceof Word unit)) {
            diags.error(atoms.get(1).span().to(atoms.get(atoms.size() - 1).span()),
                    "unexpected '" + atoms.get(1).text() + "' after the " + kind);
            return null;
        }
        Long scale = units.get(unit.text());
        if (scale == null) {
            String hint;
            if (otherUnits.containsKey(unit.text())) {
                hint = "'" + unit.text() + "' is a unit of " + (kind.equals("size") ? "time" : "size")
                        + "; " + what + " takes " + unitWords;
            } else {
                // "GB", "mb", "k": decimal or short spellings of a binary unit.
                String s = kind.equals("size") && unit.text().matches("(?i)[kmgt](b|ib)?")
                        ? unit.text().substring(0, 1).toUpperCase(Locale.ROOT) + "iB"
                        : Suggest.closest(unit.text(), units.keySet());
                hint = s != null ? "did you mean '" + s + "'? (kvmsim sizes are binary: " + unitWords + ")"
                        : "units of a " + kind + ": " + unitWords;
            }
            diags.error(unit.span(), "unknown " + kind + " unit '" + unit.text() + "'", hint);
            return null;
        }
        BigDecimal d = number(n);
        if (d == null) return null;
        BigDecimal total = d.multiply(BigDecimal.valueOf(scale));
        if (total.stripTrailingZeros().scale() > 0) {
            diags.error(v.span(), what + " must come to a whole number of " + (kind.equals("size") ? "bytes" : "nanoseconds")
                    + ", not " + v.text());
            return null;
        }
        BigInteger i = total.toBigInteger();
        if (i.bitLength() > 63) {
            diags.error(v.span(), kind + " too large: " + v.text());
            return null;
        }
        return i.longValue();
    }

    /** "70%": a share from 0 to 100. */
    Double percent(Value v, String what) {
        if (!single(v, what, "a percentage like '70%'")) return null;
        Atom a = v.atoms().get(0);
        if (!(a instanceof Percent p)) {
            String hint = a instanceof Num n ? "write '" + n.text() + "%'" : null;
            diags.error(a.span(), what + " takes a percentage like '70%', not '" + a.text() + "'", hint);
            return null;
        }
        BigDecimal d = number(new Num(p.text(), p.span()));
        if (d == null) return null;
        if (d.compareTo(BigDecimal.ZERO) < 0 || d.compareTo(BigDecimal.valueOf(100)) > 0) {
            diags.error(p.span(), what + " must be between 0% and 100%, not " + p.text() + "%");
            return null;
        }
        return d.doubleValue();
    }

    /** "0x7f00_0000_1000": a 64-bit address. */
    Long address(Atom a, String what) {
        if (!(a instanceof Hex h)) {
            diags.error(a.span(), what + " takes an address like 0x7f00_0000_1000, not '" + a.text() + "'");
            return null;
        }
        String digits = h.text().substring(2).replace("_", "");
        if (digits.isEmpty()) {
            diags.error(h.span(), "not an address: '" + h.text() + "'");
            return null;
        }
        BigInteger i = new BigInteger(digits, 16);
        if (i.bitLength() > 64) {
            diags.error(h.span(), "address too large: " + h.text() + " (addresses have 64 bits)");
            return null;
        }
        return i.longValue();
    }

    Boolean onOff(Value v, String what) {
        String w = choice(v, what, List.of("on", "off"));
        return w == null ? null : w.equals("on");
    }

    /** One word out of {@code choices}, with a suggestion for a near miss. */
    String choice(Value v, String what, List<String> choices) {
        if (!single(v, what, String.join(" | ", choices))) return null;
        Atom a = v.atoms().get(0);
        if (a instanceof Word w && choices.contains(w.text())) return w.text();
        // Words cannot hold '-': `scan_time` (or the string "scan-time") names sysfs's scan-time.
        String raw = a instanceof Syntax.Str str ? str.value() : a instanceof Word w ? w.text() : null;
        if (raw != null && choices.contains(raw.replace('_', '-'))) return raw.replace('_', '-');
        String hint = Suggest.hint(a.text().replace('-', '_'), choices.stream().map(c -> c.replace('-', '_')).toList());
        diags.error(a.span(), "unknown " + what + " '" + a.text() + "'; expected " + String.join(" | ", choices),
                hint);
        return null;
    }

    /** A plain double ("0.99"). */
    Double decimal(Value v, String what) {
        if (!single(v, what, "a number")) return null;
        Atom a = v.atoms().get(0);
        if (!(a instanceof Num n)) {
            diags.error(a.span(), what + " takes a number, not '" + a.text() + "'");
            return null;
        }
        BigDecimal d = number(n);
        return d == null ? null : d.doubleValue();
    }

    private boolean single(Value v, String what, String expected) {
        if (v.atoms().size() == 1) return true;
        diags.error(v.span(), what + " takes one value (" + expected + "), not '" + v.text() + "'");
        return false;
    }
}
