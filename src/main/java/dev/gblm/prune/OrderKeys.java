package dev.gblm.prune;

/**
 * Order-preserving int keys for floats and k-th value selection on them. Selecting on ints avoids NaN
 * and -0.0 pitfalls of float comparisons and is faster: -0.0 is folded to +0.0 (torch compares them
 * equal) and every NaN maps to the largest key (torch sorts NaN last).
 */
final class OrderKeys {
    private OrderKeys() {}

    static int key(float f) {
        if (f != f) {
            return Integer.MAX_VALUE;
        }
        int b = Float.floatToRawIntBits(f + 0.0f);
        return b ^ ((b >> 31) & 0x7fffffff);
    }

    /**
     * Returns the value that would be at index {@code k} of {@code a[from, to)} sorted ascending, reordering
     * that range (quickselect, median-of-three pivot, Hoare partition; equal keys split evenly, so many ties
     * do not degrade it).
     */
    static int select(int[] a, int from, int to, int k) {
        if (k < 0 || k >= to - from) {
            throw new IllegalArgumentException("rank " + k + " outside 0.." + (to - from - 1));
        }
        int lo = from;
        int hi = to - 1;
        int target = from + k;
        while (hi > lo) {
            if (hi - lo < 16) {
                insertionSort(a, lo, hi);
                return a[target];
            }
            int mid = (lo + hi) >>> 1;
            int x = a[lo];
            int y = a[mid];
            int z = a[hi];
            int pivot = x < y ? (y < z ? y : Math.max(x, z)) : (x < z ? x : Math.max(y, z));
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    int t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            // now [lo, j] <= pivot, [i, hi] >= pivot, (j, i) == pivot
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return pivot;
            }
        }
        return a[target];
    }

    private static void insertionSort(int[] a, int lo, int hi) {
        for (int i = lo + 1; i <= hi; i++) {
            int v = a[i];
            int j = i - 1;
            while (j >= lo && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }
}
