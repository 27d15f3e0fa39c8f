/**
 * Kafka and operations infrastructure shared by the streaming services: {@link dev.gblm.ops.KafkaSettings} is where
 * every client's properties start (bootstrap servers plus shared security and timeout settings),
 * {@link dev.gblm.ops.Service} the one lifecycle (start, {@link dev.gblm.ops.Health health}, close) of the worker,
 * finalizer, exporter and broker, {@link dev.gblm.ops.EmbeddedKafka} a real single-node KRaft broker run as a child
 * JVM ({@link dev.gblm.ops.EmbeddedBrokerMain}) that can run secured (SASL, TLS with run-time certificates from
 * {@link dev.gblm.ops.TlsMaterial}, client certificates), {@link dev.gblm.ops.KafkaFailures} one-line reasons for
 * client failures, {@link dev.gblm.ops.GblmMetrics} a process's Micrometer/Prometheus
 * registry and health checks, served over HTTP by {@link dev.gblm.ops.MetricsServer}, and
 * {@link dev.gblm.ops.PollingThreads} stops a thread blocked in a consumer poll. Nothing here knows gblm's topics
 * (they are in {@code dev.gblm.stream} and {@code dev.gblm.stream.topics}). May depend only on {@code dev.gblm}.
 */
package dev.gblm.ops;
