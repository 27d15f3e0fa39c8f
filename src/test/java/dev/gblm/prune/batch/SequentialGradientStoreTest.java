package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.bench.RandomCheckpoints;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.SpillSettings;
import dev.gblm.engine.StatsPass;
import dev.gblm.engine.WeightResidency;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LlamaConfig;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.testing.SpillFiles;
import dev.gblm.testing.TestData;
import dev.gblm.testing.TinyStories;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sequential pruning with the layer pass (gradient sums of the dense model from one layer-major pass, kept in a
 * {@code GradientStore} and read back layer by layer) against the whole-model pass ({@code StatsPass.MODEL}, whole
 * {@code CalibrationStats} first, everything in memory: the reference): identical masks, with the gradient sums,
 * the boundary activations and the sequential loop's hidden states forced to disk (thresholds 0), eager and lazy
 * weights; kept statistics identical too. While the layers are pruned the spill directory holds the sums of the
 * layers not pruned yet and one hidden state per sample; afterwards nothing is left.
 */
class SequentialGradientStoreTest {
    @TempDir
    Path dir;

    @Test
    void spilledLayerPassEqualsWholeModelOnStories260K() {
        Checkpoint ckpt = Checkpoints.load(TestData.require("models/stories260K.bin"));
        List<int[]> samples = TinyStories.calibration(TinyStories.tokenizer()).samples().subList(0, 4);
        for (PruneSettings cfg : List.of(settings(Method.GBLM, GradNorm.L1), settings(Method.GBLM, GradNorm.L2),
                settings(Method.GRADIENT, GradNorm.L1))) {
            BatchPruner.Result whole = prune(ckpt, WeightResidency.EAGER, StatsPass.MODEL, cfg, false, samples);
            BatchPruner.Result eager = prune(ckpt, WeightResidency.EAGER, StatsPass.LAYER, cfg, false, samples);
            BatchPruner.Result lazy = prune(ckpt, WeightResidency.LAZY, StatsPass.LAYER, cfg, false, samples);
            assertThat(eager.masks()).as("%s", cfg).isEqualTo(whole.masks());
            assertThat(lazy.masks()).as("%s", cfg).isEqualTo(whole.masks());
            assertThat(whole.overallSparsity()).isEqualTo(0.5);
            assertThat(eager.stats()).isNull();
        }
    }

    @Test
    void spilledHiddenStatesGiveTheSameMasksWithoutGradientsToo() {
        Checkpoint ckpt = Checkpoints.load(TestData.require("models/stories260K.bin"));
        List<int[]> samples = TinyStories.calibration(TinyStories.tokenizer()).samples().subList(0, 4);
        for (Method method : List.of(Method.WANDA, Method.SPARSEGPT)) {
            PruneSettings cfg = settings(method, GradNorm.L1);
            BatchPruner.Result held = prune(ckpt, WeightResidency.EAGER, StatsPass.MODEL, cfg, false, samples);
            BatchPruner.Result spilled = prune(ckpt, WeightResidency.EAGER, StatsPass.LAYER, cfg, false, samples);
            assertThat(spilled.masks()).as("%s", method).isEqualTo(held.masks());
        }
    }

    @Test
    void keptStatisticsAreRealAndEqualTheWholeModelPasses() {
        Checkpoint ckpt = Checkpoints.load(TestData.require("models/stories260K.bin"));
        List<int[]> samples = TinyStories.calibration(TinyStories.tokenizer()).samples().subList(0, 3);
        PruneSettings cfg = settings(Method.GBLM, GradNorm.L1); // one norm read, both kept
        BatchPruner.Result whole = prune(ckpt, WeightResidency.EAGER, StatsPass.MODEL, cfg, true, samples);
        BatchPruner.Result layer = prune(ckpt, WeightResidency.EAGER, StatsPass.LAYER, cfg, true, samples);
        assertThat(layer.masks()).isEqualTo(whole.masks());
        assertThat(layer.stats().modules().keySet()).isEqualTo(whole.stats().modules().keySet());
        assertThat(layer.stats()).isEqualTo(whole.stats());
        layer.stats().modules().values().forEach(s -> assertThat(s.gradL2Sq()).isNotSameAs(s.gradL1()));
    }

    @Test
    void spilledLayerPassEqualsWholeModelOnAShardedBf16RandomModel() {
        LlamaConfig cfg = new LlamaConfig(64, 112, 3, 4, 2, 80, 64, 1e-5, 10000, false, 1, 2, "bfloat16");
        Path src = dir.resolve("src");
        RandomCheckpoints.write(cfg, DType.BF16, 5, src, 40_000);
        Checkpoint ckpt = Checkpoints.loadHf(src, 256);
        List<int[]> samples = RandomCheckpoints.documents(new SplittableRandom(3), 4, 48, cfg.vocabSize());
        PruneSettings settings = settings(Method.GBLM, GradNorm.L2);
        BatchPruner.Result whole = prune(ckpt, WeightResidency.EAGER, StatsPass.MODEL, settings, false, samples);
        BatchPruner.Result eager = prune(ckpt, WeightResidency.EAGER, StatsPass.LAYER, settings, false, samples);
        BatchPruner.Result lazy = prune(ckpt, WeightResidency.LAZY, StatsPass.LAYER, settings, false, samples);
        assertThat(eager.masks()).isEqualTo(whole.masks());
        assertThat(lazy.masks()).isEqualTo(whole.masks());
        assertThat(whole.overallSparsity()).isEqualTo(0.5);
    }

    private static PruneSettings settings(Method method, GradNorm norm) {
        return new PruneSettings(method, norm, SparsityPattern.unstructured(0.5), TailRule.defaultRule());
    }

    private BatchPruner.Result prune(Checkpoint ckpt, WeightResidency residency, StatsPass pass, PruneSettings cfg,
            boolean keepStats, List<int[]> samples) {
        Path spillParent = dir.resolve("spill-" + pass.cliName());
        // the reference keeps everything in memory; the layer pass spills everything it can
        SpillSettings spill = pass == StatsPass.LAYER ? SpillSettings.defaults().withThresholds(0, 0)
                : SpillSettings.defaults();
        BatchPruneSettings settings = new BatchPruneSettings(cfg, PruneMode.SEQUENTIAL, 100f, keepStats, pass,
                spill.inDirectory(spillParent));
        List<Integer> filesWhileMasking = new ArrayList<>();
        List<Integer> gradientLayers = new ArrayList<>();
        PruneProgress watch = new PruneProgress() {
            @Override
            public void layerPruned(int layer, int layers) {
                filesWhileMasking.add(SpillFiles.count(spillParent));
            }

            @Override
            public void layers(String phase, int done, int total) {
                assertThat(phase).isEqualTo("gradients");
                assertThat(total).isEqualTo(ckpt.config().numLayers());
                gradientLayers.add(done);
            }
        };
        BatchPruner.Result r;
        try (LlamaModel m = LlamaModel.load(ckpt, residency)) {
            r = BatchPruner.prune(m, samples, settings, watch);
        }
        int layers = ckpt.config().numLayers();
        if (pass == StatsPass.LAYER && cfg.method() != Method.GBLM && cfg.method() != Method.GRADIENT) {
            // no gradient sums: the hidden states alone, one per sample
            assertThat(filesWhileMasking).as("hidden-state files while masking").containsOnly(samples.size());
        }
        if (pass == StatsPass.LAYER && cfg.method() == Method.GBLM) {
            // after layer l is pruned, the 7 modules' gradient sums of each layer above it are still on disk, and
            // one hidden state per sample: the next layer's inputs (the last layer's own inputs at the end)
            List<Integer> expected = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                expected.add(7 * (layers - 1 - l) + samples.size());
            }
            assertThat(filesWhileMasking).as("gradient and hidden-state files while masking").isEqualTo(expected);
            // the all-samples gradient pass reports each finished layer (it has no per-sample progress)
            assertThat(gradientLayers).hasSize(layers).isSorted().endsWith(layers);
        }
        assertThat(SpillFiles.count(spillParent)).as("spill files left").isZero();
        assertThat(SpillFiles.list(spillParent)).as("spill directories left").isEmpty();
        return r;
    }
}
