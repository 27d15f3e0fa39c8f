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
    void radixSelectMatchesSortedArrayWithCountsOfLessAndEqual() {
        Random rnd = new Random(5);
        RadixSelect sel = new RadixSelect();
        for (int trial = 0; trial < 300; trial++) {
            int n = 1 + rnd.nextInt(3000);
            int[] a = new int[n];
            for (int i = 0; i < n; i++) {
                switch (trial % 4) {
                    case 0 -> a[i] = rnd.nextInt(3) - 1; // heavy ties around 0
                    case 1 -> a[i] = rnd.nextInt();
                    case 2 -> a[i] = OrderKeys.key(rnd.nextFloat()); // narrow exponent range, like scores
                    default -> a[i] = 1000 + rnd.nextInt(2048); // differ only in low bits
                }
            }
            int[] copy = a.clone();
            int[] sorted = a.clone();
            Arrays.sort(sorted);
            int k = rnd.nextInt(n);
            int got = sel.select(a, n, k);
            assertThat(got).as("trial %d n=%d k=%d", trial, n, k).isEqualTo(sorted[k]);
            long less = Arrays.stream(sorted).filter(v -> v < got).count();
            long equal = Arrays.stream(sorted).filter(v -> v == got).count();
            assertThat(sel.less).isEqualTo(less);
            assertThat(sel.equal).isEqualTo(equal);
            assertThat(a).containsExactly(copy);
        }
    }
}
