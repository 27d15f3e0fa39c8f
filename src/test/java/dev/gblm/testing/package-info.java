/**
 * Shared test support, never shipped: an in-process CLI runner ({@link dev.gblm.testing.GblmCli}), the embedded-broker
 * JUnit extension, Kafka helpers for the streaming tests ({@link dev.gblm.testing.StreamTestSupport}), random
 * in-memory weights for the finalizer ({@link dev.gblm.testing.InMemoryWeights}), tiny fixtures and access to the
 * optional shared data ({@link dev.gblm.testing.TestData}, tests skip cleanly without it).
 */
package dev.gblm.testing;
