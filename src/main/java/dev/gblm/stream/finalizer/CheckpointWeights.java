package dev.gblm.stream.finalizer;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import dev.gblm.model.TensorData;

/**
 * The finalizer's view of a checkpoint's dense weights. Rows are widened from the checkpoint's bytes
 * (memory-mapped for safetensors) on demand, so the finalizer never holds the whole model on the heap;
 * thread-safe because {@link TensorData#toFloats(long, int)} only reads through private buffer views.
 */
public final class CheckpointWeights implements DenseWeights {
    private final Checkpoint checkpoint;

    public CheckpointWeights(Checkpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    @Override
    public float[] rows(int layer, LinearKind k, int rowStart, int rowEnd) {
        TensorData t = checkpoint.tensor(k.weightName(layer));
        int in = (int) t.shape()[1];
        return t.toFloats((long) rowStart * in, (rowEnd - rowStart) * in);
    }

    @Override
    public int[] shape(int layer, LinearKind k) {
        long[] s = Checkpoints.linearShape(checkpoint.config(), k);
        return new int[] {(int) s[0], (int) s[1]};
    }

    @Override
    public int numLayers() {
        return checkpoint.config().numLayers();
    }
}
