package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * dL/dW of all seven modules of every layer from the engine (float32, PyTorch autograd) against
 * central finite differences of the independent float64 {@link RefLlama} forward, over every element.
 */
class GradientTest {
    static final LlamaConfig CFG = new LlamaConfig(16, 24, 2, 4, 2, 40, 64, 1e-5, 500000, false, 1, 2, "float32");

    @Test
    void allModuleGradientsMatchFloat64FiniteDifferences() {
        RefLlama ref = RefLlama.random(CFG, 11, false);
        int[] tokens = new Random(5).ints(12, 0, CFG.vocabSize()).toArray();
        Map<String, float[]> engineGrads = new HashMap<>();
        Map<String, float[]> sumSq = new HashMap<>();
        LossResult lr;
        try (LlamaModel m = LlamaModel.load(ref.toCheckpoint(DType.F32))) {
            lr = m.forwardBackward(tokens,
                    (l, k, x) -> sumSq.put(k.weightName(l), x.square().sum(new int[] {0}).toFloatArray()),
                    (l, k, g) -> engineGrads.put(k.weightName(l), g.toFloatArray()));
            // gradients are zeroed per call: a second call yields the same, not double
            Map<String, float[]> again = new HashMap<>();
            m.forwardBackward(tokens, null, (l, k, g) -> again.put(k.weightName(l), g.toFloatArray()));
            assertThat(again.get(LinearKind.Q_PROJ.weightName(0))).containsExactly(
                    engineGrads.get(LinearKind.Q_PROJ.weightName(0)));
        }
        assertThat(lr.meanNll()).isCloseTo(ref.meanLoss(tokens), org.assertj.core.api.Assertions.within(1e-5));
        assertThat(engineGrads).hasSize(CFG.numLayers() * 7);
        double eps = 1e-5;
        for (int l = 0; l < CFG.numLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                String name = k.weightName(l);
                double[] w = ref.w.get(name);
                float[] g = engineGrads.get(name);
                assertThat(g).hasSize(w.length);
                double diff2 = 0;
                double norm2 = 0;
                for (int i = 0; i < w.length; i++) {
                    double orig = w[i];
                    w[i] = orig + eps;
                    double up = ref.meanLoss(tokens);
                    w[i] = orig - eps;
                    double down = ref.meanLoss(tokens);
                    w[i] = orig;
                    double fd = (up - down) / (2 * eps);
                    diff2 += (g[i] - fd) * (g[i] - fd);
                    norm2 += fd * fd;
                }
                assertThat(norm2).as("gradient of %s is non-trivial", name).isGreaterThan(1e-8);
                assertThat(Math.sqrt(diff2 / norm2)).as("relative error of dL/dW for %s", name).isLessThan(1e-3);
            }
        }
        // the activation observer saw every module's input, with the right width
        assertThat(sumSq).hasSize(CFG.numLayers() * 7);
        assertThat(sumSq.get(LinearKind.DOWN_PROJ.weightName(1))).hasSize(CFG.intermediateSize());
        assertThat(sumSq.get(LinearKind.O_PROJ.weightName(0))).hasSize(CFG.hiddenSize());
    }
}
