/**
 * The measured quality report behind {@code gblm report quality} ({@link ReportCommand}): {@link QualityGrid} plans
 * the runs (every {@link MethodVariant} × sparsity pattern × prune mode, plus an unstructured sparsity sweep as
 * {@link RunSpec}s), {@link QualityRunner} executes them on one loaded model with the batch pruner and measures
 * perplexity ({@link RunResult}), and {@link QualityReport} renders {@code docs/quality.md} from the numbers, with
 * {@link Ranking} and {@link TailNote} writing its computed sentences, {@link MarkdownTable} its tables,
 * {@link SweepPlot} the perplexity-vs-sparsity PNG and {@link MachineInfo} the machine it ran on. May depend on
 * {@code dev.gblm}, {@code dev.gblm.model}, {@code dev.gblm.prune}, {@code dev.gblm.prune.batch},
 * {@code dev.gblm.engine}, {@code dev.gblm.eval} and {@code dev.gblm.tokenizer}.
 */
package dev.gblm.report;
