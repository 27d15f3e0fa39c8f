package dev.gblm.stream.finalizer;

import dev.gblm.model.LinearKind;
import dev.gblm.stream.ModuleLayout;
import dev.gblm.stream.Profile;
import java.util.List;

/**
 * The dense weights the finalizer scores against, as plain float32 row blocks. The finalizer needs no engine:
 * the lead backs this with the real checkpoint (memory-mapped safetensors or llama2.c), tests with random matrices.
 * Implementations must be thread-safe (several stream threads read concurrently).
 */
public interface DenseWeights {
    /** Rows {@code [rowStart, rowEnd)} of {@code W} ({@code [out, in]}) of module {@code k} of decoder layer {@code layer}, row-major, a fresh array. */
    float[] rows(int layer, LinearKind k, int rowStart, int rowEnd);

    /** {@code {out, in}} of the module's weight. */
    int[] shape(int layer, LinearKind k);

    int numLayers();

    /** The row-block layout of these weights under {@code profile} (what the profile's workers write). */
    default List<ModuleLayout> layout(Profile profile) {
        return ModuleLayout.of(numLayers(), this::shape, profile);
    }
}
