package dev.gblm.prune.batch;

import dev.gblm.engine.LlamaModel;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import java.util.Map;

/**
 * The dense linear weights of a loaded model, kept in memory so several pruning runs can start from them without
 * re-reading the checkpoint.
 */
public final class DenseCopy {
    private final float[][][] weights;

    private DenseCopy(float[][][] weights) {
        this.weights = weights;
    }

    /** Copies every linear weight of {@code model} as it is now. */
    public static DenseCopy of(LlamaModel model) {
        int layers = model.config().numLayers();
        float[][][] d = new float[layers][LinearKind.values().length][];
        for (int l = 0; l < layers; l++) {
            for (LinearKind k : LinearKind.values()) {
                d[l][k.ordinal()] = model.weight(l, k);
            }
        }
        return new DenseCopy(d);
    }

    /** Puts the kept weights back. */
    public void restore(LlamaModel model) {
        for (int l = 0; l < weights.length; l++) {
            for (LinearKind k : LinearKind.values()) {
                // setWeight copies the array into a fresh tensor, so the kept copy stays untouched
                model.setWeight(l, k, weights[l][k.ordinal()]);
            }
        }
    }

    /** Puts the kept weights back with {@code masks} applied (the pruned model of a method without weight updates). */
    public void restoreMasked(LlamaModel model, Map<ModuleKey, Mask> masks) {
        restore(model);
        for (Map.Entry<ModuleKey, Mask> e : masks.entrySet()) {
            ModuleKey k = e.getKey();
            float[] w = weights[k.layer()][k.kind().ordinal()].clone();
            e.getValue().applyTo(w);
            model.setWeight(k.layer(), k.kind(), w);
        }
    }
}
