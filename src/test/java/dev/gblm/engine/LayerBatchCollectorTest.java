package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.testing.Errors;
import dev.gblm.testing.TestData;
import dev.gblm.testing.TinyStories;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The worker's layer-major slice statistics ({@link LayerBatchCollector}: samples run together when asked, layer by
 * layer) against the per-sample whole-model collection ({@link StatsCollector} with {@link StatsPass#MODEL}): the
 * same modules with the same counts and sums within 1e-5 (max |a - b| / max |b| per module and statistic), handed out
 * top layer first, and every layer's modules before the next layer is differentiated; reset starts a new batch.
 */
class LayerBatchCollectorTest {
    static final StatKinds KINDS = StatKinds.of(StatKind.GRAD, StatKind.ACT);

    @Test
    void equalsPerSampleStatisticsOnARandomGqaModelLayerByLayerFromTheTop() {
        LlamaConfig cfg = new LlamaConfig(48, 80, 3, 4, 2, 64, 96, 1e-5, 500000, false, 1, 2, "float32");
        Checkpoint ckpt = RefLlama.random(cfg, 23, false).toCheckpoint(DType.F32);
        Random r = new Random(5);
        List<int[]> samples = new ArrayList<>();
        for (int len : new int[] {3, 40, 96, 17}) {
            samples.add(r.ints(len, 0, cfg.vocabSize()).toArray());
        }
        try (LlamaModel model = LlamaModel.load(ckpt); LayerBatchCollector batch = new LayerBatchCollector(model, KINDS,
                100f)) {
            // a first batch that is thrown away: reset forgets it
            batch.addSample(samples.get(0));
            batch.reset();
            assertThat(batch.samples()).isZero();
            for (int[] s : samples) {
                batch.addSample(s);
            }
            List<ModuleKey> order = new ArrayList<>();
            Map<ModuleKey, ModuleStats> got = new LinkedHashMap<>();
            batch.forEachModule(m -> {
                order.add(new ModuleKey(m.layer(), m.module()));
                got.put(new ModuleKey(m.layer(), m.module()), m);
            });
            List<ModuleKey> expected = new ArrayList<>();
            for (int l = cfg.numLayers() - 1; l >= 0; l--) {
                for (LinearKind k : LinearKind.values()) {
                    expected.add(new ModuleKey(l, k));
                }
            }
            assertThat(order).containsExactlyElementsOf(expected);
            assertThat(worstError(got, perSample(model, samples), samples.size())).isLessThan(1e-5);
        }
    }

    @Test
    void equalsPerSampleStatisticsOnStories260K() {
        Checkpoint ckpt = Checkpoints.load(TestData.require("models/stories260K.bin"));
        List<int[]> samples = new ArrayList<>(TinyStories.calibration(TinyStories.tokenizer()).samples().subList(0, 3));
        samples.add(java.util.Arrays.copyOf(samples.get(0), 77));
        try (LlamaModel model = LlamaModel.load(ckpt); LayerBatchCollector batch = new LayerBatchCollector(model, KINDS,
                100f)) {
            samples.forEach(batch::addSample);
            Map<ModuleKey, ModuleStats> got = new LinkedHashMap<>();
            batch.forEachModule(m -> got.put(new ModuleKey(m.layer(), m.module()), m));
            double worst = worstError(got, perSample(model, samples), samples.size());
            System.out.printf("layer batch vs per-sample (stories260K, %d samples): worst relative error %.3g%n",
                    samples.size(), worst);
            assertThat(worst).isLessThan(1e-5);
        }
    }

    @Test
    void aSampleTooShortToDifferentiateIsRefusedWhenAdded() {
        LlamaConfig cfg = new LlamaConfig(16, 32, 1, 2, 2, 32, 16, 1e-5, 10000, true, 1, 2, "float32");
        try (LlamaModel model = LlamaModel.load(RefLlama.random(cfg, 1, false).toCheckpoint(DType.F32));
                LayerBatchCollector batch = new LayerBatchCollector(model, KINDS, 100f)) {
            assertThatThrownBy(() -> batch.addSample(new int[] {1})).hasMessageContaining("token");
            assertThat(batch.samples()).isZero();
            List<ModuleStats> none = new ArrayList<>();
            batch.forEachModule(none::add);
            assertThat(none).isEmpty();
        }
    }

    private static Map<ModuleKey, ModuleStats> perSample(LlamaModel model, List<int[]> samples) {
        Map<ModuleKey, ModuleStats> out = new LinkedHashMap<>();
        try (StatsCollector c = new StatsCollector(model, KINDS, 100f, StatsPass.MODEL)) {
            samples.forEach(c::addSample);
            c.forEachModule(m -> out.put(new ModuleKey(m.layer(), m.module()), m));
        }
        return out;
    }

    private static double worstError(Map<ModuleKey, ModuleStats> got, Map<ModuleKey, ModuleStats> ref, int samples) {
        assertThat(got.keySet()).containsExactlyInAnyOrderElementsOf(ref.keySet());
        double worst = 0;
        for (Map.Entry<ModuleKey, ModuleStats> e : ref.entrySet()) {
            ModuleStats a = got.get(e.getKey());
            ModuleStats b = e.getValue();
            assertThat(a.sampleCount()).isEqualTo(b.sampleCount()).isEqualTo(samples);
            assertThat(a.tokenCount()).isEqualTo(b.tokenCount());
            worst = Math.max(worst, relErr(a.gradL1(), b.gradL1()));
            worst = Math.max(worst, relErr(a.gradL2Sq(), b.gradL2Sq()));
            worst = Math.max(worst, relErr(a.actSq(), b.actSq()));
        }
        return worst;
    }

    private static double relErr(float[] a, float[] b) {
        assertThat(b).as("non-trivial statistic").isNotEqualTo(new float[b.length]);
        return Errors.maxRelative(a, b);
    }
}
