package dev.gblm.stream;

import java.util.List;

/**
 * The event on {@code gblm.models} (key = job id, JSON) that the exporter commits, with its consumed offsets, once an
 * epoch's pruned model is durable on disk.
 *
 * @param path                absolute path of the epoch's output directory
 * @param sparsity            achieved overall sparsity of the pruned linear weights
 * @param drift               fraction of mask bits changed since the previous epoch; null for the first
 * @param lastSampleTimestamp start of the end-to-end latency (ms)
 * @param exportSeconds       time to write and fsync the output
 * @param written             false when the directory already existed (a replay) and was not rewritten
 */
public record ModelReady(String job, int epoch, String path, long samples, long tokens, double sparsity,
        List<String> streams, int slices, String profile, Double drift, long lastSampleTimestamp, long declaredAt,
        long exportedAt, double exportSeconds, boolean written) {}
