package dev.gblm.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.gblm.model.LinearKind;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKinds;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Runs the dense model over calibration samples, one at a time, and accumulates their statistics.
 * Memory is bounded: per sample only the engine's per-call scope is allocated (the whole network's autograd
 * graph with {@link StatsPass#MODEL}, one layer's with {@link StatsPass#LAYER}), and the sums have the size of the
 * model's linear weights (twice, with gradients).
 */
public final class StatsCollector implements SampleStatistics {
    private final LlamaModel model;
    private final StatsAccumulator acc;
    private final int[][][] shapes;
    private final StatsPass pass;

    /** A collector using the whole-model pass ({@link StatsPass#MODEL}). */
    public StatsCollector(LlamaModel model, StatKinds kinds, float gradScale) {
        this(model, kinds, gradScale, StatsPass.MODEL);
    }

    public StatsCollector(LlamaModel model, StatKinds kinds, float gradScale, StatsPass pass) {
        this.model = model;
        this.pass = Objects.requireNonNull(pass, "pass");
        this.acc = new StatsAccumulator(model.config().numLayers(), kinds, gradScale);
        this.shapes = shapesOf(model);
    }

    /** Adds one sample (token ids, BOS included) and returns its loss. */
    public LossResult add(int[] tokens) {
        LossResult loss;
        if (acc.wantsGradients()) {
            ActivationObserver acts = acc.wantsActivations() ? acc : null;
            loss = pass == StatsPass.LAYER ? LayerMajorPass.forwardBackward(model, tokens, acts, acc)
                    : model.forwardBackward(tokens, acts, acc);
        } else {
            loss = forwardObserving(tokens);
        }
        acc.countSample(tokens.length);
        return loss;
    }

    private LossResult forwardObserving(int[] tokens) {
        try (NDManager m = model.newScope()) { // on the model's device
            NDArray h = model.embed(tokens, m);
            for (int l = 0; l < model.config().numLayers(); l++) {
                h = model.layerForward(l, h, acc);
            }
            return model.headLoss(h, tokens);
        }
    }

    @Override
    public void addSample(int[] tokens) {
        add(tokens);
    }

    @Override
    public long samples() {
        return acc.samples();
    }

    public long tokens() {
        return acc.tokens();
    }

    public CalibrationStats snapshot() {
        return acc.snapshot(shapes);
    }

    /** Each module's sums so far, layer by layer, copied to the heap one module at a time (no whole snapshot). */
    @Override
    public void forEachModule(Consumer<ModuleStats> out) {
        for (int l = 0; l < shapes.length; l++) {
            for (LinearKind k : LinearKind.values()) {
                out.accept(acc.module(l, k, shapes[l][k.ordinal()]));
            }
        }
    }

    @Override
    public void reset() {
        acc.reset();
    }

    @Override
    public void close() {
        acc.close();
    }

    /** {@code shapes[layer][kind] = {out, in}} of every linear module. */
    public static int[][][] shapesOf(LlamaModel model) {
        int layers = model.config().numLayers();
        int[][][] s = new int[layers][LinearKind.values().length][];
        for (int l = 0; l < layers; l++) {
            for (LinearKind k : LinearKind.values()) {
                s[l][k.ordinal()] = model.weightShape(l, k);
            }
        }
        return s;
    }
}
