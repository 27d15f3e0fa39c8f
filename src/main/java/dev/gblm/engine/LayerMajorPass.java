package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.gblm.model.LinearKind;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.function.UnaryOperator;

/**
 * The same forward+backward as {@link LlamaModel#forwardBackward}, for one sample, layer by layer: the same
 * statistics in memory bounded by one decoder layer's autograd graph instead of the whole network's.
 *
 * <ol>
 *   <li>forward bottom-up without autograd, keeping only the hidden state entering each layer ([T, hidden]
 *       each); {@code acts} observes every module's input on the way, as in the whole-model pass;
 *   <li>final norm, lm_head and mean token loss with autograd on the top hidden state only: dL/dh_L;
 *   <li>top-down, for each layer {@code l}: recompute its forward from its saved input with autograd (the
 *       input and fresh copies of the seven weights require gradients), backprop dL/dh_{l+1} into it
 *       (PyTorch's {@code backward(output, gradient)}, no constant built in Java), hand each dL/dW to
 *       {@code grads}, keep dL/dh_l for layer {@code l-1} and free everything else of layer {@code l}.
 * </ol>
 *
 * <p>Why weight copies: PyTorch keeps a leaf's {@code .grad} allocated once it exists (DJL's zeroGrad only zeroes
 * it), so differentiating the model's own weights would leave one gradient buffer per weight alive, the size of
 * the model. A copy's gradient dies with the copy at the end of its layer. The copy costs one memcpy of a layer's
 * weights per sample, negligible next to the layer's matmuls; the recomputed forward costs one more forward per
 * sample (about a third more work than the whole-model pass).
 *
 * <p>Every op of a layer starts from the layer's input, which is attached to a per-layer scope while the layer
 * runs, so all intermediates die with that scope ({@link LlamaModel}'s memory discipline).
 */
public final class LayerMajorPass {
    private LayerMajorPass() {}

    /**
     * Forward+backward of one sample; {@code acts} sees each module's input during the forward, {@code grads}
     * each dL/dW (only valid during the call) of the mean token loss; both may be null.
     */
    public static LossResult forwardBackward(LlamaModel model, int[] tokens, ActivationObserver acts,
            GradientObserver grads) {
        model.requireTokens(tokens, 2);
        // the model's differentiations are serialised (see LlamaModel); grad mode is per thread in PyTorch
        synchronized (LlamaModel.GRADIENT_LOCK) {
            boolean prev = JniUtils.isGradMode();
            try (NDManager call = model.newScope()) {
                return run(model, tokens, acts, grads, call);
            } finally {
                JniUtils.setGradMode(prev);
            }
        }
    }

    private static LossResult run(LlamaModel model, int[] tokens, ActivationObserver acts, GradientObserver grads,
            NDManager call) {
        int layers = model.config().numLayers();
        NDArray[] boundary = new NDArray[layers + 1];
        JniUtils.setGradMode(false);
        boundary[0] = model.embed(tokens, call);
        NDArray[] pos = model.positions(call, tokens.length);
        for (int l = 0; l < layers; l++) {
            int layer = l;
            boundary[l + 1] = inScope(call, boundary[l], x -> model.layer(layer, x, acts, pos));
        }

        JniUtils.setGradMode(true);
        NDArray gradOut;
        LossResult result;
        try (NDManager scope = call.newSubManager()) {
            NDArray top = boundary[layers];
            top.tempAttach(scope);
            top.setRequiresGradient(true);
            NDArray nll = model.tokenNll(top, tokens);
            NDArray mean = nll.mean();
            result = new LossResult(nll.sum().getFloat(), tokens.length - 1);
            backward(mean, scope.ones(mean.getShape()));
            gradOut = top.getGradient();
            gradOut.attach(call);
        }
        boundary[layers].close();

        for (int l = layers - 1; l >= 0; l--) {
            NDArray gradIn = null;
            try (NDManager scope = call.newSubManager()) {
                NDArray x = boundary[l];
                x.tempAttach(scope);
                NDArray[] w = trainable(model, model.layerWeights(l, scope), scope);
                gradIn = backwardLayer(model, l, x, w, pos, gradOut, grads, scope, call);
            }
            gradOut.close();
            gradOut = gradIn;
            boundary[l].close();
        }
        return result;
    }

    /**
     * Layer {@code l} recomputed from its saved input {@code x} with weights {@code w} and differentiated against the
     * incoming {@code gradOut}: the weight gradients go to {@code grads} (in {@code scope}), and the gradient of the
     * layer's input is returned in {@code home} (null for layer 0, whose input is the embedding: no statistics).
     */
    private static NDArray backwardLayer(LlamaModel model, int l, NDArray x, NDArray[] w, NDArray[] pos, NDArray gradOut,
            GradientObserver grads, NDManager scope, NDManager home) {
        x.setRequiresGradient(l > 0);
        NDArray out = model.layer(l, x, null, pos, w);
        backward(out, gradOut);
        if (grads != null) {
            for (LinearKind k : LinearKind.values()) {
                NDArray g = w[k.ordinal()].getGradient();
                g.attach(scope);
                grads.onGradient(l, k, g);
            }
        }
        if (l == 0) {
            return null;
        }
        NDArray gradIn = x.getGradient();
        gradIn.attach(home);
        return gradIn;
    }

    /** {@code f(in)} with every intermediate in a scope closed here; the result joins {@code home}. */
    private static NDArray inScope(NDManager home, NDArray in, UnaryOperator<NDArray> f) {
        try (NDManager scope = home.newSubManager()) {
            in.tempAttach(scope);
            NDArray out = f.apply(in);
            out.attach(home);
            return out;
        }
    }

    /**
     * The weights to differentiate layer {@code l} with, in {@code scope}: copies of an eager model's (see the class
     * comment), or a lazy model's freshly widened tensors themselves (already private to the scope).
     */
    private static NDArray[] trainable(LlamaModel model, NDArray[] weights, NDManager scope) {
        if (!model.isLazy()) {
            return trainableCopies(weights, scope);
        }
        for (NDArray w : weights) {
            w.setRequiresGradient(true);
        }
        return weights;
    }

    /**
     * Forward+backward of all {@code samples} at once, layer-major over the samples, so that the statistics of one
     * layer are complete before the next is started: bottom-up, each layer runs for every sample (its weights widened
     * once for all samples when lazy) keeping every sample's input to every layer ({@code (L+1)·samples·T·hidden}
     * floats); then every sample's head loss gives dL/dh_L; then top-down, layer {@code l} is recomputed and
     * differentiated for each sample in order ({@code grads} sees sample 0's dL/dW first), and
     * {@code layerDone.accept(l)} runs once every sample's dL/dW of layer {@code l} was handed out: a caller may then
     * consume and free that layer's statistics and even edit its weights (no later step reads them).
     *
     * <p>Each observer (layer, module) receives exactly the values, in exactly the order, of calling
     * {@link #forwardBackward} once per sample: the same statistics, bit for bit.
     *
     * <p>When the boundary activations would take more than {@code spill.boundaryBytes()}, each is written to a file
     * of a {@code gblm-spill-*} directory under {@code spill.dir()} as it is produced and read back when its layer
     * runs (the same float32 values: the same statistics), so the engine holds one sample's boundary at a time.
     * The per-sample gradients dL/dh flowing down between layers ({@code samples·T·hidden} floats) are spilled the
     * same way when they alone exceed the threshold. The files are deleted as they are consumed and the directories
     * when the pass ends, also when it fails.
     *
     * @return each sample's loss
     */
    public static LossResult[] forwardBackwardAll(LlamaModel model, List<int[]> samples, ActivationObserver acts,
            GradientObserver grads, IntConsumer layerDone, SpillSettings spill) {
        long tokens = 0;
        for (int[] t : samples) {
            model.requireTokens(t, 2);
            tokens += t.length;
        }
        int layers = model.config().numLayers();
        long perLayer = tokens * model.config().hiddenSize() * Float.BYTES;
        synchronized (LlamaModel.GRADIENT_LOCK) {
            boolean prev = JniUtils.isGradMode();
            try (NDManager call = model.newScope();
                    BoundaryStore boundary = BoundaryStore.open(samples.size(), layers, perLayer * (layers + 1), spill,
                            "the layer-boundary activations of the calibration samples");
                    BoundaryStore upstream = BoundaryStore.open(samples.size(), layers, perLayer, spill,
                            "the per-sample gradients dL/dh of the calibration samples")) {
                return runAll(model, samples, acts, grads, layerDone, call, boundary, upstream);
            } finally {
                JniUtils.setGradMode(prev);
            }
        }
    }

    private static LossResult[] runAll(LlamaModel model, List<int[]> samples, ActivationObserver acts,
            GradientObserver grads, IntConsumer layerDone, NDManager call, BoundaryStore boundary,
            BoundaryStore upstream) {
        int layers = model.config().numLayers();
        int n = samples.size();
        NDArray[][] pos = new NDArray[n][];
        JniUtils.setGradMode(false);
        for (int s = 0; s < n; s++) {
            try (NDManager scope = call.newSubManager()) {
                boundary.put(s, 0, model.embed(samples.get(s), scope), call);
            }
            pos[s] = model.positions(call, samples.get(s).length);
        }
        for (int l = 0; l < layers; l++) {
            int layer = l;
            try (NDManager weights = call.newSubManager()) {
                NDArray[] w = model.layerWeights(l, weights);
                for (int s = 0; s < n; s++) {
                    try (NDManager scope = call.newSubManager()) {
                        NDArray x = boundary.get(s, layer, scope);
                        boundary.put(s, layer + 1, model.layer(layer, x, acts, pos[s], w), call);
                    }
                }
            }
        }

        JniUtils.setGradMode(true);
        LossResult[] results = new LossResult[n];
        // upstream (s, l): dL/dh_l of sample s, the gradient flowing into layer l-1's output
        for (int s = 0; s < n; s++) {
            int[] tokens = samples.get(s);
            try (NDManager scope = call.newSubManager()) {
                NDArray top = boundary.get(s, layers, scope);
                top.setRequiresGradient(true);
                NDArray nll = model.tokenNll(top, tokens);
                NDArray mean = nll.mean();
                results[s] = new LossResult(nll.sum().getFloat(), tokens.length - 1);
                backward(mean, scope.ones(mean.getShape()));
                upstream.put(s, layers, top.getGradient(), call);
            }
            boundary.release(s, layers);
        }

        for (int l = layers - 1; l >= 0; l--) {
            try (NDManager weights = call.newSubManager()) {
                NDArray[] stored = model.layerWeights(l, weights);
                // a lazy model's widened weights are private to this layer: differentiate them directly (one
                // layer's float32 weights fewer), zeroing their gradients between samples; 0 + g == g, so the
                // statistics are unchanged
                boolean direct = model.isLazy();
                if (direct) {
                    for (NDArray w : stored) {
                        w.setRequiresGradient(true);
                    }
                }
                for (int s = 0; s < n; s++) {
                    try (NDManager scope = call.newSubManager()) {
                        NDArray x = boundary.get(s, l, scope);
                        NDArray[] w = direct ? stored : trainableCopies(stored, scope);
                        if (direct) {
                            for (NDArray a : w) {
                                JniUtils.zeroGrad((PtNDArray) a);
                            }
                        }
                        NDArray gradIn = backwardLayer(model, l, x, w, pos[s], upstream.get(s, l + 1, scope), grads,
                                scope, scope);
                        if (gradIn != null) {
                            upstream.put(s, l, gradIn, call);
                        }
                    }
                    upstream.release(s, l + 1);
                    boundary.release(s, l);
                }
            }
            if (layerDone != null) {
                layerDone.accept(l);
            }
        }
        return results;
    }

    /** Copies of a layer's weights in {@code scope}, leaves that require gradients. */
    private static NDArray[] trainableCopies(NDArray[] weights, NDManager scope) {
        NDArray[] copies = new NDArray[weights.length];
        LlamaModel.noGrad(() -> {
            for (int i = 0; i < weights.length; i++) {
                NDArray c = weights[i].duplicate();
                c.attach(scope);
                c.setRequiresGradient(true);
                copies[i] = c;
            }
            return null;
        });
        return copies;
    }

    /** Accumulates d(sum(target * gradient))/d(leaf) into every leaf that requires gradients; frees the graph. */
    private static void backward(NDArray target, NDArray gradient) {
        JniUtils.backward((PtNDArray) target, (PtNDArray) gradient, false, false);
    }
}
