package dev.gblm.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import org.junit.jupiter.api.Test;

/** Scores on a 2x2 example computed by hand. */
class ScoresTest {
    // W = [[-2, 1], [3, -0.5]] ; A = [8, 2] over N = 2 samples -> sqrt(A/N) = [2, 1]
    // rows 4..5 of a module; G1 = [[1, 4], [0.5, 2]] ; L2 sums = [[9, 16], [0.25, 4]] -> G2 = [[3, 4], [0.5, 2]]
    private static final float[] W = {-2f, 1f, 3f, -0.5f};

    private static ModuleStats stats() {
        ModuleStats s = new ModuleStats(0, LinearKind.UP_PROJ, 4, 6, 2, StatKinds.of(StatKind.GRAD, StatKind.ACT),
                new float[] {1f, 4f, 0.5f, 2f}, new float[] {9f, 16f, 0.25f, 4f}, new float[] {8f, 2f}, null, 2, 10);
        return s;
    }

    @Test
    void magnitude() {
        assertThat(Scores.compute(Method.MAGNITUDE, GradNorm.L1, W, 4, 6, 2, null)).containsExactly(2f, 1f, 3f, 0.5f);
    }

    @Test
    void wanda() {
        // |W| * [2, 1]
        assertThat(Scores.compute(Method.WANDA, GradNorm.L1, W, 4, 6, 2, stats())).containsExactly(4f, 1f, 6f, 0.5f);
    }

    @Test
    void gradientL1AndL2() {
        assertThat(Scores.compute(Method.GRADIENT, GradNorm.L1, W, 4, 6, 2, stats())).containsExactly(2f, 4f, 1.5f, 1f);
        assertThat(Scores.compute(Method.GRADIENT, GradNorm.L2, W, 4, 6, 2, stats())).containsExactly(6f, 4f, 1.5f, 1f);
    }

    @Test
    void gblmIsWandaPlusGradient() {
        assertThat(Scores.compute(Method.GBLM, GradNorm.L1, W, 4, 6, 2, stats())).containsExactly(6f, 5f, 7.5f, 1.5f);
        assertThat(Scores.compute(Method.GBLM, GradNorm.L2, W, 4, 6, 2, stats())).containsExactly(10f, 5f, 7.5f, 1.5f);
    }

    @Test
    void rowBlockOffsetsIntoWholeModuleStatistics() {
        // the second row only (row 5), using the stats of rows [4,6)
        float[] w = {3f, -0.5f};
        assertThat(Scores.compute(Method.GBLM, GradNorm.L1, w, 5, 6, 2, stats())).containsExactly(7.5f, 1.5f);
    }

    @Test
    void wandaRoundsScalerRowToFloatBeforeSqrt() {
        // A/N = 1/3 in float32, then float sqrt, then float product: must equal the float32 chain exactly
        ModuleStats s = new ModuleStats(0, LinearKind.Q_PROJ, 0, 1, 1, StatKinds.of(StatKind.ACT), null, null,
                new float[] {1f}, null, 3, 3);
        float expected = 0.7f * (float) Math.sqrt(1f / 3f);
        assertThat(Scores.compute(Method.WANDA, GradNorm.L1, new float[] {-0.7f}, 0, 1, 1, s)[0]).isEqualTo(expected);
    }

    @Test
    void missingStatisticsAreClearErrors() {
        ModuleStats actOnly = new ModuleStats(0, LinearKind.Q_PROJ, 0, 2, 2, StatKinds.of(StatKind.ACT), null, null,
                new float[] {1f, 1f}, null, 1, 1);
        assertThatThrownBy(() -> Scores.compute(Method.GBLM, GradNorm.L1, W, 0, 2, 2, actOnly))
                .isInstanceOf(GblmException.class).hasMessageContaining("gradient statistics are missing");
        assertThatThrownBy(() -> Scores.compute(Method.SPARSEGPT, GradNorm.L1, W, 0, 2, 2, actOnly))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
