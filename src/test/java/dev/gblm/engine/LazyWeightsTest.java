package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link WeightResidency#LAZY} against {@link WeightResidency#EAGER}: the same float32 values reach the same ops, so
 * logits, losses and every statistic must be bit-identical, before and after weights are edited (zeroed as pruning
 * does, or changed arbitrarily as SparseGPT does), and a lazy model's calls must not leave arrays behind.
 */
class LazyWeightsTest {
    static final StatKinds ALL = StatKinds.of(StatKind.GRAD, StatKind.ACT, StatKind.HESSIAN);

    @Test
    void lazyEqualsEagerBitForBitOnABf16GqaModel() {
        LlamaConfig cfg = new LlamaConfig(48, 80, 3, 4, 2, 64, 96, 1e-5, 500000, false, 1, 2, "bfloat16");
        Checkpoint ckpt = RefLlama.random(cfg, 21, false).toCheckpoint(DType.BF16);
        Random r = new Random(3);
        List<int[]> samples = new ArrayList<>();
        for (int len : new int[] {2, 17, 40}) {
            samples.add(r.ints(len, 0, cfg.vocabSize()).toArray());
        }
        try (LlamaModel eager = LlamaModel.load(ckpt, WeightResidency.EAGER);
                LlamaModel lazy = LlamaModel.load(ckpt, WeightResidency.LAZY)) {
            assertThat(eager.isLazy()).isFalse();
            assertThat(lazy.isLazy()).isTrue();
            int before = lazy.managedArrayCount();
            assertSame(eager, lazy, samples);

            // pruning zeroes entries (kept as a bit mask); SparseGPT changes kept ones too (kept as float32)
            float[] q = eager.weight(1, LinearKind.Q_PROJ);
            for (int i = 0; i < q.length; i += 3) {
                q[i] = 0f;
            }
            float[] down = eager.weight(2, LinearKind.DOWN_PROJ);
            down[5] = 0.25f;
            for (LlamaModel m : new LlamaModel[] {eager, lazy}) {
                m.setWeight(1, LinearKind.Q_PROJ, q);
                m.setWeight(2, LinearKind.DOWN_PROJ, down);
            }
            assertThat(lazy.weight(1, LinearKind.Q_PROJ)).containsExactly(q);
            assertThat(lazy.weight(2, LinearKind.DOWN_PROJ)).containsExactly(down);
            assertSame(eager, lazy, samples);
            assertThat(lazy.managedArrayCount()).isEqualTo(before);

            // a batch run layer-major (what perplexity does with a lazy model) equals one sequence at a time
            List<int[]> batch = samples.subList(1, samples.size());
            for (LlamaModel m : new LlamaModel[] {eager, lazy}) {
                LossResult[] all = m.losses(batch);
                for (int i = 0; i < batch.size(); i++) {
                    assertThat(all[i]).isEqualTo(eager.loss(batch.get(i)));
                }
            }
            assertThat(lazy.managedArrayCount()).isEqualTo(before);
        }
    }

    @Test
    void autoIsEagerForSmallModels() {
        LlamaConfig cfg = new LlamaConfig(16, 32, 1, 2, 2, 32, 16, 1e-5, 10000, true, 1, 2, "float32");
        try (LlamaModel m = LlamaModel.load(RefLlama.random(cfg, 1, false).toCheckpoint(DType.F32))) {
            assertThat(m.isLazy()).isFalse();
        }
    }

    private static void assertSame(LlamaModel eager, LlamaModel lazy, List<int[]> samples) {
        int[] tokens = samples.get(samples.size() - 1);
        assertThat(lazy.logits(tokens)).containsExactly(eager.logits(tokens));
        assertThat(lazy.loss(tokens).nllSum()).isEqualTo(eager.loss(tokens).nllSum());
        for (StatsPass pass : StatsPass.values()) {
            CalibrationStats a = collect(eager, samples, pass);
            CalibrationStats b = collect(lazy, samples, pass);
            for (ModuleKey k : a.modules().keySet()) {
                ModuleStats x = a.get(k.layer(), k.kind());
                ModuleStats y = b.get(k.layer(), k.kind());
                assertThat(y.gradL1()).as("%s %s gradL1", pass, k).containsExactly(x.gradL1());
                assertThat(y.gradL2Sq()).as("%s %s gradL2Sq", pass, k).containsExactly(x.gradL2Sq());
                assertThat(y.actSq()).as("%s %s actSq", pass, k).containsExactly(x.actSq());
                assertThat(y.hessian()).as("%s %s hessian", pass, k).containsExactly(x.hessian());
            }
        }
    }

    private static CalibrationStats collect(LlamaModel model, List<int[]> samples, StatsPass pass) {
        try (StatsCollector c = new StatsCollector(model, ALL, 100f, pass)) {
            for (int[] s : samples) {
                c.add(s);
            }
            return c.snapshot();
        }
    }
}
