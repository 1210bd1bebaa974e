package org.kvmsim.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import java.util.List;
import java.util.Locale;
import tech.tablesaw.api.ColumnType;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/**
 * One table, five renderings: text (terminal), CSV, JSON, Markdown and HTML. Values stay raw
 * numbers in every machine format; only text and HTML group digits for the eye. Rendering is
 * byte-stable: no locale, time or hash order enters it.
 */
public final class Render {

    private Render() {}

    private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().serializeSpecialFloatingPointValues().create();

    /** A count as a person reads it in a progress line: 950, 12.3 k, 4.56 M, 1.20 G. */
    public static String approx(long n) {
        if (n < 10_000) return Long.toString(n);
        if (n < 1_000_000) return String.format(Locale.ROOT, "%.1f k", n / 1e3);
        if (n < 1_000_000_000) return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        return String.format(Locale.ROOT, "%.2f G", n / 1e9);
    }

    /** A cell as a raw string: integers without grouping, doubles with up to 6 significant decimals. */
    public static String raw(Column<?> c, int row) {
        if (c.isMissing(row)) return "";
        Object v = c.get(row);
        if (v instanceof Double d) return number(d);
        if (v instanceof Float f) return number(f.doubleValue());
        return String.valueOf(v);
    }

    static String number(double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) return Double.toString(d);
        if (d == Math.rint(d) && Math.abs(d) < 1e15) return Long.toString((long) d);
        String s = String.format(Locale.ROOT, "%.6f", d);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    private static boolean numeric(Column<?> c) {
        ColumnType t = c.type();
        return t == ColumnType.INTEGER || t == ColumnType.LONG || t == ColumnType.DOUBLE || t == ColumnType.FLOAT
                || t == ColumnType.SHORT;
    }

    /** For people: the table's name, aligned columns, numbers right-aligned. */
    public static String text(Table t) {
        int n = t.columnCount();
        String[][] cells = new String[t.rowCount() + 1][n];
        int[] width = new int[n];
        for (int j = 0; j < n; j++) {
            Column<?> c = t.column(j);
            cells[0][j] = c.name();
            for (int i = 0; i < t.rowCount(); i++) cells[i + 1][j] = raw(c, i);
            for (String[] row : cells) width[j] = Math.max(width[j], row[j].length());
        }
        StringBuilder b = new StringBuilder(t.name()).append('\n');
        for (int i = 0; i < cells.length; i++) {
            StringBuilder line = new StringBuilder();
            for (int j = 0; j < n; j++) {
                String v = cells[i][j];
                boolean right = i > 0 && numeric(t.column(j));
                String pad = " ".repeat(width[j] - v.length());
                line.append(j == 0 ? "" : "  ").append(right ? pad + v : v + pad);
            }
            b.append(line.toString().stripTrailing()).append('\n');
            if (i == 0) {
                StringBuilder rule = new StringBuilder();
                for (int j = 0; j < n; j++) rule.append(j == 0 ? "" : "  ").append("-".repeat(width[j]));
                b.append(rule).append('\n');
            }
        }
        return b.toString();
    }

    public static String csv(Table t) {
        StringBuilder b = new StringBuilder();
        for (int j = 0; j < t.columnCount(); j++) b.append(j == 0 ? "" : ",").append(csvCell(t.column(j).name()));
        b.append('\n');
        for (int i = 0; i < t.rowCount(); i++) {
            for (int j = 0; j < t.columnCount(); j++) b.append(j == 0 ? "" : ",").append(csvCell(raw(t.column(j), i)));
            b.append('\n');
        }
        return b.toString();
    }

    private static String csvCell(String v) {
        if (v.indexOf(',') < 0 && v.indexOf('"') < 0 && v.indexOf('\n') < 0) return v;
        return '"' + v.replace("\"", "\"\"") + '"';
    }

    /** The JSON form of one table: {"name", "columns": [{"name", "type"}], "rows": [[...]]}. */
    public static JsonObject json(Table t) {
        JsonObject o = new JsonObject();
        o.addProperty("name", t.name());
        JsonArray cols = new JsonArray();
        for (Column<?> c : t.columns()) {
            JsonObject col = new JsonObject();
            col.addProperty("name", c.name());
            col.addProperty("type", typeName(c));
            cols.add(col);
        }
        o.add("columns", cols);
        JsonArray rows = new JsonArray();
        for (int i = 0; i < t.rowCount(); i++) {
            JsonArray row = new JsonArray();
            for (Column<?> c : t.columns()) {
                if (c.isMissing(i)) {
                    row.add(com.google.gson.JsonNull.INSTANCE);
                    continue;
                }
                Object v = c.get(i);
                if (v instanceof Double d) row.add(new JsonPrimitive(jsonNumber(d)));
                else if (v instanceof Number num) row.add(new JsonPrimitive(num));
                else if (v instanceof Boolean bo) row.add(new JsonPrimitive(bo));
                else row.add(new JsonPrimitive(String.valueOf(v)));
            }
            rows.add(row);
        }
        o.add("rows", rows);
        return o;
    }

    /** Integral doubles print as integers; the others keep full precision for re-analysis. */
    private static Number jsonNumber(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) return (long) d;
        return d;
    }

    private static String typeName(Column<?> c) {
        ColumnType t = c.type();
        if (t == ColumnType.INTEGER || t == ColumnType.LONG || t == ColumnType.SHORT) return "integer";
        if (t == ColumnType.DOUBLE || t == ColumnType.FLOAT) return "number";
        if (t == ColumnType.BOOLEAN) return "boolean";
        return "string";
    }

    public static String json(List<Table> tables) {
        JsonObject doc = new JsonObject();
        JsonArray arr = new JsonArray();
        for (Table t : tables) arr.add(json(t));
        doc.add("tables", arr);
        return GSON.toJson(doc);
    }

    public static String jsonOne(Table t) {
        return GSON.toJson(json(t));
    }

    public static String markdown(Table t) {
        StringBuilder b = new StringBuilder("**").append(t.name()).append("**\n\n|");
        for (Column<?> c : t.columns()) b.append(' ').append(c.name()).append(" |");
        b.append("\n|");
        for (Column<?> c : t.columns()) b.append(numeric(c) ? " ---: |" : " --- |");
        b.append('\n');
        for (int i = 0; i < t.rowCount(); i++) {
            b.append('|');
            for (Column<?> c : t.columns()) b.append(' ').append(raw(c, i).replace("|", "\\|")).append(" |");
            b.append('\n');
        }
        return b.toString();
    }

    /** HTML with a little inline CSS that reads in light and dark notebook themes. */
    public static String html(Table t) {
        StringBuilder b = new StringBuilder();
        b.append("<table class=\"kvmsim\" style=\"border-collapse:collapse;font-family:monospace;font-size:12px\">");
        b.append("<caption style=\"text-align:left;font-weight:bold;padding:2px 0\">").append(esc(t.name())).append("</caption>");
        b.append("<thead><tr>");
        for (Column<?> c : t.columns()) {
            b.append("<th style=\"border-bottom:1px solid currentColor;padding:2px 8px;text-align:")
                    .append(numeric(c) ? "right" : "left").append("\">").append(esc(c.name())).append("</th>");
        }
        b.append("</tr></thead><tbody>");
        for (int i = 0; i < t.rowCount(); i++) {
            b.append("<tr>");
            for (Column<?> c : t.columns()) {
                b.append("<td style=\"padding:2px 8px;text-align:").append(numeric(c) ? "right" : "left").append("\">")
                        .append(esc(raw(c, i))).append("</td>");
            }
            b.append("</tr>");
        }
        return b.append("</tbody></table>").toString();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
