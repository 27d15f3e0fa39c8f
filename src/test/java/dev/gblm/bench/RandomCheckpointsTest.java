package dev.gblm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.TensorData;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RandomCheckpointsTest {
    // grouped-query attention and an intermediate size unlike the hidden size, so every shape is distinct
    private static final LlamaConfig CFG = new LlamaConfig(16, 40, 2, 4, 2, 50, 32, 1e-5, 10000, true, 1, 2, "float32");

    @Test
    void everyTensorHasItsExpectedShapeAndBoundedValues() {
        Checkpoint ck = RandomCheckpoints.uniform(CFG, 3);
        assertThat(ck.tensors().keySet()).containsExactlyElementsOf(Checkpoints.expectedNames(CFG));
        for (String name : Checkpoints.expectedNames(CFG)) {
            TensorData t = ck.tensors().get(name);
            long[] shape = Checkpoints.expectedShape(CFG, name);
            assertThat(t.shape()).as(name).containsExactly(shape);
            float[] v = t.toFloats();
            if (shape.length == 1) {
                assertThat(v).as(name).containsOnly(1f);
            } else {
                double bound = Math.sqrt(3.0 / shape[1]);
                for (float x : v) {
                    assertThat(Math.abs(x)).as(name).isLessThanOrEqualTo((float) bound);
                }
            }
        }
        assertThat(Checkpoints.expectedShape(CFG, "model.layers.1.self_attn.k_proj.weight")).containsExactly(8, 16);
        assertThat(Checkpoints.expectedShape(CFG, "model.layers.0.mlp.down_proj.weight")).containsExactly(16, 40);
    }

    @Test
    void sameSeedSameWeightsOtherSeedOtherWeights() {
        String q = "model.layers.0.self_attn.q_proj.weight";
        float[] a = RandomCheckpoints.uniform(CFG, 5).tensors().get(q).toFloats();
        assertThat(RandomCheckpoints.uniform(CFG, 5).tensors().get(q).toFloats()).containsExactly(a);
        assertThat(RandomCheckpoints.uniform(CFG, 6).tensors().get(q).toFloats()).isNotEqualTo(a);
    }

    @Test
    void documentsHaveBosThenOrdinaryTokens() {
        List<int[]> docs = RandomCheckpoints.documents(new SplittableRandom(1), 5, 9, 12);
        assertThat(docs).hasSize(5);
        for (int[] d : docs) {
            assertThat(d).hasSize(9);
            assertThat(d[0]).isEqualTo(1);
            for (int i = 1; i < d.length; i++) {
                assertThat(d[i]).isBetween(3, 11);
            }
        }
    }
}
