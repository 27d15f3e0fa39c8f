package dev.gblm.report;

/**
 * What one run measured.
 *
 * @param perplexity TinyStories chunk perplexity of the pruned model
 * @param sparsity achieved fraction of pruned linear weights (all decoder layers)
 * @param pruneSeconds restoring the dense weights plus {@code BatchPruner} (statistics, masks, updates)
 * @param evalSeconds the perplexity evaluation
 */
public record RunResult(RunSpec spec, double perplexity, double meanNll, long tokens, double sparsity,
        double pruneSeconds, double evalSeconds) {}
