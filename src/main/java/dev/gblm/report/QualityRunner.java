package dev.gblm.report;

import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.eval.Perplexity;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.DenseCopy;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Executes a {@link QualityGrid} on one loaded model: the dense weights are kept in memory and put back
 * before each run, so nothing is re-read from disk and no checkpoint is written.
 */
public final class QualityRunner {
    private final LlamaModel model;
    private final List<int[]> calibration;
    private final List<int[]> evalSet;
    private final TailRule tailRule;
    private final float gradScale;
    private final PrintWriter progress;
    private final DenseCopy dense;

    public QualityRunner(LlamaModel model, List<int[]> calibration, List<int[]> evalSet, TailRule tailRule,
            float gradScale, PrintWriter progress) {
        this.model = model;
        this.calibration = calibration;
        this.evalSet = evalSet;
        this.tailRule = tailRule;
        this.gradScale = gradScale;
        this.progress = progress;
        dense = DenseCopy.of(model);
    }

    /** Perplexity of the dense model (weights restored first). */
    public RunResult dense() {
        restoreDense();
        long t0 = System.nanoTime();
        LossResult r = Perplexity.evaluate(model, evalSet, null);
        double eval = (System.nanoTime() - t0) / 1e9;
        progress.printf(Locale.ROOT, "dense: ppl %.4f (%d tokens, eval %.1f s)%n", r.perplexity(), r.count(), eval);
        progress.flush();
        return new RunResult(null, r.perplexity(), r.meanNll(), r.count(), 0, 0, eval);
    }

    /** Runs every planned run in order; the model holds the last run's pruned weights afterwards. */
    public Map<RunSpec, RunResult> run(List<RunSpec> runs) {
        Map<RunSpec, RunResult> out = new LinkedHashMap<>();
        long start = System.nanoTime();
        for (int i = 0; i < runs.size(); i++) {
            RunSpec spec = runs.get(i);
            progress.printf(Locale.ROOT, "[%d/%d] %s ...", i + 1, runs.size(), spec.label());
            progress.flush();
            RunResult r = runOne(spec);
            out.put(spec, r);
            progress.printf(Locale.ROOT, " ppl %s, sparsity %.4f, prune %.1f s, eval %.1f s (%.0f s elapsed)%n",
                    Fmt.ppl(r.perplexity()), r.sparsity(), r.pruneSeconds(), r.evalSeconds(),
                    (System.nanoTime() - start) / 1e9);
            progress.flush();
        }
        return out;
    }

    RunResult runOne(RunSpec spec) {
        long t0 = System.nanoTime();
        restoreDense();
        BatchPruneSettings options = new BatchPruneSettings(spec.config(tailRule), spec.effectiveMode(), gradScale,
                false);
        List<int[]> samples = spec.variant().needsCalibration() ? calibration : List.of();
        BatchPruner.Result result = BatchPruner.prune(model, samples, options, null);
        double prune = (System.nanoTime() - t0) / 1e9;
        long t1 = System.nanoTime();
        LossResult r = Perplexity.evaluate(model, evalSet, null);
        double eval = (System.nanoTime() - t1) / 1e9;
        return new RunResult(spec, r.perplexity(), r.meanNll(), r.count(), result.overallSparsity(), prune, eval);
    }

    /** Puts the dense weights back. */
    void restoreDense() {
        dense.restore(model);
    }
}
