package dev.gblm.prune;

import dev.gblm.GblmException;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;

/**
 * Pruning scores (higher = keep) of a row block of a weight matrix, in float32 with the reference's order
 * of operations, so masks match torch float32 bit for bit:
 *
 * <ul>
 *   <li>magnitude {@code |W|}
 *   <li>wanda {@code |W| * sqrt(A/N)} — {@code A/N} rounded to float32 first ({@code scaler_row}), then
 *       its float32 square root (Java's double {@code Math.sqrt} rounded to float is the correctly rounded
 *       float square root)
 *   <li>gradient {@code |W| * G}
 *   <li>gblm {@code (|W| * sqrt(A/N)) + (|W| * G)}
 * </ul>
 * with {@code G = gradL1} (l1) or {@code sqrt(gradL2Sq)} in float32 (l2).
 *
 * <p>{@code weights} holds rows {@code [rowStart, rowEnd)} of the matrix, row-major; {@code stats} may be
 * the whole module's or any row block containing those rows (its {@code rowStart} is the offset).
 */
public final class Scores {
    private Scores() {}

    public static float[] compute(Method method, GradNorm norm, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats) {
        float[] out = new float[weights.length];
        compute(method, norm, weights, rowStart, rowEnd, in, stats, out);
        return out;
    }

    /** As {@link #compute(Method, GradNorm, float[], int, int, int, ModuleStats)}, writing into {@code out}. */
    public static void compute(Method method, GradNorm norm, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats, float[] out) {
        int rows = rowEnd - rowStart;
        MaskSelector.checkShape(weights, rows, in);
        if (out.length != weights.length) {
            throw new IllegalArgumentException("output has " + out.length + " values, weights " + weights.length);
        }
        switch (method) {
            case MAGNITUDE:
                for (int i = 0; i < weights.length; i++) {
                    out[i] = Math.abs(weights[i]);
                }
                return;
            case WANDA: {
                float[] col = activationNorms(stats, in);
                for (int r = 0; r < rows; r++) {
                    int o = r * in;
                    for (int j = 0; j < in; j++) {
                        out[o + j] = Math.abs(weights[o + j]) * col[j];
                    }
                }
                return;
            }
            case GRADIENT: {
                float[] g = gradientSource(stats, norm, rowStart, rowEnd, in);
                int go = (rowStart - stats.rowStart()) * in;
                boolean l2 = norm == GradNorm.L2;
                for (int i = 0; i < weights.length; i++) {
                    float gi = l2 ? (float) Math.sqrt(g[go + i]) : g[go + i];
                    out[i] = Math.abs(weights[i]) * gi;
                }
                return;
            }
            case GBLM: {
                float[] col = activationNorms(stats, in);
                float[] g = gradientSource(stats, norm, rowStart, rowEnd, in);
                int go = (rowStart - stats.rowStart()) * in;
                boolean l2 = norm == GradNorm.L2;
                for (int r = 0; r < rows; r++) {
                    int o = r * in;
                    for (int j = 0; j < in; j++) {
                        float a = Math.abs(weights[o + j]);
                        float gi = l2 ? (float) Math.sqrt(g[go + o + j]) : g[go + o + j];
                        out[o + j] = a * col[j] + a * gi;
                    }
                }
                return;
            }
            default:
                throw new IllegalArgumentException(method + " has no score; it is pruned by SparseGpt");
        }
    }

    /** {@code sqrt(A/N)} per input column in float32: Wanda's {@code ||X_j||_2}. */
    public static float[] activationNorms(ModuleStats stats, int in) {
        if (stats == null || !stats.kinds().contains(StatKind.ACT)) {
            throw new GblmException("activation statistics are missing" + (stats == null ? "" : " for " + stats.describe()));
        }
        if (stats.in() != in) {
            throw new IllegalArgumentException("statistics have in=" + stats.in() + ", weights " + in);
        }
        if (stats.sampleCount() <= 0) {
            throw new GblmException("no calibration samples in the statistics of " + stats.describe());
        }
        float n = (float) stats.sampleCount();
        float[] a = stats.actSq();
        float[] col = new float[in];
        for (int j = 0; j < in; j++) {
            col[j] = (float) Math.sqrt(a[j] / n);
        }
        return col;
    }

    private static float[] gradientSource(ModuleStats stats, GradNorm norm, int rowStart, int rowEnd, int in) {
        if (stats == null || !stats.kinds().contains(StatKind.GRAD)) {
            throw new GblmException("gradient statistics are missing" + (stats == null ? "" : " for " + stats.describe()));
        }
        if (stats.in() != in) {
            throw new IllegalArgumentException("statistics have in=" + stats.in() + ", weights " + in);
        }
        if (rowStart < stats.rowStart() || rowEnd > stats.rowEnd()) {
            throw new IllegalArgumentException("rows [" + rowStart + "," + rowEnd + ") not covered by " + stats.describe());
        }
        return norm == GradNorm.L2 ? stats.gradL2Sq() : stats.gradL1();
    }
}
