package dev.gblm.prune;

import dev.gblm.stats.ModuleStats;

/**
 * THE entry point from (weights, statistics, settings) to a mask: the batch pruner and the streaming finalizer's
 * block tasks both call {@link #mask}, so a method's scoring and selection exist once.
 */
public final class Pruner {
    private Pruner() {}

    /**
     * The mask of rows {@code [rowStart, rowEnd)} of a module ({@code weights} holds just those rows).
     * Score methods with per-row or N:M patterns work on any row block. Two cases need the whole matrix:
     * unstructured magnitude (one threshold per matrix: pass it as {@code magnitudeThreshold} for a row block, see
     * {@link MagnitudeThreshold}; null computes it from {@code weights}, which must then be the whole matrix) and
     * SparseGPT (use {@link #pruneInPlace}, it also updates the weights).
     *
     * @param stats              the block's summed statistics; may be null for magnitude
     * @param magnitudeThreshold unstructured magnitude only: the whole matrix's threshold, or null
     */
    public static Mask mask(PruneSettings cfg, float[] weights, int rowStart, int rowEnd, int in, ModuleStats stats,
            Float magnitudeThreshold) {
        return mask(cfg, Float.NaN, weights, rowStart, rowEnd, in, stats, magnitudeThreshold);
    }

    /**
     * As {@link #mask(PruneSettings, float[], int, int, int, ModuleStats, Float)} for statistics collected at
     * gradient scale {@code gradScale} (needed when {@code cfg} has an explicit alpha; NaN = unknown).
     */
    public static Mask mask(PruneSettings cfg, float gradScale, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats, Float magnitudeThreshold) {
        Method m = cfg.method();
        int rows = rowEnd - rowStart;
        if (m == Method.SPARSEGPT) {
            throw new IllegalArgumentException("SparseGPT updates the weights: use Pruner.pruneInPlace");
        }
        if (m == Method.MAGNITUDE && cfg.pattern().isUnstructured()) {
            return magnitudeThreshold != null ? MagnitudeThreshold.apply(weights, rows, in, magnitudeThreshold)
                    : MaskSelector.magnitudeThreshold(weights, rows, in, cfg.pattern().sparsity());
        }
        float[] scores = Scores.compute(cfg, m == Method.GBLM ? cfg.gradFactor(gradScale) : 1f, weights, rowStart,
                rowEnd, in, stats);
        return MaskSelector.select(scores, rows, in, cfg.pattern(), cfg.tailRule());
    }

    /**
     * Prunes the whole matrix {@code [out, in]} in place (pruned entries set to exactly zero; SparseGPT also
     * reconstructs the kept ones) and returns the mask.
     */
    public static Mask pruneInPlace(PruneSettings cfg, float[] weights, int out, int in, ModuleStats stats) {
        return pruneInPlace(cfg, Float.NaN, weights, out, in, stats);
    }

    /** As {@link #pruneInPlace(PruneSettings, float[], int, int, ModuleStats)} at gradient scale {@code gradScale}. */
    public static Mask pruneInPlace(PruneSettings cfg, float gradScale, float[] weights, int out, int in,
            ModuleStats stats) {
        if (cfg.method() == Method.SPARSEGPT) {
            return SparseGpt.prune(weights, out, in, stats, cfg.pattern(), cfg.tailRule());
        }
        Mask mask = mask(cfg, gradScale, weights, 0, out, in, stats, null);
        mask.applyTo(weights);
        return mask;
    }
}
