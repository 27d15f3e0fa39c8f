package dev.gblm.prune;

import java.util.Arrays;

/**
 * Magnitude's unstructured rule uses ONE threshold per matrix (docs/design.md, "Pruning math"): {@code t} = element
 * {@code floor(numel*s)} of the ascending order of {@code |W|}, prune every {@code |W| <= t}. A row block cannot
 * know it, but it needs no statistics, so the planner computes it once per matrix from the weights when it
 * declares the epoch and sends it with every block's command; each block then applies {@code |W| <= t} alone and
 * the stacked blocks equal {@code MaskSelector.magnitudeThreshold} of the whole matrix.
 */
public final class MagnitudeThreshold {
    private MagnitudeThreshold() {}

    public static float of(float[] matrix, double sparsity) {
        if (matrix.length == 0) {
            throw new IllegalArgumentException("empty matrix");
        }
        float[] a = new float[matrix.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = Math.abs(matrix[i]);
        }
        Arrays.sort(a);
        int idx = (int) (matrix.length * sparsity);
        return a[Math.min(idx, a.length - 1)];
    }

    /** The mask of a row block ({@code rows*in} weights) under threshold {@code t}. */
    public static Mask apply(float[] weights, int rows, int in, float t) {
        Mask m = new Mask(rows, in);
        for (int i = 0; i < weights.length; i++) {
            if (Math.abs(weights[i]) <= t) {
                m.pruneIndex(i);
            }
        }
        return m;
    }
}
