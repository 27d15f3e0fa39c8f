package dev.gblm.prune.batch;

/** Progress of a {@link BatchPruner} run; every method has a no-op default. Called on the pruning thread. */
public interface PruneProgress {
    PruneProgress NONE = new PruneProgress() {};

    /** A phase begins ({@code gradients}, {@code statistics}, {@code embed}, {@code layers}, ...). */
    default void phase(String name) {}

    /** {@code done} of {@code total} calibration samples processed in the current phase. */
    default void sample(String phase, int done, int total) {}

    /**
     * {@code done} of {@code total} decoder layers processed in the current phase (a layer-major pass over all samples
     * at once, where per-sample progress would say nothing until the end).
     */
    default void layers(String phase, int done, int total) {}

    /** Decoder layer {@code layer} (0-based) has been pruned; {@code layers} in all. */
    default void layerPruned(int layer, int layers) {}
}
