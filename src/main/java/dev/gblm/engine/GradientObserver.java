package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import dev.gblm.model.LinearKind;

/** Sees dL/dW [out, in] of every linear module after backward; {@code g} is only valid during the call. */
@FunctionalInterface
public interface GradientObserver {
    void onGradient(int layer, LinearKind kind, NDArray g);
}
