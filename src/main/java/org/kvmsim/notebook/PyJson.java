package org.kvmsim.notebook;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * JSON read and written as Python's json module does it for nbformat, so that a notebook kvmsim
 * writes is byte for byte the one nbformat.writes gives: {@code json.dumps(nb, indent=1,
 * sort_keys=True, separators=(",", ": "), ensure_ascii=False)} (nbformat/v4/nbjson.py). That is:
 * one space of indent a level, keys sorted by code point, empty containers as {} and [], strings
 * escaped only for '"', '\\' and control characters (\n \r \t \b \f short, others \\u00xx in
 * lowercase hex), everything else as itself; integers as written, floats as Python's repr (the
 * shortest digits that read back the same; exponent form below 1e-4 and from 1e16, "e-05").
 * Python reads numbers without a fraction or exponent as int, the rest as float: so do we.
 */
final class PyJson {

    private PyJson() {}

    /** A malformed document: message with line and column. */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    static JsonElement parse(String text) throws Malformed {
        try {
            JsonReader r = new JsonReader(new StringReader(text));
            r.setStrictness(Strictness.LEGACY_STRICT);
            JsonElement e = new Gson().getAdapter(JsonElement.class).read(r);
            if (r.peek() != JsonToken.END_DOCUMENT) throw new Malformed("text after the JSON document (" + where(r) + ")");
            return e;
        } catch (IOException | RuntimeException e) {
            String m = e.getMessage() == null ? e.toString() : e.getMessage();
            // Gson appends advice for programmers ("See https://...troubleshooting"): not for users
            int see = m.indexOf("\nSee ");
            throw new Malformed(see < 0 ? m : m.substring(0, see));
        }
    }

    private static String where(JsonReader r) {
        String s = r.toString();
        int at = s.indexOf(" at ");
        return at < 0 ? s : s.substring(at + 1);
    }

    static String dumps(JsonElement e) {
        StringBuilder sb = new StringBuilder();
        write(sb, e, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonElement e, int level) {
        if (e == null || e.isJsonNull()) {
            sb.append("null");
        } else if (e.isJsonPrimitive()) {
            JsonPrimitive p = e.getAsJsonPrimitive();
            if (p.isBoolean()) sb.append(p.getAsBoolean() ? "true" : "false");
            else if (p.isString()) string(sb, p.getAsString());
            else sb.append(number(p.getAsNumber()));
        } else if (e.isJsonArray()) {
            JsonArray a = e.getAsJsonArray();
            if (a.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < a.size(); i++) {
                if (i > 0) sb.append(',');
                newline(sb, level + 1);
                write(sb, a.get(i), level + 1);
            }
            newline(sb, level);
            sb.append(']');
        } else {
            JsonObject o = e.getAsJsonObject();
            if (o.isEmpty()) {
                sb.append("{}");
                return;
            }
            List<Map.Entry<String, JsonElement>> entries = new ArrayList<>(o.entrySet());
            entries.sort((x, y) -> compareCodePoints(x.getKey(), y.getKey()));
            sb.append('{');
            boolean first = true;
            for (Map.Entry<String, JsonElement> en : entries) {
                if (!first) sb.append(',');
                first = false;
                newline(sb, level + 1);
                string(sb, en.getKey());
                sb.append(": ");
                write(sb, en.getValue(), level + 1);
            }
            newline(sb, level);
            sb.append('}');
        }
    }

    private static void newline(StringBuilder sb, int level) {
        sb.append('\n');
        for (int i = 0; i < level; i++) sb.append(' ');
    }

    /** Python compares str by code point; String.compareTo by UTF-16 unit (they differ past U+FFFF). */
    static int compareCodePoints(String a, String b) {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    /** json.encoder's ESCAPE_DCT: the short escapes, \\u00xx for the other controls, the rest as is. */
    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /** A number as Python's json prints what it read or was given: int as is, float as repr. */
    static String number(Number n) {
        if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte || n instanceof BigInteger) {
            return n.toString();
        }
        if (n instanceof Double || n instanceof Float || n instanceof BigDecimal) return floatRepr(n.doubleValue());
        String token = n.toString(); // a parsed number keeps its text (Gson's LazilyParsedNumber)
        if (token.matches("-?[0-9]+")) return new BigInteger(token).toString();
        return floatRepr(Double.parseDouble(token));
    }

    /** Python's repr(float): the shortest round-tripping digits, 'r' format (float_repr_style short). */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        BigDecimal exact = new BigDecimal(d);
        BigDecimal r = exact;
        for (int p = 1; p <= 17; p++) {
            r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
            if (r.doubleValue() == d) break;
        }
        r = r.stripTrailingZeros();
        String digits = r.unscaledValue().abs().toString();
        int n = digits.length();
        int decpt = n - r.scale(); // value = 0.DIGITS x 10^decpt
        String sign = d < 0 ? "-" : "";
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) return sign + "0." + "0".repeat(-decpt) + digits;
            if (decpt >= n) return sign + digits + "0".repeat(decpt - n) + ".0";
            return sign + digits.substring(0, decpt) + "." + digits.substring(decpt);
        }
        int exp = decpt - 1;
        String mant = n == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }
}
