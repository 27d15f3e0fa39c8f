package dev.gblm.prune;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class MaskSelectorTest {

    /** Independent oracle: stable ascending full sort of each row, first k indices pruned. */
    private static Mask stableSortOracle(float[] s, int rows, int in, double sparsity) {
        Mask m = new Mask(rows, in);
        int k = (int) (in * sparsity);
        for (int r = 0; r < rows; r++) {
            final int o = r * in;
            Integer[] idx = IntStream.range(0, in).boxed().toArray(Integer[]::new);
            Arrays.sort(idx, Comparator.comparingDouble(j -> s[o + j])); // Arrays.sort on objects is stable
            for (int t = 0; t < k; t++) {
                m.prune(r, idx[t]);
            }
        }
        return m;
    }

    /** Oracle for one group: stable sort of the group, first p pruned. */
    private static Mask nmOracle(float[] s, int rows, int in, int n, int m, TailRule rule) {
        Mask mask = new Mask(rows, in);
        for (int r = 0; r < rows; r++) {
            for (int g = 0; g < in; g += m) {
                final int o = r * in + g;
                int width = Math.min(m, in - g);
                int p = width == m ? n : (rule == TailRule.REFERENCE ? Math.min(n, width) : n * width / m);
                Integer[] idx = IntStream.range(0, width).boxed().toArray(Integer[]::new);
                Arrays.sort(idx, Comparator.comparingDouble(j -> s[o + j]));
                for (int t = 0; t < p; t++) {
                    mask.prune(r, g + idx[t]);
                }
            }
        }
        return mask;
    }

    private static float[] random(Random rnd, int n, int distinct) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = distinct > 0 ? rnd.nextInt(distinct) * 0.25f : rnd.nextFloat();
        }
        return a;
    }

    @Test
    void unstructuredEqualsStableSortOnRandomAndTiedData() {
        Random rnd = new Random(1);
        int cases = 0;
        for (int distinct : new int[] {0, 2, 3, 7, 50}) {
            for (int in : new int[] {1, 2, 5, 16, 17, 100, 257}) {
                for (double sp : new double[] {0.1, 0.25, 0.5, 0.7, 0.99}) {
                    int rows = 1 + rnd.nextInt(6);
                    float[] s = random(rnd, rows * in, distinct);
                    Mask got = MaskSelector.unstructured(s, rows, in, sp);
                    assertThat(got).as("distinct=%d in=%d sparsity=%s", distinct, in, sp)
                            .isEqualTo(stableSortOracle(s, rows, in, sp));
                    for (int r = 0; r < rows; r++) {
                        assertThat(got.prunedInRow(r)).isEqualTo((int) (in * sp));
                    }
                    cases++;
                }
            }
        }
        assertThat(cases).isEqualTo(175);
    }

    @Test
    void unstructuredAllEqualPrunesLowestColumns() {
        float[] s = new float[10];
        Arrays.fill(s, 3f);
        Mask m = MaskSelector.unstructured(s, 1, 10, 0.4);
        for (int j = 0; j < 10; j++) {
            assertThat(m.isPruned(0, j)).as("col %d", j).isEqualTo(j < 4);
        }
    }

    @Test
    void nmEqualsOracleIncludingTailsUnderBothRules() {
        Random rnd = new Random(2);
        int[][] patterns = {{2, 4}, {4, 8}, {1, 4}};
        for (int[] p : patterns) {
            for (int in : new int[] {4, 8, 10, 100, 101, 37}) {
                for (TailRule rule : TailRule.values()) {
                    for (int distinct : new int[] {0, 2, 4}) {
                        float[] s = random(rnd, 3 * in, distinct);
                        assertThat(MaskSelector.nm(s, 3, in, p[0], p[1], rule))
                                .as("%d:%d in=%d %s distinct=%d", p[0], p[1], in, rule, distinct)
                                .isEqualTo(nmOracle(s, 3, in, p[0], p[1], rule));
                    }
                }
            }
        }
    }

    @Test
    void fourToEightTailOf100Columns() {
        float[] s = random(new Random(3), 100, 0);
        Mask ref = MaskSelector.nm(s, 1, 100, 4, 8, TailRule.REFERENCE);
        Mask prop = MaskSelector.nm(s, 1, 100, 4, 8, TailRule.PROPORTIONAL);
        // 12 full groups (96 columns) prune 48; the 4-wide tail: reference prunes all 4, proportional 2
        assertThat(ref.prunedCount()).isEqualTo(48 + 4);
        assertThat(prop.prunedCount()).isEqualTo(48 + 2);
        for (int j = 96; j < 100; j++) {
            assertThat(ref.isPruned(0, j)).isTrue();
        }
        for (int j = 0; j < 96; j++) {
            assertThat(ref.isPruned(0, j)).isEqualTo(prop.isPruned(0, j));
        }
    }

    @Test
    void twoToFourGroupsPruneExactlyTwoLowest() {
        float[] s = {4, 1, 3, 2, /**/ 5, 5, 5, 5, /**/ 0, 9, 0, 8};
        Mask m = MaskSelector.nm(s, 1, 12, 2, 4, TailRule.PROPORTIONAL);
        boolean[] expected = {false, true, false, true, true, true, false, false, true, false, true, false};
        for (int j = 0; j < 12; j++) {
            assertThat(m.isPruned(0, j)).as("col %d", j).isEqualTo(expected[j]);
        }
    }

    @Test
    void magnitudeThresholdPrunesOneMorePlusTies() {
        // |W| sorted: 0.1 0.2 0.3 0.3 0.3 0.5 0.6 0.7 ; numel 8, s=0.25 -> index 2 -> t=0.3
        float[] w = {0.5f, -0.3f, 0.1f, 0.3f, -0.7f, 0.2f, 0.3f, -0.6f};
        Mask m = MaskSelector.magnitudeThreshold(w, 2, 4, 0.25);
        // floor(8*0.25)=2, plus the element at index 2 and its two ties: 5 pruned
        assertThat(m.prunedCount()).isEqualTo(5);
        for (int i = 0; i < 8; i++) {
            assertThat(m.isPrunedIndex(i)).as("index %d", i).isEqualTo(Math.abs(w[i]) <= 0.3f);
        }
    }

    @Test
    void magnitudeThresholdWithoutTiesPrunesFloorPlusOne() {
        Random rnd = new Random(4);
        float[] w = new float[64 * 33];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        Mask m = MaskSelector.magnitudeThreshold(w, 64, 33, 0.5);
        assertThat(m.prunedCount()).isEqualTo(w.length / 2 + 1);
        float[] sorted = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            sorted[i] = Math.abs(w[i]);
        }
        Arrays.sort(sorted);
        float t = sorted[w.length / 2];
        for (int i = 0; i < w.length; i++) {
            assertThat(m.isPrunedIndex(i)).isEqualTo(Math.abs(w[i]) <= t);
        }
    }
}
