/**
 * Publishing calibration documents: {@link DocumentReader} splits an input (blank-line separated text or JSON
 * Lines) into documents in bounded memory, reporting every unusable piece (over-long ones included), and
 * {@link Ingestor} sends them as {@code dev.gblm.stream.SampleRecord}s to {@code calib.<stream>} with an idempotent
 * producer, counting only what the broker acknowledged in an {@link IngestSummary}. Given the keys already in the
 * topic ({@link TopicKeys}), an ingest publishes only documents the topic does not hold yet, so re-running it adds
 * nothing. May depend on {@code dev.gblm}, {@code dev.gblm.ops} and {@code dev.gblm.stream}.
 */
package dev.gblm.stream.ingest;
