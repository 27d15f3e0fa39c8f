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
 *   <li>gblm {@code (|W| * sqrt(A/N)) + (|W| * (f * G))}
 * </ul>
 * with {@code G = gradL1} (l1) or {@code sqrt(gradL2Sq)} in float32 (l2) under {@link Normalization#SUM}, and
 * {@code gradL1/N} or {@code sqrt(gradL2Sq/N)} under {@link Normalization#MEAN}. {@code f} is the gradient factor
 * {@code alpha/s} ({@link PruneSettings#gradFactor}): exactly 1 skips the multiply (the paper's score, bit for bit),
 * 0 drops the gradient term (Wanda's scores exactly), {@code +infinity} drops the activation term (the gradient
 * method's scores exactly, whatever the normalisation: a common divisor does not change a ranking).
 *
 * <p>{@code weights} holds rows {@code [rowStart, rowEnd)} of the matrix, row-major; {@code stats} may be
 * the whole module's or any row block containing those rows (its {@code rowStart} is the offset).
 */
public final class Scores {
    private Scores() {}

    /** The paper's scores (gradient factor 1, sums). */
    public static float[] compute(Method method, GradNorm norm, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats) {
        float[] out = new float[weights.length];
        compute(method, norm, Normalization.SUM, 1f, weights, rowStart, rowEnd, in, stats, out);
        return out;
    }

    /** As {@link #compute(Method, GradNorm, float[], int, int, int, ModuleStats)}, writing into {@code out}. */
    public static void compute(Method method, GradNorm norm, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats, float[] out) {
        compute(method, norm, Normalization.SUM, 1f, weights, rowStart, rowEnd, in, stats, out);
    }

    /** The scores of {@code cfg}'s method with gradient factor {@code gradFactor} (see {@link PruneSettings#gradFactor}). */
    public static float[] compute(PruneSettings cfg, float gradFactor, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats) {
        float[] out = new float[weights.length];
        compute(cfg.method(), cfg.gradNorm(), cfg.normalization(), gradFactor, weights, rowStart, rowEnd, in, stats, out);
        return out;
    }

    /**
     * Every score, writing into {@code out}. {@code normalization} and {@code gradFactor} (finite {@code >= 0} or
     * {@code +infinity}) apply to gblm only.
     */
    public static void compute(Method method, GradNorm norm, Normalization normalization, float gradFactor,
            float[] weights, int rowStart, int rowEnd, int in, ModuleStats stats, float[] out) {
        if (!(gradFactor >= 0)) {
            throw new IllegalArgumentException("gradient factor must be >= 0 or +infinity, got " + gradFactor);
        }
        if (method == Method.GBLM && gradFactor == 0f) {
            method = Method.WANDA; // only the activation term is left
        } else if (method == Method.GBLM && Float.isInfinite(gradFactor)) {
            method = Method.GRADIENT; // only the gradient term is left
        }
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
                boolean mean = normalization == Normalization.MEAN;
                float n = mean ? sampleCount(stats) : 1f;
                boolean scaled = gradFactor != 1f;
                for (int r = 0; r < rows; r++) {
                    int o = r * in;
                    for (int j = 0; j < in; j++) {
                        float a = Math.abs(weights[o + j]);
                        float gs = g[go + o + j];
                        if (mean) {
                            gs = gs / n;
                        }
                        float gi = l2 ? (float) Math.sqrt(gs) : gs;
                        if (scaled) {
                            gi = gradFactor * gi;
                        }
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
        float n = sampleCount(stats);
        float[] a = stats.actSq();
        float[] col = new float[in];
        for (int j = 0; j < in; j++) {
            col[j] = (float) Math.sqrt(a[j] / n);
        }
        return col;
    }

    /** {@code N} in float32, as the activation term divides by it. */
    private static float sampleCount(ModuleStats stats) {
        if (stats.sampleCount() <= 0) {
            throw new GblmException("no calibration samples in the statistics of " + stats.describe());
        }
        return (float) stats.sampleCount();
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
