package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import dev.gblm.model.LinearKind;

/**
 * Sees the input of every linear module during a forward pass. {@code x} is [tokens, in], detached
 * from autograd, and only valid during the call (copy what you need). q/k/v share one input, as do
 * gate/up: the same array is passed once per module.
 */
@FunctionalInterface
public interface ActivationObserver {
    void onInput(int layer, LinearKind kind, NDArray x);
}
