/**
 * Publishing calibration documents: {@link DocumentReader} splits an input (blank-line separated text or JSON
 * Lines) into documents, reporting every unusable piece, and {@link Ingestor} sends them as
 * {@code dev.gblm.stream.SampleRecord}s to {@code calib.<stream>} with an idempotent producer, counting only what the
 * broker acknowledged in an {@link IngestSummary}. May depend on {@code dev.gblm}, {@code dev.gblm.ops} and
 * {@code dev.gblm.stream}.
 */
package dev.gblm.stream.ingest;
