package dev.gblm.engine;

import dev.gblm.model.LinearKind;
import ai.djl.ndarray.NDArray;

/** Sees dL/dW [out, in] of every linear module after backward; {@code g} is only valid during the call. */
@FunctionalInterface
public interface GradientObserver {
    void onGradient(int layer, LinearKind kind, NDArray g);
}
