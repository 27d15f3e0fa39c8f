/**
 * The wire contract of the streaming pipeline: the records that travel on Kafka topics and their encodings, with no
 * Kafka client code. {@link Topics} is the one registry of topic names, key and value types and record headers;
 * {@link SampleRecord} is a calibration document, {@link Profile} what statistics depend on (model fingerprint,
 * sequence length, gradient scale, statistic kinds, row-block layout), {@link SliceRecord} (with
 * {@link OffsetRange}) a worker's closed slice, {@link BlockKey} the key of a statistics row block,
 * {@link JobSpec} a pruning job, {@link EpochRecord} (with {@link ModuleLayout}) a declared epoch of a job's masks,
 * {@link BlockInstruction} and {@link BlockAck} the finalizer's internal planner/block-task messages,
 * {@link MaskBlock} a binary mask row block and {@link ModelReady} the exporter's event; {@link Json} is their
 * shared Jackson configuration, and {@link RecordFormatException} and {@link InvalidSampleException} reject bad
 * records. May depend on {@code dev.gblm}, {@code dev.gblm.model}, {@code dev.gblm.stats} and
 * {@code dev.gblm.prune}, and must not use {@code ai.djl} or {@code org.apache.kafka}, so that the pure service
 * classes can use it.
 */
package dev.gblm.stream;
