package dev.gblm.report;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.PruneMode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Ranking sentences from made-up perplexities: the text must follow the numbers, whichever way they go. */
class RankingTest {
    static final SparsityPattern HALF = SparsityPattern.unstructured(0.5);
    static final SparsityPattern NM24 = SparsityPattern.nm(2, 4);
    static final PruneMode SEQ = PruneMode.SEQUENTIAL;
    static final PruneMode ONE = PruneMode.ONE_SHOT;

    final QualityGrid grid = new QualityGrid(
            List.of(MethodVariant.MAGNITUDE, MethodVariant.WANDA, MethodVariant.SPARSEGPT, MethodVariant.GBLM_L1),
            List.of(HALF, NM24), List.of(SEQ, ONE), List.of(0.3, 0.5, 0.7), SEQ);
    final Map<RunSpec, Double> ppl = new HashMap<>();

    void put(MethodVariant v, SparsityPattern p, PruneMode m, double x) {
        ppl.put(RunSpec.of(v, p, m), x);
    }

    void standardNumbers() {
        put(MethodVariant.MAGNITUDE, HALF, null, 40);
        put(MethodVariant.MAGNITUDE, NM24, null, 100);
        put(MethodVariant.WANDA, HALF, SEQ, 20);
        put(MethodVariant.WANDA, HALF, ONE, 21);
        put(MethodVariant.WANDA, NM24, SEQ, 60);
        put(MethodVariant.WANDA, NM24, ONE, 50);
        put(MethodVariant.SPARSEGPT, HALF, SEQ, 10);
        put(MethodVariant.SPARSEGPT, HALF, ONE, 12);
        put(MethodVariant.SPARSEGPT, NM24, SEQ, 30);
        put(MethodVariant.SPARSEGPT, NM24, ONE, 35);
        put(MethodVariant.GBLM_L1, HALF, SEQ, 18);
        put(MethodVariant.GBLM_L1, HALF, ONE, 22);
        put(MethodVariant.GBLM_L1, NM24, SEQ, 25);
        put(MethodVariant.GBLM_L1, NM24, ONE, 55);
    }

    Ranking ranking() {
        return new Ranking(grid, 4.0, ppl);
    }

    @Test
    void orderSentencesListMethodsFromBestWithTheirFactorToDense() {
        standardNumbers();
        List<String> s = ranking().orderSentences();
        assertThat(s).hasSize(4);
        assertThat(s.get(0)).isEqualTo("**50% unstructured, sequential**: sparsegpt 10.000 < gblm-l1 18.000 < "
                + "wanda 20.000 < magnitude 40.000. Best: sparsegpt, 2.5× dense (4.000).");
        assertThat(s.get(2)).startsWith("**2:4, sequential**: gblm-l1 25.000 < sparsegpt 30.000");
        // magnitude's single run takes part in both modes
        assertThat(s.get(3)).contains("magnitude 100.0").startsWith("**2:4, one-shot**: sparsegpt 35.000 < wanda 50.000");
    }

    @Test
    void winsCountSettingsWithTheLowestPerplexity() {
        standardNumbers();
        assertThat(ranking().wins()).containsExactly(Map.entry(MethodVariant.SPARSEGPT, 3),
                Map.entry(MethodVariant.GBLM_L1, 1));
        assertThat(String.join(" ", ranking().summarySentences()))
                .contains("Lowest perplexity per setting: sparsegpt in 3 of 4, gblm-l1 in 1 of 4.");
    }

    @Test
    void calibratedMethodsAgainstMagnitudeNameTheWeakestOrTheOnesNotBelow() {
        standardNumbers();
        assertThat(ranking().farBelowMagnitude()).hasValue("At 50% unstructured magnitude reaches 40.000 (10.0× dense); "
                + "every calibrated method is below it, the weakest, gblm-l1 50% unstructured one-shot (22.000), by 1.8×.");
        put(MethodVariant.WANDA, HALF, ONE, 41);
        assertThat(ranking().farBelowMagnitude().orElseThrow())
                .endsWith("not below it: wanda 50% unstructured one-shot.");
    }

    @Test
    void pairwiseCountsWinsAndTheRangeOfRelativeDifferences() {
        standardNumbers();
        // gblm vs wanda: 18/20, 22/21, 25/60, 55/50 → better in 2 of 4; rel from -58.3% to +10.0%
        assertThat(ranking().pairwise(MethodVariant.GBLM_L1, MethodVariant.WANDA)).hasValue(
                "gblm-l1 is lower than wanda in 2 of 4 settings (its perplexity is -58.3% to +10.0% relative to wanda's).");
        assertThat(ranking().pairwise(MethodVariant.GBLM_L1, MethodVariant.GBLM_L2)).isEmpty();
    }

    @Test
    void modesCompareSequentialWithOneShotOverModeDependentMethods() {
        standardNumbers();
        // seq < one in: wanda half, sparsegpt half, sparsegpt 2:4, gblm half, gblm 2:4 (5 of 6); wanda 2:4 not
        assertThat(ranking().modes().orElseThrow())
                .startsWith("Sequential is lower than one-shot in 5 of 6 method × pattern pairs");
    }

    @Test
    void sweepSentencesGiveTheOrderAtTheTopAndWhereEachMethodDoublesDense() {
        Map<RunSpec, Double> sweep = new HashMap<>();
        double[][] values = {{5, 40, 900}, {4.5, 20, 80}, {4.4, 10, 30}, {4.6, 7.9, 50}};
        MethodVariant[] vs = {MethodVariant.MAGNITUDE, MethodVariant.WANDA, MethodVariant.SPARSEGPT, MethodVariant.GBLM_L1};
        double[] sp = {0.3, 0.5, 0.7};
        for (int i = 0; i < vs.length; i++) {
            for (int j = 0; j < sp.length; j++) {
                sweep.put(RunSpec.of(vs[i], SparsityPattern.unstructured(sp[j]), SEQ), values[i][j]);
            }
        }
        List<String> s = ranking().sweepSentences(sweep);
        assertThat(s.get(0)).isEqualTo("At 70% unstructured (sequential): sparsegpt 30.000 < gblm-l1 50.000 < "
                + "wanda 80.000 < magnitude 900.0.");
        assertThat(s.get(1)).isEqualTo("First sparsity where perplexity exceeds twice dense: magnitude at 50%, "
                + "wanda at 50%, sparsegpt at 50%, gblm-l1 at 70%.");
    }

    @Test
    void missingRunsAreLeftOut() {
        put(MethodVariant.WANDA, HALF, SEQ, 20);
        Ranking r = ranking();
        assertThat(r.orderSentences()).singleElement().asString().startsWith("**50% unstructured, sequential**: wanda");
        assertThat(r.farBelowMagnitude()).isEmpty();
        assertThat(r.modes()).isEmpty();
    }
}
