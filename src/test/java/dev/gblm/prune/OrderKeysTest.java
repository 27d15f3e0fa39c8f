package dev.gblm.prune;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OrderKeysTest {

    @Test
    void keysPreserveFloatOrderFoldNegativeZeroAndPutNanLast() {
        float[] ordered = {Float.NEGATIVE_INFINITY, -3.5f, -1e-30f, -Float.MIN_VALUE, 0f, Float.MIN_VALUE, 1e-30f, 1f,
                2.5f, Float.MAX_VALUE, Float.POSITIVE_INFINITY};
        for (int i = 1; i < ordered.length; i++) {
            assertThat(OrderKeys.key(ordered[i - 1])).isLessThan(OrderKeys.key(ordered[i]));
        }
        assertThat(OrderKeys.key(-0f)).isEqualTo(OrderKeys.key(0f));
        assertThat(OrderKeys.key(Float.NaN)).isGreaterThan(OrderKeys.key(Float.POSITIVE_INFINITY));
    }

    @Test
    void selectMatchesSortedArrayAtEveryRank() {
        Random rnd = new Random(5);
        for (int trial = 0; trial < 200; trial++) {
            int n = 1 + rnd.nextInt(300);
            int bound = trial % 3 == 0 ? 3 : Integer.MAX_VALUE;
            int[] a = new int[n];
            for (int i = 0; i < n; i++) {
                a[i] = bound == 3 ? rnd.nextInt(3) : rnd.nextInt();
            }
            int[] sorted = a.clone();
            Arrays.sort(sorted);
            int k = rnd.nextInt(n);
            assertThat(OrderKeys.select(a.clone(), 0, n, k)).as("n=%d k=%d", n, k).isEqualTo(sorted[k]);
        }
    }
}
