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
 * @param heldOutPerplexity   the pruned model's perplexity on the job's held-out samples ({@link HoldOut}); null when
 *                            the job holds out nothing (absent from the JSON) or nothing could be evaluated
 * @param denseHeldOutPerplexity the dense model's perplexity on the same samples
 * @param heldOutSamples      held-out samples evaluated (null with the perplexities)
 * @param alpha               an {@code alpha=auto} job: the alpha the exporter chose and exported ({@code 10},
 *                            {@code inf}); null (absent) for every other job
 * @param alphaGrid           an {@code alpha=auto} job: every grid point with its held-out perplexity (null when it
 *                            had none), in grid order; null (absent) for every other job
 */
public record ModelReady(String job, int epoch, String path, long samples, long tokens, double sparsity,
        List<String> streams, int slices, String profile, Double drift, long lastSampleTimestamp, long declaredAt,
        long exportedAt, double exportSeconds, boolean written, Double heldOutPerplexity, Double denseHeldOutPerplexity,
        Integer heldOutSamples, String alpha, List<AlphaPoint> alphaGrid) {

    /** One grid point of an {@code alpha=auto} epoch: the alpha ({@code 0}, {@code 10}, {@code inf}) and its figure. */
    public record AlphaPoint(String alpha, Double heldOutPerplexity) {}

    /** An event without automatic alpha. */
    public ModelReady(String job, int epoch, String path, long samples, long tokens, double sparsity,
            List<String> streams, int slices, String profile, Double drift, long lastSampleTimestamp, long declaredAt,
            long exportedAt, double exportSeconds, boolean written, Double heldOutPerplexity, Double denseHeldOutPerplexity,
            Integer heldOutSamples) {
        this(job, epoch, path, samples, tokens, sparsity, streams, slices, profile, drift, lastSampleTimestamp, declaredAt,
                exportedAt, exportSeconds, written, heldOutPerplexity, denseHeldOutPerplexity, heldOutSamples, null, null);
    }

    /** An event without held-out figures. */
    public ModelReady(String job, int epoch, String path, long samples, long tokens, double sparsity,
            List<String> streams, int slices, String profile, Double drift, long lastSampleTimestamp, long declaredAt,
            long exportedAt, double exportSeconds, boolean written) {
        this(job, epoch, path, samples, tokens, sparsity, streams, slices, profile, drift, lastSampleTimestamp, declaredAt,
                exportedAt, exportSeconds, written, null, null, null);
    }
}
