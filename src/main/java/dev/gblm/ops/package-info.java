/**
 * Kafka and operations infrastructure shared by the streaming services: {@link KafkaSettings} is where every
 * client's properties start (bootstrap servers plus shared security and timeout settings), {@link Service} the one
 * lifecycle (start, {@link Health health}, close) of the worker, finalizer, exporter and broker,
 * {@link EmbeddedKafka} a real single-node KRaft broker run as a child JVM ({@link EmbeddedBrokerMain}),
 * {@link TopicCatalog} and {@link TopicSpec} the topic definitions of {@code topics/}, applied and checked by
 * {@link TopicAdmin} ({@link TopicReport}, {@link TopicComparator}) or rendered as Strimzi resources by
 * {@link StrimziRenderer}, {@link GblmMetrics} a process's Micrometer/Prometheus registry and health checks, served
 * over HTTP by {@link MetricsServer}, and {@link PollingThreads} stops a thread blocked in a consumer poll. May
 * depend only on {@code dev.gblm}.
 */
package dev.gblm.ops;
