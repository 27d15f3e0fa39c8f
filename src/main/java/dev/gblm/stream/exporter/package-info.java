/**
 * The exporter service: {@link Exporter} reads {@code gblm.epochs} and {@code gblm.masks}, assembles each epoch's
 * mask blocks (the pure {@code EpochAssembly}, which accepts only blocks of the declaring finalizer that fit the
 * epoch's layout), writes {@code <out>/<job>/epoch-<n>/} in the batch pruner's format through
 * {@code dev.gblm.prune.batch.PrunedModelWriter} (fsynced before the rename, ending with a completion marker that a
 * replay verifies), then emits a {@code dev.gblm.stream.ModelReady} event, the dead letters of refused records and
 * its offsets in one Kafka transaction. {@link EpochExports} holds the exporter's state and file work without Kafka
 * (validation, the path check of {@link EpochExports#epochDir}, retries and the stuck state that health reports),
 * and {@link ExporterSettings} configures it. For jobs with hold-out, {@code HeldOutEvaluator} measures each epoch's
 * pruned and dense perplexity on the job's held-out records (read by {@code KafkaHeldOutSource}, decoded by the
 * worker's {@code SampleDecoder}) and the figures go into {@code report.json} with the export; for {@code alpha=auto}
 * jobs it evaluates every grid point's masks and the epoch exports the one with the lowest held-out perplexity (the
 * batch search's rule, {@code dev.gblm.prune.batch.AlphaSearch#choose}). May depend on
 * {@code dev.gblm}, {@code dev.gblm.model}, {@code dev.gblm.stats}, {@code dev.gblm.prune},
 * {@code dev.gblm.prune.batch}, {@code dev.gblm.engine}, {@code dev.gblm.eval}, {@code dev.gblm.tokenizer},
 * {@code dev.gblm.ops}, {@code dev.gblm.stream} and {@code dev.gblm.stream.worker}.
 */
package dev.gblm.stream.exporter;
