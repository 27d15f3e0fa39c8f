package dev.gblm.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.RopeScaling;
import dev.gblm.model.SafetensorsReader;
import dev.gblm.model.SafetensorsWriter;
import dev.gblm.model.TensorData;
import dev.gblm.testing.GblmCli;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @Test
    void streamedCheckpointsLoadWithTheirShapeDtypeAndShards(@TempDir Path dir) {
        LlamaConfig untied = new LlamaConfig(16, 40, 2, 4, 2, 50, 32, 1e-5, 10000, false, 1, 2, "float32")
                .withRopeScaling(RopeScaling.llama3(8, 1, 4, 16));
        List<String> files = RandomCheckpoints.write(untied, DType.BF16, 7, dir.resolve("a"), 3000);
        assertThat(files).contains("model.safetensors.index.json").hasSizeGreaterThan(2);
        Checkpoint ck = Checkpoints.load(dir.resolve("a"));
        assertThat(ck.config()).isEqualTo(untied.withTorchDtype("bfloat16"));
        assertThat(ck.tensors().keySet()).containsExactlyElementsOf(Checkpoints.expectedNames(untied));
        for (TensorData t : ck.tensors().values()) {
            assertThat(t.dtype()).isEqualTo(DType.BF16);
            float[] v = t.toFloats();
            if (t.shape().length == 1) {
                assertThat(v).containsOnly(1f);
            } else {
                // bf16 rounding may step just past the float bound
                double bound = Math.sqrt(3.0 / t.shape()[1]) * (1 + 1.0 / 128);
                for (float x : v) {
                    assertThat((double) Math.abs(x)).as(t.name()).isLessThanOrEqualTo(bound);
                }
            }
        }
        // the values do not depend on how many elements are generated at a time, and the seed decides them
        Path b = dir.resolve("b.safetensors");
        SafetensorsWriter.writeEntries(b, RandomCheckpoints.streamed(untied, DType.BF16, 7, 7));
        assertThat(SafetensorsReader.read(b).values().stream().map(TensorData::toFloats).toList())
                .usingRecursiveComparison().isEqualTo(ck.tensors().values().stream().map(TensorData::toFloats).toList());
        RandomCheckpoints.write(untied, DType.BF16, 8, dir.resolve("c"), 1L << 30);
        assertThat(Checkpoints.load(dir.resolve("c")).fingerprint()).isNotEqualTo(ck.fingerprint());
    }

    @Test
    void benchCheckpointCommandWritesWhatItsOptionsSay(@TempDir Path dir) {
        Path out = dir.resolve("m");
        GblmCli.Run run = GblmCli.gblm("bench", "checkpoint", "--out", out.toString(), "--hidden", "32",
                "--intermediate", "48", "--layers", "1", "--heads", "4", "--kv-heads", "2", "--head-dim", "16",
                "--vocab", "64", "--dtype", "f16", "--head", "untied", "--rope-scaling", "llama3", "--rope-factor",
                "32", "--shard-size", "4kB");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).contains("model.safetensors.index.json");
        Checkpoint ck = Checkpoints.load(out);
        assertThat(ck.config().qDim()).isEqualTo(64);
        assertThat(ck.config().numKvHeads()).isEqualTo(2);
        assertThat(ck.config().tieWordEmbeddings()).isFalse();
        assertThat(ck.config().ropeScaling()).isEqualTo(RopeScaling.llama3(32, 1, 4, 8192));
        assertThat(ck.weightDtype()).isEqualTo(DType.F16);
        GblmCli.Run again = GblmCli.gblm("bench", "checkpoint", "--out", out.toString());
        assertThat(again.exit()).isNotZero();
        assertThat(again.err()).contains("refusing to overwrite").doesNotContain("Exception");
        GblmCli.Run bad = GblmCli.gblm("bench", "checkpoint", "--out", dir.resolve("x").toString(), "--dtype", "f8");
        assertThat(bad.err()).contains("--dtype must be f32, f16 or bf16, got 'f8'");
        assertThat(RandomCheckpointCommand.parseBytes("2GB")).isEqualTo(2_000_000_000L);
        assertThat(RandomCheckpointCommand.parseBytes("4GiB")).isEqualTo(4L << 30);
        assertThat(RandomCheckpointCommand.parseBytes("1234")).isEqualTo(1234);
    }
}
