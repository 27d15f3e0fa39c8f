package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.prune.batch.PruneMode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The auto-alpha section renders what it is given: made-up numbers, no model. */
class AutoAlphaSectionTest {
    private static AutoAlphaSection.Outcome outcome(PruneMode mode, double chosen, double... heldOut) {
        List<Double> grid = List.of(0d, 100d, Double.POSITIVE_INFINITY);
        List<AlphaSearch.Point> pts = List.of(new AlphaSearch.Point(0, heldOut[0], 3, 10, 0.5, 1),
                new AlphaSearch.Point(100, heldOut[1], 3, 10, 0.5, 1),
                new AlphaSearch.Point(Double.POSITIVE_INFINITY, heldOut[2], 3, 10, 0.5, 1));
        AlphaSearch.Point c = pts.get(grid.indexOf(chosen));
        return new AutoAlphaSection.Outcome(SparsityPattern.unstructured(0.5), mode,
                new AlphaSearch.Outcome(pts, c, mode == PruneMode.ONE_SHOT, null),
                Map.of(0d, 20.0, 100d, 19.0, Double.POSITIVE_INFINITY, 25.0));
    }

    @Test
    void tablesShowTheChoiceAndTheComparison() {
        String md = AutoAlphaSection.render(List.of(outcome(PruneMode.ONE_SHOT, 100, 30, 29, 40),
                outcome(PruneMode.SEQUENTIAL, 0, 28, 29, 40)), "chunks 1000..1063", List.of(0d, 100d,
                        Double.POSITIVE_INFINITY), 128);
        assertThat(md).contains("| 50% unstructured | one-shot | 100 | 19.000 | 19.000 | 20.000 |")
                .contains("| 50% unstructured | sequential | 0 | 20.000 | 19.000 | 20.000 |")
                .contains("| 50% unstructured | one-shot | held-out | 30.000 | 29.000 * | 40.000 |")
                .contains("| 50% unstructured | sequential | eval | 20.000 | 19.000 | 25.000 |")
                .contains("lower than gblm α=100's in 0 of 2 settings and lower than Wanda's in 1 of 2")
                .contains("grid {0, 100, inf}").contains("chunks 1000..1063");
    }
}
