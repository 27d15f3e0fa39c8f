/**
 * The streaming worker service: {@link Worker} consumes calibration samples from every {@code calib.<stream>} topic,
 * runs forward + backward per sample on the engine, and publishes the accumulated statistics slice by slice, each
 * slice in one Kafka transaction with its slice record, dead letters and consumed offsets; it is configured by
 * {@link WorkerSettings} and measured by its own meters. Its logic is kept testable without Kafka: {@link OpenSlice}
 * (the slice's offset and sample accounting, feeding a {@link SampleSink}) and the pure {@link SampleDecoder} (raw
 * record to token ids or a rejection) and {@link StatsRecords} (statistics to row-block records of
 * {@code gblm.stats}); {@code DeadLetters} bounds what a reject publishes and {@code SliceTransaction} holds the
 * transaction's error handling (commit timeouts retried, abortable errors aborted, fencing fatal), testable on a
 * mock producer. {@link WorkerIdLock} gives the CLI a default worker id unique on the host and stable across
 * restarts. May depend on {@code dev.gblm}, {@code dev.gblm.model}, {@code dev.gblm.stats}, {@code dev.gblm.engine},
 * {@code dev.gblm.tokenizer}, {@code dev.gblm.ops} and {@code dev.gblm.stream}.
 */
package dev.gblm.stream.worker;
