/**
 * Pure pruning math: {@link Pruner#mask} is the one entry point from (weights, statistics, {@link PruneSettings})
 * to a {@link Mask}, shared by the batch pruner and the streaming finalizer. {@link Scores} computes the
 * higher-is-keep scores of magnitude, wanda, gradient and gblm ({@link Method}, with {@link GradNorm} l1 or l2) in
 * the reference's float32 order of operations; {@link MaskSelector} selects unstructured or N:M masks
 * ({@link SparsityPattern}, with {@link TailRule} for a row's trailing partial group) by radix selection plus a tie
 * pass; {@link MagnitudeThreshold} is magnitude's one-threshold-per-matrix rule applied per row block; and
 * {@link SparseGpt} is SparseGPT's pruning with weight reconstruction over a Cholesky-factored Hessian. Part of the
 * pure core: no I/O, no engine, no Kafka, no metrics; it may depend only on {@code dev.gblm} and
 * {@code dev.gblm.stats} (plus the pure {@code dev.gblm.model.LinearKind}).
 */
package dev.gblm.prune;
