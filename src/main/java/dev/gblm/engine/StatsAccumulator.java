package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.gblm.model.LinearKind;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;

/**
 * Accumulates calibration statistics on the engine's device while the model runs, and hands them out
 * as {@link CalibrationStats} on demand.
 *
 * <p>Why NDArrays and not {@link ModuleStats#addGradient}: a sample's gradients and activations live on
 * the engine's device; copying every [out, in] gradient to the Java heap per sample would cost more than
 * the backward pass itself. The sums stay float32, as the reference accumulates them.
 *
 * <p>Only the layers in {@code [firstLayer, lastLayer]} are observed (sequential pruning collects one
 * layer at a time). Counts are not observed: call {@link #countSample} once per sample.
 */
public final class StatsAccumulator implements ActivationObserver, GradientObserver, AutoCloseable {
    private final StatKinds kinds;
    private final float gradScale;
    private final int numLayers;
    private final int firstLayer;
    private final int lastLayer;
    private final NDArray[][] gradL1;
    private final NDArray[][] gradL2Sq;
    private final NDArray[][] actSq;
    private final NDArray[][] hessian;
    private NDManager manager;
    private long samples;
    private long tokens;

    public StatsAccumulator(int numLayers, StatKinds kinds, float gradScale) {
        this(numLayers, 0, numLayers - 1, kinds, gradScale);
    }

    public StatsAccumulator(int numLayers, int firstLayer, int lastLayer, StatKinds kinds, float gradScale) {
        if (kinds.isEmpty()) {
            throw new IllegalArgumentException("no statistics requested");
        }
        this.kinds = kinds;
        this.gradScale = gradScale;
        this.numLayers = numLayers;
        this.firstLayer = firstLayer;
        this.lastLayer = lastLayer;
        int k = LinearKind.values().length;
        gradL1 = new NDArray[numLayers][k];
        gradL2Sq = new NDArray[numLayers][k];
        actSq = new NDArray[numLayers][k];
        hessian = new NDArray[numLayers][k];
    }

    public StatKinds kinds() {
        return kinds;
    }

    public boolean wantsGradients() {
        return kinds.contains(StatKind.GRAD);
    }

    public boolean wantsActivations() {
        return kinds.contains(StatKind.ACT) || kinds.contains(StatKind.HESSIAN);
    }

    @Override
    public void onInput(int layer, LinearKind kind, NDArray x) {
        if (!observed(layer) || !wantsActivations()) {
            return;
        }
        int k = kind.ordinal();
        if (kinds.contains(StatKind.ACT)) {
            NDArray colSq = x.square().sum(new int[] {0});
            actSq[layer][k] = accumulate(actSq[layer][k], colSq);
        }
        if (kinds.contains(StatKind.HESSIAN)) {
            NDArray xtx = x.transpose().matMul(x);
            hessian[layer][k] = accumulate(hessian[layer][k], xtx);
        }
    }

    @Override
    public void onGradient(int layer, LinearKind kind, NDArray g) {
        if (!observed(layer) || !wantsGradients()) {
            return;
        }
        int k = kind.ordinal();
        // temporaries closed at once, not with the caller's scope: a scope holding three weight-sized tensors per
        // module for a whole layer would be 3x the layer's weights (2.4 GB for a 7B layer)
        try (NDArray sg = g.mul(gradScale)) {
            try (NDArray abs = sg.abs()) {
                gradL1[layer][k] = accumulate(gradL1[layer][k], abs);
            }
            try (NDArray sq = sg.square()) {
                gradL2Sq[layer][k] = accumulate(gradL2Sq[layer][k], sq);
            }
        }
    }

    /** Counts one sample of {@code sampleTokens} tokens (all positions fed to the model). */
    public void countSample(int sampleTokens) {
        samples++;
        tokens += sampleTokens;
    }

    public long samples() {
        return samples;
    }

    public long tokens() {
        return tokens;
    }

    /**
     * The statistics accumulated so far (copied to the heap). Modules never observed get zero sums of
     * the given shapes, so a snapshot always covers every module of the observed layers.
     *
     * @param shapes {@code shapes[layer][kind] = {out, in}}
     */
    public CalibrationStats snapshot(int[][][] shapes) {
        CalibrationStats out = new CalibrationStats();
        for (int l = firstLayer; l <= lastLayer; l++) {
            for (LinearKind kind : LinearKind.values()) {
                int k = kind.ordinal();
                int rows = shapes[l][k][0];
                int in = shapes[l][k][1];
                ModuleStats s = new ModuleStats(l, kind, 0, rows, in, kinds,
                        kinds.contains(StatKind.GRAD) ? heap(gradL1[l][k], rows * in) : null,
                        kinds.contains(StatKind.GRAD) ? heap(gradL2Sq[l][k], rows * in) : null,
                        kinds.contains(StatKind.ACT) ? heap(actSq[l][k], in) : null,
                        kinds.contains(StatKind.HESSIAN) ? heap(hessian[l][k], in * in) : null,
                        samples, tokens);
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The statistics of one module so far (copied to the heap; zero sums when never observed), e.g. to prune it
     * before the next layer is collected.
     *
     * @param shape {@code {out, in}}
     */
    public ModuleStats module(int l, LinearKind kind, int[] shape) {
        int k = kind.ordinal();
        int rows = shape[0];
        int in = shape[1];
        return new ModuleStats(l, kind, 0, rows, in, kinds,
                kinds.contains(StatKind.GRAD) ? heap(gradL1[l][k], rows * in) : null,
                kinds.contains(StatKind.GRAD) ? heap(gradL2Sq[l][k], rows * in) : null,
                kinds.contains(StatKind.ACT) ? heap(actSq[l][k], in) : null,
                kinds.contains(StatKind.HESSIAN) ? heap(hessian[l][k], in * in) : null,
                samples, tokens);
    }

    /** Frees the sums of layer {@code l} (already taken with {@link #module}); counts are kept. */
    public void releaseLayer(int l) {
        for (NDArray[][] a : new NDArray[][][] {gradL1, gradL2Sq, actSq, hessian}) {
            for (int k = 0; k < a[l].length; k++) {
                if (a[l][k] != null) {
                    a[l][k].close();
                    a[l][k] = null;
                }
            }
        }
    }

    /** Forgets every sum and count (a worker starts a new slice). */
    public void reset() {
        if (manager != null) {
            manager.close();
            manager = null;
        }
        for (NDArray[][] a : new NDArray[][][] {gradL1, gradL2Sq, actSq, hessian}) {
            for (NDArray[] row : a) {
                java.util.Arrays.fill(row, null);
            }
        }
        samples = 0;
        tokens = 0;
    }

    @Override
    public void close() {
        reset();
    }

    private boolean observed(int layer) {
        return layer >= firstLayer && layer <= lastLayer && layer < numLayers;
    }

    /** Adds {@code delta} into the running sum, creating the sum on first use in this accumulator's scope. */
    private NDArray accumulate(NDArray sum, NDArray delta) {
        if (sum == null) {
            if (manager == null) {
                manager = NDManager.newBaseManager(delta.getDevice(), "PyTorch");
            }
            NDArray fresh = delta.duplicate();
            fresh.attach(manager);
            return fresh;
        }
        sum.addi(delta);
        return sum;
    }

    private static float[] heap(NDArray a, int length) {
        return a == null ? new float[length] : a.toFloatArray();
    }
}
