package org.kvmsim.report;

import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import tech.tablesaw.api.NumericColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/**
 * `plot TABLE { x; y; kind }` as an XChart image: bars over a category column, lines or points
 * over a numeric one. Rendered offline to PNG and SVG; no JavaScript, nothing from the network.
 */
public final class Charts {

    private Charts() {}

    /** A rendered chart. */
    public record Image(String name, byte[] png, String svg) {}

    /** Thrown for a column that is missing or not numeric; the session turns it into a diagnostic. */
    public static final class BadColumn extends RuntimeException {
        public BadColumn(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * {@code y} names one column, or several separated by commas ("pages_sharing,
     * real_pages_sharing"): one series each, with a legend. On a line or scatter chart a missing
     * value is left out of its series; on a bar chart it is 0.
     */
    public static Image plot(Table t, String x, String y, String kind, String title) {
        if (t.rowCount() == 0) throw new BadColumn("table '" + t.name() + "' has no rows to plot");
        Column<?> xc = column(t, x);
        List<String> names = new ArrayList<>();
        for (String part : y.split(",")) if (!part.isBlank()) names.add(part.strip());
        if (names.isEmpty()) throw new BadColumn("y names no column");
        List<NumericColumn<?>> ycs = new ArrayList<>();
        for (String n : names) {
            if (!(column(t, n) instanceof NumericColumn<?> ny)) {
                throw new BadColumn("column '" + n + "' of table '" + t.name() + "' is not numeric; y needs numbers");
            }
            ycs.add(ny);
        }
        boolean legend = names.size() > 1;
        String yTitle = legend ? "" : y;
        Chart<?, ?> chart;
        if (kind.equals("bar") || !(xc instanceof NumericColumn<?>)) {
            CategoryChart c = new CategoryChartBuilder().width(800).height(500).title(title).xAxisTitle(x).yAxisTitle(yTitle).build();
            List<String> xs = new ArrayList<>();
            for (int i = 0; i < t.rowCount(); i++) xs.add(Render.raw(xc, i));
            for (int s = 0; s < names.size(); s++) {
                NumericColumn<?> ny = ycs.get(s);
                List<Double> ys = new ArrayList<>();
                for (int i = 0; i < t.rowCount(); i++) ys.add(ny.isMissing(i) ? 0.0 : ny.getDouble(i));
                c.addSeries(names.get(s), xs, ys);
            }
            c.getStyler().setLegendVisible(legend);
            style(c.getStyler());
            chart = c;
        } else {
            NumericColumn<?> nx = (NumericColumn<?>) xc;
            XYChart c = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle(x).yAxisTitle(yTitle).build();
            for (int s = 0; s < names.size(); s++) {
                NumericColumn<?> ny = ycs.get(s);
                List<Double> xs = new ArrayList<>();
                List<Double> ys = new ArrayList<>();
                for (int i = 0; i < t.rowCount(); i++) {
                    if (ny.isMissing(i)) continue;
                    xs.add(nx.isMissing(i) ? 0.0 : nx.getDouble(i));
                    ys.add(ny.getDouble(i));
                }
                if (xs.isEmpty()) throw new BadColumn("column '" + names.get(s) + "' of table '" + t.name() + "' has no values");
                XYSeries series = c.addSeries(names.get(s), xs, ys);
                if (kind.equals("scatter")) series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
            }
            c.getStyler().setLegendVisible(legend);
            style(c.getStyler());
            chart = c;
        }
        try {
            byte[] png = BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
            ByteArrayOutputStream svg = new ByteArrayOutputStream();
            VectorGraphicsEncoder.saveVectorGraphic(chart, svg, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
            return new Image(t.name() + "-" + String.join("-", names), png, numberClips(svg.toString(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new BadColumn("could not render the chart: " + e.getMessage());
        }
    }

    private static final java.util.regex.Pattern CLIP_ID = java.util.regex.Pattern.compile("(id=\"|url\\(#)clip(-?[0-9]+)");

    /**
     * VectorGraphics2D names a clip path "clip" + the clip shape's hashCode(): a rectangle's is
     * its coordinates', but any other shape's is its identity hash, different in every JVM. The
     * ids are numbered in order of first use instead (clip1, clip2, ...), so a chart's SVG is
     * the same bytes in every run, as saved notebooks must be.
     */
    static String numberClips(String svg) {
        java.util.Map<String, Integer> ids = new java.util.HashMap<>();
        java.util.regex.Matcher m = CLIP_ID.matcher(svg);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            int n = ids.computeIfAbsent(m.group(2), k -> ids.size() + 1);
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(m.group(1) + "clip" + n));
        }
        return m.appendTail(out).toString();
    }

    private static void style(org.knowm.xchart.style.AxesChartStyler s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setAntiAlias(true);
        // Grouped digits, never scientific notation: bytes and cycles run to 1e10 and beyond.
        s.setYAxisDecimalPattern("#,##0.##");
        // XChart formats tick labels with the JVM's locale (1.234.567,5 under de or tr); a chart
        // reads the same numbers as the tables beside it.
        s.setLocale(Locale.ROOT);
    }

    private static Column<?> column(Table t, String name) {
        if (!t.columnNames().contains(name)) {
            throw new BadColumn("table '" + t.name() + "' has no column '" + name + "'; its columns: "
                    + String.join(", ", t.columnNames()));
        }
        return t.column(name);
    }
}
