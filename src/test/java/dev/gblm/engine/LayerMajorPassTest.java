package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.testing.Errors;
import dev.gblm.testing.SpillFiles;
import dev.gblm.testing.TestData;
import dev.gblm.testing.TinyStories;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The layer-major pass ({@link LayerMajorPass}) against the whole-model pass ({@link LlamaModel#forwardBackward},
 * itself checked against finite differences in {@link GradientTest}): GRAD l1, GRAD l2sq, ACT and HESSIAN sums of
 * several samples of different lengths agree within a relative error of 1e-5 (max |a - b| / max |b| per module
 * and statistic), and so do the losses, on a random GQA model and on stories260K. The all-samples pass with its
 * boundary activations and the gradients dL/dh spilled to files gives the same statistics bit for bit and leaves
 * no file behind.
 */
class LayerMajorPassTest {
    static final StatKinds ALL = StatKinds.of(StatKind.GRAD, StatKind.ACT, StatKind.HESSIAN);

    @Test
    void equalsTheWholeModelPassOnARandomGqaModel() {
        // 3 layers, 4 query heads on 2 kv heads, untied head, rope_theta 500000
        LlamaConfig cfg = new LlamaConfig(48, 80, 3, 4, 2, 64, 96, 1e-5, 500000, false, 1, 2, "float32");
        Checkpoint ckpt = RefLlama.random(cfg, 17, false).toCheckpoint(DType.F32);
        Random r = new Random(9);
        List<int[]> samples = new ArrayList<>();
        for (int len : new int[] {2, 7, 31, 64, 96}) {
            samples.add(r.ints(len, 0, cfg.vocabSize()).toArray());
        }
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            int before = model.managedArrayCount();
            compare(model, samples, "random GQA");
            // no per-call array stays in the weight manager, and the model's weights are untouched
            assertThat(model.managedArrayCount()).isEqualTo(before);
            assertThat(model.weight(1, LinearKind.K_PROJ)).containsExactly(ckpt.tensor(LinearKind.K_PROJ.weightName(1))
                    .toFloats());
        }
    }

    @Test
    void equalsTheWholeModelPassOnStories260K() {
        Checkpoint ckpt = Checkpoints.load(TestData.require("models/stories260K.bin"));
        CalibrationSet cal = TinyStories.calibration(TinyStories.tokenizer());
        List<int[]> samples = new ArrayList<>();
        // full-length samples and shorter prefixes: different lengths through the same model
        int[] lengths = {512, 300, 97, 512, 5, 256};
        for (int i = 0; i < lengths.length; i++) {
            int[] s = cal.samples().get(i);
            samples.add(java.util.Arrays.copyOf(s, Math.min(lengths[i], s.length)));
        }
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            compare(model, samples, "stories260K");
        }
    }

    @Test
    void spilledBoundariesGiveBitIdenticalStatisticsAndLeaveNoFiles(@TempDir Path dir) throws IOException {
        LlamaConfig cfg = new LlamaConfig(48, 80, 3, 4, 2, 64, 96, 1e-5, 500000, false, 1, 2, "float32");
        Checkpoint ckpt = RefLlama.random(cfg, 23, false).toCheckpoint(DType.F32);
        Random r = new Random(5);
        List<int[]> samples = new ArrayList<>();
        for (int len : new int[] {3, 40, 17}) {
            samples.add(r.ints(len, 0, cfg.vocabSize()).toArray());
        }
        SpillSettings spill = SpillSettings.defaults().withThresholds(0, 0).inDirectory(dir);
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            AllLayers kept = allLayers(model, samples, SpillSettings.defaults(), l -> { });
            List<Long> spillFiles = new ArrayList<>();
            AllLayers spilled = allLayers(model, samples, spill, l -> {
                assertThat(SpillFiles.list(dir)).hasSize(2);
                spillFiles.add((long) SpillFiles.count(dir));
            });
            // while the pass runs, two spill directories hold what is not consumed yet: after layer l is done, each
            // sample's inputs to layers 0..l-1, and each sample's dL/dh_l for the layer below (none below layer 0)
            assertThat(spillFiles).containsExactly(3L * 2 + 3, 3L * 1 + 3, 0L);
            assertThat(spilled.losses).isEqualTo(kept.losses);
            assertThat(spilled.stats.modules().keySet()).isEqualTo(kept.stats.modules().keySet()).hasSize(21);
            for (ModuleKey k : kept.stats.modules().keySet()) {
                ModuleStats a = spilled.stats.get(k.layer(), k.kind());
                ModuleStats b = kept.stats.get(k.layer(), k.kind());
                assertThat(a.gradL1()).as("%s gradL1", k).containsExactly(b.gradL1());
                assertThat(a.gradL2Sq()).as("%s gradL2Sq", k).containsExactly(b.gradL2Sq());
                assertThat(a.actSq()).as("%s actSq", k).containsExactly(b.actSq());
                assertThat(a.hessian()).as("%s hessian", k).containsExactly(b.hessian());
            }
            assertThat(SpillFiles.list(dir)).as("spill directory deleted").isEmpty();

            // an observer failing half-way: the files are gone too
            assertThatThrownBy(() -> allLayers(model, samples, spill, l -> {
                if (l == 1) {
                    throw new IllegalStateException("observer fails");
                }
            })).hasMessage("observer fails");
            assertThat(SpillFiles.list(dir)).as("spill directory deleted after a failure").isEmpty();
        }
    }

    private record AllLayers(CalibrationStats stats, List<LossResult> losses) {}

    /** {@link LayerMajorPass#forwardBackwardAll} with every statistic, each layer's taken when it is done. */
    private static AllLayers allLayers(LlamaModel model, List<int[]> samples, SpillSettings spill,
            IntConsumer alsoOnLayerDone) {
        CalibrationStats out = new CalibrationStats();
        try (StatsAccumulator acc = new StatsAccumulator(model.config().numLayers(), ALL, 100f)) {
            for (int[] s : samples) {
                acc.countSample(s.length);
            }
            LossResult[] losses = LayerMajorPass.forwardBackwardAll(model, samples, acc, acc, l -> {
                for (LinearKind k : LinearKind.values()) {
                    out.add(acc.module(l, k, model.weightShape(l, k)));
                }
                acc.releaseLayer(l);
                alsoOnLayerDone.accept(l);
            }, spill);
            return new AllLayers(out, List.of(losses));
        }
    }

    private static void compare(LlamaModel model, List<int[]> samples, String what) {
        Collected layer = collect(model, samples, StatsPass.LAYER);
        Collected whole = collect(model, samples, StatsPass.MODEL);
        assertThat(layer.loss.count()).isEqualTo(whole.loss.count());
        assertThat(Math.abs(layer.loss.nllSum() - whole.loss.nllSum()))
                .isLessThanOrEqualTo(1e-5 * Math.abs(whole.loss.nllSum()));
        assertThat(layer.stats.modules().keySet()).isEqualTo(whole.stats.modules().keySet())
                .hasSize(model.config().numLayers() * LinearKind.values().length);
        String[] names = {"gradL1", "gradL2Sq", "actSq", "hessian"};
        double worst = 0;
        String where = "";
        for (ModuleKey k : whole.stats.modules().keySet()) {
            ModuleStats a = layer.stats.get(k.layer(), k.kind());
            ModuleStats b = whole.stats.get(k.layer(), k.kind());
            assertThat(a.sampleCount()).isEqualTo(b.sampleCount()).isEqualTo(samples.size());
            assertThat(a.tokenCount()).isEqualTo(b.tokenCount());
            float[][] pairs = {a.gradL1(), b.gradL1(), a.gradL2Sq(), b.gradL2Sq(), a.actSq(), b.actSq(),
                a.hessian(), b.hessian()};
            for (int i = 0; i < names.length; i++) {
                assertThat(maxAbs(pairs[2 * i + 1])).as("%s %s %s is non-trivial", what, k, names[i])
                        .isGreaterThan(0);
                double e = Errors.maxRelative(pairs[2 * i], pairs[2 * i + 1]);
                if (e > worst) {
                    worst = e;
                    where = k + " " + names[i];
                }
            }
        }
        System.out.printf("layer-major vs whole-model (%s, %d samples): worst max-relative error %.3g%s%n", what,
                samples.size(), worst, where.isEmpty() ? " (bit-identical)" : " at " + where);
        assertThat(worst).as("max |layer - model| / max |model|, worst at " + where).isLessThan(1e-5);
    }

    private record Collected(CalibrationStats stats, LossResult loss) {}

    private static Collected collect(LlamaModel model, List<int[]> samples, StatsPass pass) {
        try (StatsCollector c = new StatsCollector(model, ALL, 100f, pass)) {
            LossResult total = new LossResult(0, 0);
            for (int[] s : samples) {
                total = total.plus(c.add(s));
            }
            return new Collected(c.snapshot(), total);
        }
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}
