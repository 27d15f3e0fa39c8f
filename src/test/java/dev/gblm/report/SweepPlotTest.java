package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SweepPlotTest {
    @Test
    void logScaleOnlyWhenValuesSpanMoreThanTenfold() {
        assertThat(SweepPlot.useLogScale(List.of(4.18, 5.0, 41.0))).isFalse();
        assertThat(SweepPlot.useLogScale(List.of(4.18, 5.0, 42.0))).isTrue();
        assertThat(SweepPlot.useLogScale(List.of(Double.NaN, 4.0, 4.5))).isFalse();
    }

    @Test
    void paletteGivesEveryMethodItsOwnColour() {
        assertThat(java.util.Set.of(SweepPlot.PALETTE)).hasSize(SweepPlot.PALETTE.length);
        assertThat(SweepPlot.PALETTE.length).isGreaterThanOrEqualTo(MethodVariant.values().length);
    }

    @Test
    void seriesAreSortedBySparsity() {
        Map<Double, Double> pts = new LinkedHashMap<>();
        pts.put(0.5, 20.0);
        pts.put(0.1, 4.3);
        List<SweepPlot.Series> s = SweepPlot.seriesOf(List.of("wanda"), List.of(pts));
        assertThat(s.get(0).sparsity()).containsExactly(0.1, 0.5);
        assertThat(s.get(0).perplexity()).containsExactly(4.3, 20.0);
    }

    @Test
    void rendersAPng() throws Exception {
        var series = SweepPlot.seriesOf(List.of("magnitude", "wanda"),
                List.of(Map.of(0.1, 4.5, 0.5, 38.5, 0.7, 900.0), Map.of(0.1, 4.3, 0.5, 19.0, 0.7, 80.0)));
        byte[] png = SweepPlot.png(series, 4.184, "test");
        assertThat(png).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        var img = javax.imageio.ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertThat(img.getWidth()).isEqualTo(1000);
    }
}
