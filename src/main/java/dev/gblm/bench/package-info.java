/**
 * Benchmark commands under {@code gblm bench} ({@link BenchCommand}): engine matmul ceiling versus forward +
 * backward throughput, scoring and mask selection ({@link MasksBench}), the finalizer's aggregation path
 * ({@link FinalizerBenchCommand}, {@link FinalizerBench}), worker scale-out, batch prune time per method, and the
 * streaming pipeline's overhead against a batch prune; each reports ratios measured in one run, on generated random
 * models and documents from {@link RandomCheckpoints}; {@link RandomCheckpointCommand} writes such a model of any
 * shape to disk, streamed, for size tests, and {@link CheckpointPruneBench} prunes such a checkpoint measuring time,
 * GFLOP/s and peak memory. Benchmarks are not tests. May depend on every
 * {@code dev.gblm} package except {@code dev.gblm.cli}.
 */
package dev.gblm.bench;
