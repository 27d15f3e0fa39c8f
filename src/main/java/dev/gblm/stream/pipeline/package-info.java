/**
 * Everything in one process, {@code gblm run} as a library: {@link Pipeline} starts an embedded broker (or uses an
 * existing cluster), creates the topics from the catalog, and composes the worker(s), the finalizer and the exporter
 * as services sharing one metrics registry and HTTP endpoint, with shortcuts to ingest files and submit jobs and to
 * wait for exported epochs; {@link PipelineSettings} configures it. May depend on {@code dev.gblm},
 * {@code dev.gblm.model}, {@code dev.gblm.stats}, {@code dev.gblm.tokenizer}, {@code dev.gblm.ops},
 * {@code dev.gblm.stream}, {@code dev.gblm.stream.topics}, {@code dev.gblm.stream.ingest},
 * {@code dev.gblm.stream.worker}, {@code dev.gblm.stream.finalizer}, {@code dev.gblm.stream.exporter} and
 * {@code dev.gblm.stream.job}.
 */
package dev.gblm.stream.pipeline;
