/**
 * Batch pruning of a model in memory on the engine: {@link BatchPruner} collects gradient and activation (or, for
 * SparseGPT, Hessian) statistics with the dense {@code dev.gblm.engine.LlamaModel}, one-shot or layer by layer
 * ({@link PruneMode}), computes every module's mask through {@code dev.gblm.prune.Pruner} and applies it, as set by
 * {@link BatchPruneSettings} and reported to a {@link PruneProgress}. {@link CalibrationSet} builds the calibration
 * samples from a text or JSON Lines file with a tokenizer; {@link PrunedModelWriter} atomically writes a pruned
 * model's directory (Hugging Face checkpoint, tokenizer files, {@link MaskFile} {@code masks.bin} and
 * {@code report.json}, whose batch part {@link PruneReport} builds), also for the streaming exporter. May depend on
 * {@code dev.gblm}, {@code dev.gblm.model}, {@code dev.gblm.stats}, {@code dev.gblm.prune}, {@code dev.gblm.engine},
 * {@code dev.gblm.eval} and {@code dev.gblm.tokenizer}.
 */
package dev.gblm.prune.batch;
