package dev.gblm.engine;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.LinearKind;
import dev.gblm.model.TensorData;

/**
 * Where a {@link LlamaModel} keeps the linear weights of its decoder layers.
 *
 * <ul>
 *   <li>{@link #EAGER}: widened once at load into PyTorch-owned float32 tensors (4 bytes per parameter for the
 *       model's life). Fastest when they fit: every call reuses them.
 *   <li>{@link #LAZY}: left in their stored dtype, memory-mapped; each layer is widened into float32 tensors when
 *       it runs and freed after, so engine memory holds one layer's weights (plus the head) instead of all of them.
 *       Costs one widening of the layer per call (per layer, per batch of samples in the layer-major passes).
 *   <li>{@link #AUTO}: {@link #LAZY} when the float32 layer weights would exceed {@link #LAZY_ABOVE_BYTES}.
 * </ul>
 *
 * The system property {@code gblm.weights} ({@code eager}, {@code lazy}, {@code auto}) overrides {@link #AUTO}, so
 * any command can be measured both ways.
 */
public enum WeightResidency {
    EAGER,
    LAZY,
    AUTO;

    /** Float32 layer weights above this size (2 GiB: about 540M linear parameters) are kept lazily by AUTO. */
    public static final long LAZY_ABOVE_BYTES = 2L << 30;

    /** The residency {@code this} means for {@code ckpt}: never AUTO. */
    public WeightResidency resolve(Checkpoint ckpt) {
        if (this != AUTO) {
            return this;
        }
        String forced = System.getProperty("gblm.weights", "auto");
        if (forced.equals("eager")) {
            return EAGER;
        }
        if (forced.equals("lazy")) {
            return LAZY;
        }
        if (!forced.equals("auto")) {
            throw new GblmException("gblm.weights must be eager, lazy or auto, got '" + forced + "'");
        }
        long params = 0;
        for (int l = 0; l < ckpt.config().numLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                TensorData t = ckpt.tensor(k.weightName(l));
                params += t.numel();
            }
        }
        return params * Float.BYTES > LAZY_ABOVE_BYTES ? LAZY : EAGER;
    }
}
