package dev.gblm.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** The PNG of perplexity against unstructured sparsity, one line per method plus dense. */
public final class SweepPlot {
    private SweepPlot() {}

    /** Tableau-10 colours: XChart's default palette gives two neighbouring series near-identical yellows. */
    static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x2ca02c), new Color(0x8c564b), new Color(0xd62728), new Color(0xe377c2), new Color(0x17becf),
        new Color(0xbcbd22), new Color(0x7f7f7f)};
    private static final org.knowm.xchart.style.markers.Marker[] MARKERS = {SeriesMarkers.CIRCLE,
        SeriesMarkers.SQUARE, SeriesMarkers.DIAMOND, SeriesMarkers.TRIANGLE_UP, SeriesMarkers.TRIANGLE_DOWN,
        SeriesMarkers.CIRCLE, SeriesMarkers.SQUARE};

    /** One method's points, in increasing sparsity. */
    public record Series(String name, double[] sparsity, double[] perplexity) {}

    /** A log y axis once the values span more than a factor of 10 (magnitude tends to explode). */
    public static boolean useLogScale(Collection<Double> values) {
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (double v : values) {
            if (v > 0 && Double.isFinite(v)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        return min < Double.POSITIVE_INFINITY && max / min > 10;
    }

    /** PNG bytes of the chart. */
    public static byte[] png(List<Series> series, double dense, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Double> all = new ArrayList<>(List.of(dense));
        for (Series s : series) {
            for (double v : s.perplexity()) {
                all.add(v);
            }
        }
        boolean log = useLogScale(all);
        XYChart chart = new XYChartBuilder().width(1000).height(650).title(title)
                .xAxisTitle("unstructured sparsity").yAxisTitle("TinyStories perplexity" + (log ? " (log scale)" : ""))
                .build();
        org.knowm.xchart.style.XYStyler st = chart.getStyler();
        chart.getStyler().setYAxisLogarithmic(log);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesVisible(true);
        chart.getStyler().setXAxisDecimalPattern("0%");
        chart.getStyler().setYAxisDecimalPattern("0.#");
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        st.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            if (s.sparsity().length == 0) {
                continue;
            }
            XYSeries xy = chart.addSeries(s.name(), s.sparsity(), s.perplexity());
            xy.setMarker(MARKERS[i % MARKERS.length]);
            xy.setLineColor(PALETTE[i % PALETTE.length]);
            xy.setMarkerColor(PALETTE[i % PALETTE.length]);
            for (double x : s.sparsity()) {
                xMin = Math.min(xMin, x);
                xMax = Math.max(xMax, x);
            }
        }
        if (xMin <= xMax) {
            XYSeries d = chart.addSeries(String.format(java.util.Locale.ROOT, "dense (%.3f)", dense),
                    new double[] {xMin, xMax}, new double[] {dense, dense});
            d.setMarker(SeriesMarkers.NONE);
            d.setLineColor(Color.DARK_GRAY);
            d.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                    new float[] {6f, 4f}, 0f));
        }
        return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
    }

    /** Series from a perplexity map, in the given method order, points sorted by sparsity. */
    public static List<Series> seriesOf(List<String> names, List<Map<Double, Double>> pointsPerMethod) {
        List<Series> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Map<Double, Double> pts = new java.util.TreeMap<>(pointsPerMethod.get(i));
            double[] x = new double[pts.size()];
            double[] y = new double[pts.size()];
            int j = 0;
            for (Map.Entry<Double, Double> e : pts.entrySet()) {
                x[j] = e.getKey();
                y[j++] = e.getValue();
            }
            out.add(new Series(names.get(i), x, y));
        }
        return out;
    }
}
