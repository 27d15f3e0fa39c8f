/**
 * Kafka topics as code: {@link TopicCatalog} holds every {@link TopicSpec} of a {@code topics/} folder (or of the
 * copy packaged in the jar), a name ending in {@code .*} being a template such as {@code calib.*} instantiated per
 * stream with the registry's calibration naming ({@code dev.gblm.stream.Topics}); {@link TopicAdmin} creates missing
 * topics and checks existing ones, reporting each as a {@link TopicReport} and never altering a live topic, with
 * {@link TopicComparator} as its pure comparison of a definition with what the cluster reports; and
 * {@link StrimziRenderer} renders the definitions as Strimzi {@code KafkaTopic} resources. May depend on
 * {@code dev.gblm}, {@code dev.gblm.ops} and {@code dev.gblm.stream}.
 */
package dev.gblm.stream.topics;
