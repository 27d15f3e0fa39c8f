package dev.gblm.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The gradient weight alpha and the normalisation of gblm's gradient term. Expectations are computed here, by hand
 * on the 2x2 example of {@link ScoresTest} or by the formula written out in float32, never through {@link Scores}.
 */
class AlphaScoresTest {
    // W = [[-2, 1], [3, -0.5]]; sqrt(A/N) = [2, 1] over N = 2; G1 = [[1, 4], [0.5, 2]]; G2 sums = [[9, 16], [0.25, 4]]
    private static final float[] W = {-2f, 1f, 3f, -0.5f};
    private static final float S = 100f;

    private static ModuleStats stats() {
        return new ModuleStats(0, LinearKind.UP_PROJ, 4, 6, 2, StatKinds.of(StatKind.GRAD, StatKind.ACT),
                new float[] {1f, 4f, 0.5f, 2f}, new float[] {9f, 16f, 0.25f, 4f}, new float[] {8f, 2f}, null, 2, 10);
    }

    private static PruneSettings gblm(GradNorm norm, Double alpha, Normalization n) {
        return new PruneSettings(Method.GBLM, norm, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL, alpha, n);
    }

    private static float[] scores(PruneSettings cfg, ModuleStats s) {
        return Scores.compute(cfg, cfg.gradFactor(S), W, 4, 6, 2, s);
    }

    @Test
    void alphaEqualToTheGradientScaleIsThePapersScore() {
        // |W|*[2,1] + |W|*G1 = [4,1,6,0.5] + [2,4,1.5,1]
        assertThat(scores(gblm(GradNorm.L1, 100d, Normalization.SUM), stats())).containsExactly(6f, 5f, 7.5f, 1.5f);
        assertThat(gblm(GradNorm.L1, 100d, Normalization.SUM).gradFactor(S)).isEqualTo(1f);
        assertThat(gblm(GradNorm.L1, null, Normalization.SUM).gradFactor(Float.NaN)).isEqualTo(1f);
    }

    @Test
    void alphaScalesTheGradientTerm() {
        // alpha 50 at s 100: |W|*0.5*G1 = [1, 2, 0.75, 0.5]
        assertThat(scores(gblm(GradNorm.L1, 50d, Normalization.SUM), stats())).containsExactly(5f, 3f, 6.75f, 1f);
        // l2: |W|*0.5*G2 with G2 = [3,4,0.5,2] -> [3, 2, 0.75, 0.5]
        assertThat(scores(gblm(GradNorm.L2, 50d, Normalization.SUM), stats())).containsExactly(7f, 3f, 6.75f, 1f);
    }

    @Test
    void meanDividesTheGradientTermBySampleCount() {
        // l1 mean: G1/2 = [0.5, 2, 0.25, 1] -> |W|* = [1, 2, 0.75, 0.5]
        assertThat(scores(gblm(GradNorm.L1, 100d, Normalization.MEAN), stats())).containsExactly(5f, 3f, 6.75f, 1f);
        // alpha = N*s under mean gives the sums' scores (exact here: N = 2)
        assertThat(scores(gblm(GradNorm.L1, 200d, Normalization.MEAN), stats())).containsExactly(6f, 5f, 7.5f, 1.5f);
        // l2 mean: sqrt(G2/N), in float32
        float[] g2 = {9f, 16f, 0.25f, 4f};
        float[] col = {2f, 1f, 2f, 1f};
        float[] expected = new float[4];
        for (int i = 0; i < 4; i++) {
            float a = Math.abs(W[i]);
            expected[i] = a * col[i] + a * (float) Math.sqrt(g2[i] / 2f);
        }
        assertThat(scores(gblm(GradNorm.L2, 100d, Normalization.MEAN), stats())).containsExactly(expected);
    }

    @Test
    void meanScoresDoNotDependOnHowManySamplesWereSummed() {
        ModuleStats twice = stats().merge(stats()); // the same samples counted twice: sums double, N doubles
        for (GradNorm norm : GradNorm.values()) {
            PruneSettings mean = gblm(norm, 100d, Normalization.MEAN);
            assertThat(scores(mean, twice)).containsExactly(scores(mean, stats()));
            PruneSettings sum = gblm(norm, 100d, Normalization.SUM);
            assertThat(scores(sum, twice)).isNotEqualTo(scores(sum, stats()));
        }
    }

    @Test
    void zeroIsWandaAndInfinityIsTheGradientMethod() {
        for (GradNorm norm : GradNorm.values()) {
            for (Normalization n : Normalization.values()) {
                assertThat(scores(gblm(norm, 0d, n), stats()))
                        .containsExactly(Scores.compute(Method.WANDA, norm, W, 4, 6, 2, stats()));
                assertThat(scores(gblm(norm, Double.POSITIVE_INFINITY, n), stats()))
                        .containsExactly(Scores.compute(Method.GRADIENT, norm, W, 4, 6, 2, stats()));
            }
        }
    }

    /** The default settings' masks, bit for bit, against the paper's formula written out in float32. */
    @Test
    void defaultIsBitForBitThePapersFormulaOnRandomData() {
        Random rnd = new Random(7);
        int rows = 16;
        int in = 24;
        float[] w = new float[rows * in];
        float[] g1 = new float[rows * in];
        float[] g2 = new float[rows * in];
        float[] act = new float[in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
            g1[i] = (float) Math.abs(rnd.nextGaussian()) * 3f;
            g2[i] = (float) Math.abs(rnd.nextGaussian()) * 5f;
        }
        for (int j = 0; j < in; j++) {
            act[j] = (float) Math.abs(rnd.nextGaussian()) * 40f;
        }
        ModuleStats s = new ModuleStats(1, LinearKind.Q_PROJ, 0, rows, in, StatKinds.of(StatKind.GRAD, StatKind.ACT),
                g1, g2, act, null, 7, 700);
        for (GradNorm norm : GradNorm.values()) {
            float[] expected = new float[w.length];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < in; j++) {
                    int i = r * in + j;
                    float a = Math.abs(w[i]);
                    float col = (float) Math.sqrt(act[j] / 7f);
                    float g = norm == GradNorm.L2 ? (float) Math.sqrt(g2[i]) : g1[i];
                    expected[i] = a * col + a * g;
                }
            }
            for (PruneSettings cfg : new PruneSettings[] {
                new PruneSettings(Method.GBLM, norm, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL),
                gblm(norm, (double) S, Normalization.SUM)}) {
                float[] got = Scores.compute(cfg, cfg.gradFactor(S), w, 0, rows, in, s);
                for (int i = 0; i < got.length; i++) {
                    assertThat(Float.floatToRawIntBits(got[i])).as("score %d", i)
                            .isEqualTo(Float.floatToRawIntBits(expected[i]));
                }
                Mask viaPruner = Pruner.mask(cfg, S, w, 0, rows, in, s, null);
                Mask fromExpected = MaskSelector.select(expected, rows, in, cfg.pattern(), cfg.tailRule());
                assertThat(viaPruner.differences(fromExpected)).isZero();
            }
        }
    }

    @Test
    void badAlphasAreRefused() {
        assertThatThrownBy(() -> gblm(GradNorm.L1, -1d, Normalization.SUM)).isInstanceOf(GblmException.class)
                .hasMessageContaining("alpha must be >= 0");
        assertThatThrownBy(() -> gblm(GradNorm.L1, Double.NaN, Normalization.SUM)).isInstanceOf(GblmException.class);
        // an explicit alpha cannot be turned into alpha/s without s
        assertThatThrownBy(() -> Pruner.mask(gblm(GradNorm.L1, 10d, Normalization.SUM), W, 4, 6, 2, stats(), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("gradient scale");
    }

    @Test
    void normalizationParses() {
        assertThat(Normalization.parse(" MEAN ")).isEqualTo(Normalization.MEAN);
        assertThatThrownBy(() -> Normalization.parse("avg")).isInstanceOf(GblmException.class)
                .hasMessageContaining("expected sum or mean");
    }
}
