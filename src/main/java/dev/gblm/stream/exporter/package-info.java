/**
 * The exporter service: {@link Exporter} reads {@code gblm.epochs} and {@code gblm.masks}, assembles each epoch's
 * mask blocks (the pure {@code EpochAssembly}), writes {@code <out>/<job>/epoch-<n>/} in the batch pruner's format
 * through {@code dev.gblm.prune.batch.PrunedModelWriter}, then emits a {@code dev.gblm.stream.ModelReady} event and
 * commits its offsets in one Kafka transaction. {@link EpochExports} holds the exporter's state and file work
 * without Kafka, and {@link ExporterSettings} configures it. May depend on {@code dev.gblm}, {@code dev.gblm.model},
 * {@code dev.gblm.stats}, {@code dev.gblm.prune}, {@code dev.gblm.prune.batch}, {@code dev.gblm.ops} and
 * {@code dev.gblm.stream}.
 */
package dev.gblm.stream.exporter;
