package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.PruneMode;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class QualityGridTest {
    final QualityGrid grid = QualityGrid.standard(List.of(MethodVariant.values()));

    @Test
    void tableHasOneRunPerPatternForModeIndependentMethodsAndTwoOtherwise() {
        List<RunSpec> table = grid.tableRuns();
        // magnitude, gradient-l1, gradient-l2: 3 patterns each; wanda, sparsegpt, gblm-l1, gblm-l2: 3 × 2 modes
        assertThat(table).hasSize(3 * 3 + 4 * 3 * 2);
        assertThat(table).filteredOn(r -> r.variant() == MethodVariant.MAGNITUDE)
                .extracting(RunSpec::pattern).containsExactlyElementsOf(QualityGrid.standardPatterns());
        assertThat(table).filteredOn(r -> r.variant().modeIndependent()).allMatch(r -> r.mode() == null);
        assertThat(table).filteredOn(r -> r.variant() == MethodVariant.WANDA)
                .extracting(RunSpec::mode).containsOnly(PruneMode.SEQUENTIAL, PruneMode.ONE_SHOT).hasSize(6);
    }

    @Test
    void sweepPointsEqualToTableRunsRunOnce() {
        assertThat(grid.sweepRuns()).hasSize(7 * 7);
        List<RunSpec> all = grid.allRuns();
        assertThat(new HashSet<>(all)).hasSize(all.size());
        assertThat(all).containsAll(grid.tableRuns()).containsAll(grid.sweepRuns());
        // the 50% sequential point of every method is also a table run
        assertThat(all).hasSize(grid.tableRuns().size() + grid.sweepRuns().size() - 7);
        assertThat(all.subList(0, grid.tableRuns().size())).isEqualTo(grid.tableRuns());
    }

    @Test
    void sweepIsSequentialAndUnstructured() {
        assertThat(grid.sweepMode()).isEqualTo(PruneMode.SEQUENTIAL);
        assertThat(grid.sweepRuns()).allMatch(r -> r.pattern().isUnstructured())
                .allMatch(r -> r.mode() == null || r.mode() == PruneMode.SEQUENTIAL);
        assertThat(grid.sweepSparsities()).containsExactly(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7);
    }

    @Test
    void rowKeysCollapseModeIndependentMethods() {
        List<RunSpec> rows = grid.rowKeys(SparsityPattern.nm(2, 4));
        assertThat(rows).extracting(RunSpec::modeLabel).containsExactly("none", "sequential", "one-shot",
                "sequential", "one-shot", "either", "either", "sequential", "one-shot", "sequential", "one-shot");
        assertThat(rows).extracting(r -> r.variant().label()).startsWith("magnitude", "wanda", "wanda");
    }

    @Test
    void runSpecRejectsModesThatMakeNoSenseAndLabelsRuns() {
        SparsityPattern half = SparsityPattern.unstructured(0.5);
        assertThatThrownBy(() -> new RunSpec(MethodVariant.MAGNITUDE, half, PruneMode.SEQUENTIAL))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new RunSpec(MethodVariant.WANDA, half, null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(RunSpec.of(MethodVariant.GBLM_L2, SparsityPattern.nm(4, 8), PruneMode.ONE_SHOT).label())
                .isEqualTo("gblm-l2 4:8 one-shot");
        assertThat(RunSpec.of(MethodVariant.MAGNITUDE, half, PruneMode.ONE_SHOT).label())
                .isEqualTo("magnitude 50% unstructured");
    }

    @Test
    void runSpecConfigCarriesMethodAndNorm() {
        var cfg = RunSpec.of(MethodVariant.GRADIENT_L2, SparsityPattern.nm(2, 4), PruneMode.SEQUENTIAL)
                .config(dev.gblm.prune.TailRule.REFERENCE);
        assertThat(cfg.method()).isEqualTo(dev.gblm.prune.Method.GRADIENT);
        assertThat(cfg.gradNorm()).isEqualTo(dev.gblm.prune.GradNorm.L2);
        assertThat(cfg.tailRule()).isEqualTo(dev.gblm.prune.TailRule.REFERENCE);
    }

    @Test
    void invalidSweepSparsityAndUnknownMethodAreRejected() {
        assertThatThrownBy(() -> new QualityGrid(List.of(MethodVariant.WANDA), QualityGrid.standardPatterns(),
                List.of(PruneMode.SEQUENTIAL), List.of(1.0), PruneMode.SEQUENTIAL)).isInstanceOf(GblmException.class);
        assertThatThrownBy(() -> MethodVariant.parse("gblm")).isInstanceOf(GblmException.class)
                .hasMessageContaining("gblm-l1");
        assertThat(MethodVariant.parse(" GBLM-L2 ")).isEqualTo(MethodVariant.GBLM_L2);
    }
}
