package dev.gblm.engine;

import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Collects the statistics of a batch of samples with {@link LayerMajorPass#forwardBackwardAll}: samples are only
 * remembered (token ids) until {@link #forEachModule}, which runs all of them together, top layer first, and hands
 * out each layer's modules as soon as every sample's gradients of that layer are summed, freeing the layer's sums
 * before the next layer is differentiated. Engine memory is one layer's sums plus the batch's layer-boundary
 * activations, instead of {@link StatsCollector}'s sums of the whole model; the statistics are the same
 * ({@code LayerBatchCollectorTest}).
 */
public final class LayerBatchCollector implements SampleStatistics {
    private final LlamaModel model;
    private final StatKinds kinds;
    private final float gradScale;
    private final SpillSettings spill;
    private final List<int[]> batch = new ArrayList<>();

    /** A collector whose batch boundaries spill as {@link SpillSettings#defaults()} says (large batches only). */
    public LayerBatchCollector(LlamaModel model, StatKinds kinds, float gradScale) {
        this(model, kinds, gradScale, SpillSettings.defaults());
    }

    public LayerBatchCollector(LlamaModel model, StatKinds kinds, float gradScale, SpillSettings spill) {
        if (!kinds.contains(StatKind.GRAD)) {
            throw new IllegalArgumentException("a layer-major batch differentiates the model: kinds must include GRAD");
        }
        this.model = model;
        this.kinds = kinds;
        this.gradScale = gradScale;
        this.spill = spill;
    }

    /** Remembers the sample; checked now, so a bad sample fails here and not in the middle of a batch. */
    @Override
    public void addSample(int[] tokens) {
        model.requireTokens(tokens, 2);
        batch.add(tokens.clone());
    }

    @Override
    public long samples() {
        return batch.size();
    }

    /** Runs the batch (nothing when empty): layers from the top down, modules in {@link LinearKind} order. */
    @Override
    public void forEachModule(Consumer<ModuleStats> out) {
        if (batch.isEmpty()) {
            return;
        }
        try (StatsAccumulator acc = new StatsAccumulator(model.config().numLayers(), kinds, gradScale)) {
            for (int[] t : batch) {
                acc.countSample(t.length);
            }
            LayerMajorPass.forwardBackwardAll(model, batch, acc.wantsActivations() ? acc : null, acc, l -> {
                for (LinearKind k : LinearKind.values()) {
                    out.accept(acc.module(l, k, model.weightShape(l, k)));
                }
                acc.releaseLayer(l);
            }, spill);
        }
    }

    @Override
    public void reset() {
        batch.clear();
    }

    @Override
    public void close() {
        reset();
    }
}
