package dev.gblm.prune.batch;

import ai.djl.ndarray.NDManager;
import dev.gblm.GblmException;
import dev.gblm.engine.BoundaryStore;
import dev.gblm.engine.GradientStore;
import dev.gblm.engine.LayerMajorPass;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.StatsAccumulator;
import dev.gblm.engine.StatsCollector;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Method;
import dev.gblm.prune.Pruner;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Prunes a model in memory, exactly as docs/design.md ("Pruning math") and tools/reference/README.md describe:
 *
 * <ul>
 *   <li>gradient statistics (methods gradient, gblm) always from the dense model, one forward+backward
 *       pass over all samples ({@link BatchPruneSettings#statsPass}: layer-major by default, in both modes);
 *   <li>{@link PruneMode#ONE_SHOT}: activation statistics (ACT, or HESSIAN for SparseGPT) also from the
 *       dense model, in the same pass; every module pruned independently. With gradients and the layer pass, the
 *       pass runs over all samples at once, top-down, and each layer is pruned as soon as its statistics are
 *       complete ({@link #layerByLayer}: one layer's gradient sums in memory, the same masks);
 *   <li>{@link PruneMode#SEQUENTIAL}: hidden states of all samples start as their embeddings; for each layer
 *       {@code l} they run through layer {@code l} once while the statistics of its 7 modules are collected,
 *       the 7 masks are computed (weights as loaded: a layer is pruned once, after its statistics are taken)
 *       and applied (SparseGPT: its updated weights), and layer {@code l} runs again, now pruned, to give
 *       layer {@code l+1}'s inputs. With gradients and the layer pass, the dense gradient sums come from one
 *       all-samples pass that hands each layer's sums to a {@link GradientStore} as soon as they are complete (the
 *       engine holds one layer's; the store keeps the norm the scores read in the heap, or on disk when large), and
 *       each layer's are read back when it is masked: the same statistics as {@link #collect}, 4 bytes per
 *       parameter instead of 16 (see docs/engine.md, "Memory model"). The hidden states ({@code samples·T·hidden}
 *       floats) go to spill files too when larger than the boundary threshold;
 *   <li>magnitude needs no calibration; gradient needs no activations, so both are mode-independent.
 * </ul>
 *
 * <p>Wanda's scaler is {@code A/N} (sum over samples and tokens of {@code x_j^2}, divided by the sample
 * count once, in float32). The reference keeps a running mean ({@code r = r·n/(n+1) + ||x_j||²/(n+1)}
 * per sample) instead: the same quantity, rounded differently in the last float32 bits — which is why
 * golden masks may differ at listed near-ties only.
 *
 * <p>The model's linear weights are replaced by their pruned versions. No I/O here except the temporary spill
 * files of {@link BatchPruneSettings#spill}, always deleted before a run returns or fails.
 */
public final class BatchPruner {
    /**
     * The outcome: one mask per module (layer, then module order), the calibration actually used, seconds
     * per phase (in execution order), whether the kept weights were changed (SparseGPT), and the statistics
     * (only with {@link BatchPruneSettings#keepStats}; sequential runs hold each layer's statistics as used).
     */
    public record Result(Map<ModuleKey, Mask> masks, int samples, long tokens, Map<String, Double> phaseSeconds,
            boolean weightsUpdated, CalibrationStats stats) {
        /** Fraction of pruned weights over all masked modules. */
        public double overallSparsity() {
            return Mask.overallSparsity(masks.values());
        }
    }

    private final LlamaModel model;
    private final BatchPruneSettings options;
    private final PruneProgress progress;
    private final Map<String, Double> phases = new LinkedHashMap<>();

    private BatchPruner(LlamaModel model, BatchPruneSettings options, PruneProgress progress) {
        this.model = model;
        this.options = options;
        this.progress = progress == null ? PruneProgress.NONE : progress;
    }

    /** Prunes {@code model} in place with {@code samples} (token ids, BOS included, batch size 1 each). */
    public static Result prune(LlamaModel model, List<int[]> samples, BatchPruneSettings options, PruneProgress progress) {
        return new BatchPruner(model, options, progress).run(samples);
    }

    /**
     * Prunes {@code model} in place, one-shot, from statistics already collected (e.g. a {@link BatchPruneSettings#keepStats}
     * run's), so several settings can be tried on one collection. The model must hold the weights the statistics
     * were taken on (the dense ones: a caller trying several settings restores them before each).
     */
    public static Result pruneFromStats(LlamaModel model, CalibrationStats stats, BatchPruneSettings options,
            PruneProgress progress) {
        BatchPruner p = new BatchPruner(model, options, progress);
        Map<ModuleKey, Mask> masks = p.pruneLayers(stats, null);
        ModuleStats first = stats.get(0, LinearKind.values()[0]);
        int samples = first == null ? 0 : (int) first.sampleCount();
        long tokens = first == null ? 0 : first.tokenCount();
        return new Result(masks, samples, tokens, p.phases, options.config().method() == Method.SPARSEGPT, null);
    }

    /** The statistics a method reads from the model's activations (empty for magnitude and gradient). */
    public static StatKinds activationKinds(Method method, boolean withAct) {
        Set<StatKind> k = EnumSet.noneOf(StatKind.class);
        if (method.needsActivations() || withAct && method == Method.SPARSEGPT) {
            k.add(StatKind.ACT);
        }
        if (method == Method.SPARSEGPT) {
            k.add(StatKind.HESSIAN);
        }
        return StatKinds.of(k);
    }

    private Result run(List<int[]> samples) {
        Method method = options.config().method();
        boolean calibrated = method != Method.MAGNITUDE;
        if (calibrated && samples.isEmpty()) {
            throw new GblmException(method + " needs calibration samples, none given");
        }
        long tokens = 0;
        for (int[] s : samples) {
            tokens += s.length;
        }
        StatKinds actKinds = activationKinds(method, options.keepStats());
        Map<ModuleKey, Mask> masks;
        CalibrationStats kept = options.keepStats() ? new CalibrationStats() : null;
        if (!calibrated) {
            masks = pruneLayers(null, kept);
        } else if (method.needsGradients() && options.statsPass() == StatsPass.LAYER
                && (options.mode() == PruneMode.ONE_SHOT || actKinds.isEmpty()) && !actKinds.contains(StatKind.HESSIAN)) {
            masks = layerByLayer(samples, actKinds, kept);
        } else if (options.mode() == PruneMode.ONE_SHOT || actKinds.isEmpty()) {
            // one pass on the dense model collects everything the method reads
            Set<StatKind> all = actKinds.toSet();
            if (method.needsGradients()) {
                all.add(StatKind.GRAD);
            }
            CalibrationStats stats = collect(samples, StatKinds.of(all),
                    method.needsGradients() ? "gradients" : "statistics");
            masks = pruneLayers(stats, kept);
        } else if (method.needsGradients() && options.statsPass() == StatsPass.LAYER) {
            // kept statistics need both norms stored: the store's stand-in for an unread norm must not leave here
            try (GradientStore grads = gradientStore(samples, options.keepStats())) {
                masks = sequential(samples, grads::take, actKinds, kept);
            }
        } else {
            CalibrationStats grads = method.needsGradients()
                    ? collect(samples, StatKinds.of(StatKind.GRAD), "gradients")
                    : null;
            masks = sequential(samples, grads == null ? null : grads::get, actKinds, kept);
        }
        return new Result(masks, calibrated ? samples.size() : 0, calibrated ? tokens : 0, phases,
                method == Method.SPARSEGPT, kept);
    }

    /** One pass of the dense model over all samples (forward+backward when gradients are asked for). */
    private CalibrationStats collect(List<int[]> samples, StatKinds kinds, String phase) {
        progress.phase(phase);
        long t0 = System.nanoTime();
        try (StatsCollector c = new StatsCollector(model, kinds, options.gradScale(), options.statsPass())) {
            for (int i = 0; i < samples.size(); i++) {
                c.add(samples.get(i));
                progress.sample(phase, i + 1, samples.size());
            }
            CalibrationStats s = c.snapshot();
            time(phase, t0);
            return s;
        }
    }

    /**
     * One-shot pruning from dense statistics, one layer at a time ({@link LayerMajorPass#forwardBackwardAll}): all
     * samples go through the model together, top-down; as soon as every sample's gradients of layer {@code l} are
     * summed, its modules are pruned and the sums freed. The statistics, hence the masks, are those of
     * {@link #collect} + {@link #pruneLayers}, bit for bit, but only one layer's gradient sums exist at a time
     * (instead of 8 bytes per parameter of the whole model). Activation sums (ACT) are small and kept for all layers
     * until their layer is pruned; HESSIAN (SparseGPT, no gradients) never takes this path.
     */
    private Map<ModuleKey, Mask> layerByLayer(List<int[]> samples, StatKinds actKinds, CalibrationStats kept) {
        Set<StatKind> all = actKinds.toSet();
        all.add(StatKind.GRAD);
        int layers = model.config().numLayers();
        Map<ModuleKey, Mask> masks = new TreeMap<>();
        double[] maskSeconds = {0};
        progress.phase("gradients");
        long t0 = System.nanoTime();
        try (StatsAccumulator acc = new StatsAccumulator(layers, StatKinds.of(all), options.gradScale())) {
            for (int[] s : samples) {
                acc.countSample(s.length);
            }
            LayerMajorPass.forwardBackwardAll(model, samples, acc.wantsActivations() ? acc : null, acc, l -> {
                long tm = System.nanoTime();
                for (LinearKind k : LinearKind.values()) {
                    ModuleStats s = acc.module(l, k, model.weightShape(l, k));
                    masks.put(new ModuleKey(l, k), pruneModule(l, k, s));
                    if (kept != null) {
                        kept.add(s);
                    }
                }
                acc.releaseLayer(l);
                maskSeconds[0] += (System.nanoTime() - tm) / 1e9;
                progress.layerPruned(l, layers);
            }, options.spill());
        }
        phases.merge("gradients", (System.nanoTime() - t0) / 1e9 - maskSeconds[0], Double::sum);
        phases.merge("masks", maskSeconds[0], Double::sum);
        return masks;
    }

    /**
     * The dense model's gradient sums for sequential pruning, from one layer-major pass over all samples: each layer's
     * sums go to the store as soon as they are complete and leave the engine, so the engine holds one layer's sums
     * and the heap one module's (the store spills to disk when the whole model's would be large). Only the norm the
     * scores read is stored, unless {@code both} (kept statistics must be real).
     */
    private GradientStore gradientStore(List<int[]> samples, boolean both) {
        int layers = model.config().numLayers();
        long params = 0;
        for (int l = 0; l < layers; l++) {
            for (LinearKind k : LinearKind.values()) {
                int[] shape = model.weightShape(l, k);
                params += (long) shape[0] * shape[1];
            }
        }
        boolean l2 = options.config().gradNorm() == GradNorm.L2;
        GradientStore store = new GradientStore(params, both || !l2, both || l2, options.spill());
        progress.phase("gradients");
        long t0 = System.nanoTime();
        try (StatsAccumulator acc = new StatsAccumulator(layers, StatKinds.of(StatKind.GRAD), options.gradScale())) {
            for (int[] s : samples) {
                acc.countSample(s.length);
            }
            LayerMajorPass.forwardBackwardAll(model, samples, null, acc, l -> {
                for (LinearKind k : LinearKind.values()) {
                    store.put(acc.module(l, k, model.weightShape(l, k)));
                }
                acc.releaseLayer(l);
                progress.layers("gradients", layers - l, layers);
            }, options.spill());
        } catch (RuntimeException | Error e) {
            try {
                store.close(); // its spill files too
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        time("gradients", t0);
        return store;
    }

    /** Prunes every module of every layer from whole-model statistics (null for magnitude). */
    private Map<ModuleKey, Mask> pruneLayers(CalibrationStats stats, CalibrationStats kept) {
        progress.phase("masks");
        long t0 = System.nanoTime();
        Map<ModuleKey, Mask> masks = new TreeMap<>();
        int layers = model.config().numLayers();
        for (int l = 0; l < layers; l++) {
            for (LinearKind k : LinearKind.values()) {
                ModuleStats s = stats == null ? null : stats.get(l, k);
                masks.put(new ModuleKey(l, k), pruneModule(l, k, s));
                if (kept != null && s != null) {
                    kept.add(s);
                }
            }
            progress.layerPruned(l, layers);
        }
        time("masks", t0);
        return masks;
    }

    private Mask pruneModule(int layer, LinearKind kind, ModuleStats stats) {
        int[] shape = model.weightShape(layer, kind);
        float[] w = model.weight(layer, kind);
        Mask mask = Pruner.pruneInPlace(options.config(), options.gradScale(), w, shape[0], shape[1], stats);
        model.setWeight(layer, kind, w);
        return mask;
    }

    /** Where sequential pruning reads a module's dense gradient sums from. */
    private interface GradientSource {
        ModuleStats grads(int layer, LinearKind kind);
    }

    /**
     * The paper's layer-by-layer loop. The hidden states of all samples entering the current layer stay on the
     * engine's device, or in spill files when they would exceed the spill settings' boundary threshold (read back
     * one sample at a time: the same float32 values, the same masks). {@code grads} (null without gradients) is read
     * once per module, when its layer is masked.
     */
    private Map<ModuleKey, Mask> sequential(List<int[]> samples, GradientSource grads, StatKinds actKinds,
            CalibrationStats kept) {
        int layers = model.config().numLayers();
        int[][][] shapes = StatsCollector.shapesOf(model);
        long tokens = samples.stream().mapToLong(t -> t.length).sum();
        long bytes = tokens * model.config().hiddenSize() * Float.BYTES;
        Map<ModuleKey, Mask> masks = new TreeMap<>();
        try (NDManager states = model.newScope(); // on the model's device
                BoundaryStore hidden = BoundaryStore.open(samples.size(), layers, bytes, options.spill(),
                        "the hidden states of sequential pruning")) {
            progress.phase("embed");
            long t0 = System.nanoTime();
            for (int n = 0; n < samples.size(); n++) {
                try (NDManager scope = states.newSubManager()) {
                    hidden.put(n, 0, model.embed(samples.get(n), scope), states);
                }
            }
            time("embed", t0);
            progress.phase("layers");
            for (int l = 0; l < layers; l++) {
                long ts = System.nanoTime();
                CalibrationStats acts;
                try (StatsAccumulator acc = new StatsAccumulator(layers, l, l, actKinds, options.gradScale())) {
                    for (int n = 0; n < samples.size(); n++) {
                        try (NDManager scope = states.newSubManager()) {
                            model.layerForward(l, hidden.get(n, l, scope), acc);
                        }
                        acc.countSample(samples.get(n).length);
                        progress.sample("layer " + l + " statistics", n + 1, samples.size());
                    }
                    acts = acc.snapshot(shapes);
                }
                time("layerStatistics", ts);

                long tm = System.nanoTime();
                for (LinearKind k : LinearKind.values()) {
                    ModuleStats s = combine(acts.get(l, k), grads == null ? null : grads.grads(l, k));
                    masks.put(new ModuleKey(l, k), pruneModule(l, k, s));
                    if (kept != null) {
                        kept.add(s);
                    }
                }
                time("masks", tm);

                if (l < layers - 1) {
                    long to = System.nanoTime();
                    for (int n = 0; n < samples.size(); n++) {
                        try (NDManager scope = states.newSubManager()) {
                            hidden.put(n, l + 1, model.layerForward(l, hidden.get(n, l, scope), null), states);
                        }
                        hidden.release(n, l);
                        progress.sample("layer " + l + " outputs", n + 1, samples.size());
                    }
                    time("layerOutputs", to);
                }
                progress.layerPruned(l, layers);
            }
        }
        return masks;
    }

    /** Activation statistics of one layer plus the dense gradient sums of the same module, as one record. */
    private static ModuleStats combine(ModuleStats acts, ModuleStats grads) {
        if (grads == null) {
            return acts;
        }
        Set<StatKind> kinds = acts.kinds().toSet();
        kinds.add(StatKind.GRAD);
        return new ModuleStats(acts.layer(), acts.module(), 0, acts.rows(), acts.in(), StatKinds.of(kinds),
                grads.gradL1(), grads.gradL2Sq(), acts.actSq(), acts.hessian(), acts.sampleCount(),
                acts.tokenCount());
    }

    private void time(String phase, long startNanos) {
        phases.merge(phase, (System.nanoTime() - startNanos) / 1e9, Double::sum);
    }

    /** Phase names in the order a run may report them (for tables). */
    public static List<String> phaseNames() {
        return new ArrayList<>(List.of("gradients", "statistics", "embed", "layerStatistics", "masks", "layerOutputs"));
    }
}
