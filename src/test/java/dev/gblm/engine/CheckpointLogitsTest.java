package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.TensorData;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints written by the test itself, loaded by the engine, against the float64 reference. */
class CheckpointLogitsTest {
    static final LlamaConfig GQA_UNTIED =
            new LlamaConfig(32, 48, 2, 8, 2, 50, 64, 1e-5, 500000, false, 1, 2, "float32");
    final int[] tokens = new Random(3).ints(20, 0, 50).toArray();

    @TempDir
    Path dir;

    /** max |engine - ref| / max |ref| over all positions and logits. */
    static double maxRelErr(float[] engine, double[][] ref) {
        double maxAbs = 0;
        double maxErr = 0;
        int v = ref[0].length;
        for (int t = 0; t < ref.length; t++) {
            for (int i = 0; i < v; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(ref[t][i]));
                maxErr = Math.max(maxErr, Math.abs(engine[t * v + i] - ref[t][i]));
            }
        }
        return maxErr / maxAbs;
    }

    @Test
    void hfCheckpointWithGqaUntiedHeadAndRopeTheta500kMatchesReference() {
        for (DType dtype : DType.values()) {
            RefLlama ref = RefLlama.random(GQA_UNTIED, 21, false);
            Checkpoint written = ref.toCheckpoint(dtype);
            // the reference sees exactly the stored (rounded) values
            for (TensorData t : written.tensors().values()) {
                float[] f = t.toFloats();
                double[] d = ref.w.get(t.name());
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
            }
            Path out = dir.resolve(dtype.name());
            Checkpoints.saveHf(written, out);
            Checkpoint loaded = Checkpoints.load(out);
            assertThat(loaded.config()).isEqualTo(GQA_UNTIED.withTorchDtype(dtype.torchName()));
            try (LlamaModel m = LlamaModel.load(loaded)) {
                assertThat(maxRelErr(m.logits(tokens), ref.logits(tokens))).as(dtype.name()).isLessThan(1e-4);
                float[] next = m.nextTokenLogits(tokens);
                double[] refLast = ref.logits(tokens)[tokens.length - 1];
                for (int i = 0; i < next.length; i++) {
                    assertThat((double) next[i]).isCloseTo(refLast[i], org.assertj.core.api.Assertions.within(1e-3));
                }
            }
        }
    }

    @Test
    void llama2cFileWithInterleavedRopeMatchesReference() throws IOException {
        for (boolean tied : new boolean[] {true, false}) {
            LlamaConfig c = new LlamaConfig(32, 48, 2, 8, 2, 50, 64, 1e-5, 10000, tied, 1, 2, "float32");
            RefLlama ref = RefLlama.random(c, 33, true);
            Path bin = dir.resolve("m" + tied + ".bin");
            writeLlama2c(ref, bin);
            Checkpoint loaded = Checkpoints.load(bin);
            assertThat(loaded.format()).isEqualTo(Checkpoint.Format.LLAMA2C);
            assertThat(loaded.config()).isEqualTo(c);
            assertThat(loaded.tensors().containsKey(Checkpoints.LM_HEAD)).isEqualTo(!tied);
            try (LlamaModel m = LlamaModel.load(loaded)) {
                assertThat(maxRelErr(m.logits(tokens), ref.logits(tokens))).isLessThan(1e-4);
                // exported to HF safetensors, the permuted weights are a valid rotate_half checkpoint
                Path hf = dir.resolve("hf" + tied);
                Checkpoints.saveHf(m.toCheckpoint(), hf);
                try (LlamaModel m2 = LlamaModel.load(Checkpoints.load(hf))) {
                    assertThat(m2.logits(tokens)).containsExactly(m.logits(tokens));
                }
            }
        }
    }

    @Test
    void exportIsBitIdenticalAndWeightEditsShow() {
        RefLlama ref = RefLlama.random(GQA_UNTIED, 5, false);
        Checkpoint ck = ref.toCheckpoint(DType.BF16);
        try (LlamaModel m = LlamaModel.load(ck)) {
            Checkpoint exported = m.toCheckpoint();
            for (TensorData t : ck.tensors().values()) {
                assertThat(exported.tensor(t.name()).bytes()).isEqualTo(t.bytes());
                assertThat(exported.tensor(t.name()).dtype()).isEqualTo(DType.BF16);
            }
            assertThat(exported.fingerprint()).isEqualTo(ck.fingerprint()).hasSize(64);
            float[] w = m.weight(1, LinearKind.UP_PROJ);
            assertThat(m.weightShape(1, LinearKind.UP_PROJ)).containsExactly(48, 32);
            w[0] = 0;
            m.setWeight(1, LinearKind.UP_PROJ, w);
            assertThat(m.weight(1, LinearKind.UP_PROJ)[0]).isZero();
            assertThat(m.toCheckpoint().fingerprint()).isNotEqualTo(ck.fingerprint());
        }
    }

    @Test
    void memoryOfTheWeightManagerDoesNotGrowWithCalls() {
        try (LlamaModel m = LlamaModel.load(RefLlama.random(GQA_UNTIED, 9, false).toCheckpoint(DType.F32))) {
            m.loss(tokens);
            m.forwardBackward(tokens, (l, k, x) -> x.sum(), (l, k, g) -> g.abs().sum());
            int before = m.managedArrayCount();
            for (int i = 0; i < 3; i++) {
                m.loss(tokens);
                m.nextTokenLogits(tokens);
                m.forwardBackward(tokens, (l, k, x) -> x.sum(), (l, k, g) -> g.abs().sum());
                try (ai.djl.ndarray.NDManager sub = ai.djl.ndarray.NDManager.newBaseManager()) {
                    ai.djl.ndarray.NDArray h = m.embed(tokens, sub);
                    for (int l = 0; l < 2; l++) {
                        h = m.layerForward(l, h, null);
                    }
                    assertThat(m.headLoss(h, tokens).meanNll()).isCloseTo(m.loss(tokens).meanNll(),
                            org.assertj.core.api.Assertions.within(1e-5));
                }
            }
            assertThat(m.managedArrayCount()).isEqualTo(before);
        }
    }

    @Test
    void badModelsAreRejectedClearly() throws IOException {
        Path junk = dir.resolve("junk.bin");
        Files.write(junk, new byte[100]);
        assertThatThrownBy(() -> Checkpoints.load(junk)).isInstanceOf(GblmException.class)
                .hasMessageContaining("not a model");
        assertThatThrownBy(() -> Checkpoints.load(dir.resolve("missing"))).isInstanceOf(GblmException.class)
                .hasMessageContaining("not found");
        Path hf = dir.resolve("hf");
        Checkpoints.saveHf(RefLlama.random(GQA_UNTIED, 1, false).toCheckpoint(DType.F32), hf);
        Files.writeString(hf.resolve("config.json"),
                Files.readString(hf.resolve("config.json")).replace("\"rope_scaling\" : null",
                        "\"rope_scaling\" : {\"type\":\"yarn\",\"factor\":2.0}"));
        assertThatThrownBy(() -> Checkpoints.load(hf)).isInstanceOf(GblmException.class)
                .hasMessageContaining("rope_scaling");
    }

    /** llama2.c v0 layout, with the interleaved rotary convention of the reference weights. */
    static void writeLlama2c(RefLlama ref, Path file) throws IOException {
        LlamaConfig c = ref.c;
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
            int[] header = {c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(),
                c.tieWordEmbeddings() ? c.vocabSize() : -c.vocabSize(), c.maxPositionEmbeddings()};
            for (int h : header) {
                out.writeInt(Integer.reverseBytes(h));
            }
            floats(out, ref.w.get(Checkpoints.EMBED));
            for (int l = 0; l < c.numLayers(); l++) {
                floats(out, ref.w.get(Checkpoints.inputNorm(l)));
            }
            for (LinearKind k : new LinearKind[] {LinearKind.Q_PROJ, LinearKind.K_PROJ, LinearKind.V_PROJ,
                LinearKind.O_PROJ}) {
                for (int l = 0; l < c.numLayers(); l++) {
                    floats(out, ref.w.get(k.weightName(l)));
                }
            }
            for (int l = 0; l < c.numLayers(); l++) {
                floats(out, ref.w.get(Checkpoints.postAttentionNorm(l)));
            }
            for (LinearKind k : new LinearKind[] {LinearKind.GATE_PROJ, LinearKind.DOWN_PROJ, LinearKind.UP_PROJ}) {
                for (int l = 0; l < c.numLayers(); l++) {
                    floats(out, ref.w.get(k.weightName(l)));
                }
            }
            floats(out, ref.w.get(Checkpoints.FINAL_NORM));
            floats(out, new double[c.maxPositionEmbeddings() * c.headDim()]); // freq_cis real + imag
            if (!c.tieWordEmbeddings()) {
                floats(out, ref.w.get(Checkpoints.LM_HEAD));
            }
        }
    }

    private static void floats(DataOutputStream out, double[] v) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double d : v) {
            b.putFloat((float) d);
        }
        out.write(b.array());
    }
}
