package dev.gblm.prune.batch;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.eval.Perplexity;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.stats.CalibrationStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Automatic alpha for gblm: prunes with every alpha of a grid, measures the perplexity of each pruned model on
 * held-out sequences (which must be disjoint from the calibration and from any later evaluation text) and keeps the
 * alpha with the lowest. One-shot: the statistics are collected once and every grid point re-masks from them.
 * Sequential: a layer's activation statistics depend on the earlier layers' masks, hence on alpha, so every grid
 * point is a whole pruning run.
 *
 * <p>Alpha is in raw-gradient units ({@link PruneSettings}); 0 is activation only (Wanda's masks) and
 * {@code +infinity} gradient only (the gradient method's masks).
 */
public final class AlphaSearch {
    /** 0 (activation only), 1 .. 10000, infinity (gradient only). */
    public static final List<Double> DEFAULT_GRID = PruneSettings.DEFAULT_ALPHA_GRID;

    private AlphaSearch() {}

    /**
     * One grid point's outcome.
     *
     * @param sparsity achieved fraction of pruned linear weights
     * @param seconds  pruning (or re-masking) plus the held-out evaluation
     */
    public record Point(double alpha, double heldOutPerplexity, double heldOutMeanNll, long heldOutTokens,
            double sparsity, double seconds) {
        public String label() {
            return AlphaSearch.label(alpha);
        }
    }

    /**
     * The search's outcome; the model holds the chosen alpha's pruned weights.
     *
     * @param statisticsOnce whether the statistics were collected once for all points (one-shot)
     * @param result         the chosen point's pruning result
     */
    public record Outcome(List<Point> points, Point chosen, boolean statisticsOnce, BatchPruner.Result result) {}

    /** Told before and after each grid point. */
    public interface Listener {
        Listener NONE = new Listener() {};

        default void started(int index, int total, double alpha) {}

        default void done(int index, int total, Point point) {}
    }

    /** {@code 0 (activation only)}, {@code 100}, {@code 0.5}, {@code inf (gradient only)}. */
    public static String label(double alpha) {
        if (alpha == 0) {
            return "0 (activation only)";
        }
        if (Double.isInfinite(alpha)) {
            return "inf (gradient only)";
        }
        return number(alpha);
    }

    /** The alpha as a plain number ({@code 100}, {@code 0.5}) or {@code inf}. */
    public static String number(double alpha) {
        return PruneSettings.alphaText(alpha);
    }

    /** Parses a grid such as {@code 0,1,10,100,inf}: distinct values {@code >= 0}, sorted ascending. */
    public static List<Double> parseGrid(List<String> values) {
        return PruneSettings.parseAlphaGrid(values);
    }

    /** A number {@code >= 0} or {@code inf}/{@code infinity}. */
    public static double parseAlpha(String v) {
        return PruneSettings.parseAlpha(v);
    }

    /**
     * Runs the search. {@code base} must be gblm; its alpha is ignored (each grid point sets its own), its
     * normalisation, norm, pattern, mode and gradient scale are kept.
     */
    public static Outcome search(LlamaModel model, List<int[]> calibration, List<int[]> heldOut, BatchPruneSettings base,
            List<Double> grid, PruneProgress progress, Listener listener) {
        if (base.config().method() != Method.GBLM) {
            throw new GblmException("automatic alpha needs method gblm, got " + base.config().method().cliName());
        }
        if (heldOut.isEmpty()) {
            throw new GblmException("automatic alpha needs held-out text, none given");
        }
        if (grid.isEmpty()) {
            throw new GblmException("the alpha grid is empty");
        }
        Listener l = listener == null ? Listener.NONE : listener;
        DenseCopy dense = DenseCopy.of(model);
        boolean once = base.mode() == PruneMode.ONE_SHOT;
        CalibrationStats stats = null;
        List<Point> points = new ArrayList<>();
        int best = -1;
        BatchPruner.Result bestResult = null;
        for (int i = 0; i < grid.size(); i++) {
            double alpha = grid.get(i);
            l.started(i, grid.size(), alpha);
            long t0 = System.nanoTime();
            dense.restore(model);
            PruneSettings cfg = base.config().withAlpha(alpha, base.config().normalization());
            BatchPruner.Result r;
            if (once && stats != null) {
                r = BatchPruner.pruneFromStats(model, stats, base.with(cfg, false), PruneProgress.NONE);
            } else {
                r = BatchPruner.prune(model, calibration, base.with(cfg, once), progress);
                if (once) {
                    stats = r.stats();
                    r = withoutStats(r);
                }
            }
            LossResult loss = Perplexity.evaluate(model, heldOut, null);
            Point p = new Point(alpha, loss.perplexity(), loss.meanNll(), loss.count(), r.overallSparsity(),
                    (System.nanoTime() - t0) / 1e9);
            points.add(p);
            if (choose(points) == i) {
                best = i;
                bestResult = r;
            }
            l.done(i, grid.size(), p);
        }
        if (best < 0) {
            throw new GblmException("no alpha of the grid gave a finite held-out perplexity");
        }
        // gblm only masks (no weight update), so the chosen masks on the dense weights are the chosen pruned model
        dense.restoreMasked(model, bestResult.masks());
        return new Outcome(List.copyOf(points), points.get(best), once, bestResult);
    }

    /**
     * The choice rule: the index of the point with the lowest held-out perplexity, the earliest of equal ones (grids
     * are ascending, so ties go to the smaller alpha); points without a finite perplexity never win; -1 when none has
     * one. Streaming {@code alpha=auto} jobs choose by the same rule.
     */
    public static int choose(List<Point> points) {
        int best = -1;
        for (int i = 0; i < points.size(); i++) {
            double p = points.get(i).heldOutPerplexity();
            if (Double.isFinite(p) && (best < 0 || p < points.get(best).heldOutPerplexity())) {
                best = i;
            }
        }
        return best;
    }

    /** The grid as a text table, the chosen row marked with {@code *}. */
    public static String table(Outcome o) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %-22s %18s %10s %9s%n", "alpha",
                "held-out ppl", "sparsity", "seconds"));
        for (Point p : o.points()) {
            sb.append(String.format(Locale.ROOT, "%s %-22s %18.4f %10.4f %9.1f%n", p == o.chosen() ? "*" : " ",
                    p.label(), p.heldOutPerplexity(), p.sparsity(), p.seconds()));
        }
        return sb.toString();
    }

    private static BatchPruner.Result withoutStats(BatchPruner.Result r) {
        return new BatchPruner.Result(r.masks(), r.samples(), r.tokens(), r.phaseSeconds(), r.weightsUpdated(), null);
    }
}
