package dev.gblm.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.model.LinearKind;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ModuleStatsTest {
    private static final StatKinds ALL = StatKinds.of(StatKind.GRAD, StatKind.ACT, StatKind.HESSIAN);
    private static final int OUT = 6;
    private static final int IN = 5;

    /** Statistics of samples [from, to) of a deterministic synthetic sample stream, accumulated one at a time. */
    private static ModuleStats samples(int from, int to) {
        ModuleStats s = ModuleStats.zeros(2, LinearKind.GATE_PROJ, 0, OUT, IN, ALL);
        for (int n = from; n < to; n++) {
            Random rnd = new Random(1000 + n); // sample n always has the same content
            float[] g = new float[OUT * IN];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) rnd.nextGaussian() * 1e-3f;
            }
            int tokens = 1 + rnd.nextInt(7);
            float[] x = new float[tokens * IN];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextGaussian();
            }
            s.addGradient(g, 100f);
            s.addActivations(x, tokens);
            s.addCounts(1, tokens);
        }
        return s;
    }

    private static double maxRelErr(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            double scale = Math.max(Math.abs((double) a[i]), Math.abs((double) b[i]));
            if (scale > 0) {
                m = Math.max(m, d / scale);
            }
        }
        return m;
    }

    private static double maxRelErr(ModuleStats a, ModuleStats b) {
        return Math.max(Math.max(maxRelErr(a.gradL1(), b.gradL1()), maxRelErr(a.gradL2Sq(), b.gradL2Sq())),
                Math.max(maxRelErr(a.actSq(), b.actSq()), maxRelErr(a.hessian(), b.hessian())));
    }

    @Test
    void mergeOfTwoHalvesEqualsAllSamplesToFloatSummationError() {
        ModuleStats all = samples(0, 128);
        ModuleStats merged = samples(0, 64).merge(samples(64, 128));
        assertThat(merged.sampleCount()).isEqualTo(128);
        assertThat(merged.tokenCount()).isEqualTo(all.tokenCount());
        double err = maxRelErr(all, merged);
        System.out.printf("merge(1..64, 65..128) vs 1..128: max relative error %.3g%n", err);
        // 128 float32 additions: the sequential sum's bound is ~128 * 2^-24 = 7.6e-6 relative (of the sum of |terms|)
        assertThat(err).as("max relative error of merged(1..64, 65..128) vs all(1..128): %s", err).isLessThan(1e-5);
        // and they are not trivially identical objects
        assertThat(merged).isNotSameAs(all);
    }

    @Test
    void mergeIsCommutativeExactlyAndAssociativeToRounding() {
        ModuleStats a = samples(0, 10);
        ModuleStats b = samples(10, 23);
        ModuleStats c = samples(23, 40);
        assertThat(a.merge(b)).isEqualTo(b.merge(a));
        ModuleStats left = a.merge(b).merge(c);
        ModuleStats right = a.merge(b.merge(c));
        double err = maxRelErr(left, right);
        assertThat(err).as("(a+b)+c vs a+(b+c) max relative error %s", err).isLessThan(1e-6);
        assertThat(left.sampleCount()).isEqualTo(right.sampleCount()).isEqualTo(40);
    }

    @Test
    void pureMergeLeavesOperandsAndInPlaceMergeAddsIntoReceiver() {
        ModuleStats a = samples(0, 3);
        ModuleStats aCopy = a.copy();
        ModuleStats b = samples(3, 5);
        ModuleStats sum = a.merge(b);
        assertThat(a).isEqualTo(aCopy);
        assertThat(a.mergeInPlace(b)).isSameAs(a).isEqualTo(sum);
    }

    @Test
    void accumulationFollowsTheDefinitions() {
        ModuleStats s = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 1, 2, ALL);
        s.addGradient(new float[] {-0.01f, 0.02f}, 100f);
        s.addActivations(new float[] {1f, 2f, 3f, -1f}, 2); // tokens (1,2), (3,-1)
        s.addCounts(1, 2);
        assertThat(s.gradL1()).containsExactly(1f, 2f);
        assertThat(s.gradL2Sq()).containsExactly(1f, 4f);
        assertThat(s.actSq()).containsExactly(10f, 5f);
        assertThat(s.hessian()).containsExactly(10f, -1f, -1f, 5f);
    }

    @Test
    void rowBlocksSliceGradientsAndCarryColumnStatisticsWhole() {
        ModuleStats all = samples(0, 4);
        ModuleStats block = all.rowBlock(2, 5);
        assertThat(block.rowStart()).isEqualTo(2);
        assertThat(block.rows()).isEqualTo(3);
        for (int r = 2; r < 5; r++) {
            for (int j = 0; j < IN; j++) {
                assertThat(block.gradL1()[(r - 2) * IN + j]).isEqualTo(all.gradL1()[r * IN + j]);
                assertThat(block.gradL2Sq()[(r - 2) * IN + j]).isEqualTo(all.gradL2Sq()[r * IN + j]);
            }
        }
        assertThat(block.actSq()).containsExactly(all.actSq());
        assertThat(block.hessian()).containsExactly(all.hessian());
        assertThat(block.sampleCount()).isEqualTo(4);
        // merging blocks of different samples equals the block of the merged statistics
        assertThat(block.merge(samples(4, 6).rowBlock(2, 5))).isEqualTo(all.merge(samples(4, 6)).rowBlock(2, 5));
        assertThatThrownBy(() -> all.rowBlock(4, 7)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void incompatibleStatisticsDoNotMerge() {
        ModuleStats a = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 2, 3, ALL);
        assertThatThrownBy(() -> a.merge(ModuleStats.zeros(1, LinearKind.Q_PROJ, 0, 2, 3, ALL)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot merge layer 0 q_proj");
        assertThatThrownBy(() -> a.merge(ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 2, 3, StatKinds.of(StatKind.ACT))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.merge(ModuleStats.zeros(0, LinearKind.Q_PROJ, 2, 4, 3, ALL)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void calibrationStatsMergePerModule() {
        CalibrationStats x = new CalibrationStats().add(samples(0, 2));
        ModuleStats other = ModuleStats.zeros(0, LinearKind.V_PROJ, 0, 2, 2, StatKinds.of(StatKind.ACT));
        other.addCounts(3, 9);
        CalibrationStats y = new CalibrationStats().add(samples(2, 5)).add(other);
        CalibrationStats xy = x.merge(y);
        assertThat(xy.size()).isEqualTo(2);
        assertThat(xy.get(2, LinearKind.GATE_PROJ)).isEqualTo(samples(0, 2).merge(samples(2, 5)));
        assertThat(xy.get(0, LinearKind.V_PROJ).sampleCount()).isEqualTo(3);
        assertThat(xy).isEqualTo(y.merge(x));
        assertThat(x.size()).isEqualTo(1); // pure merge leaves operands
        assertThat(xy.modules().firstKey()).isEqualTo(new ModuleKey(0, LinearKind.V_PROJ));
    }
}
