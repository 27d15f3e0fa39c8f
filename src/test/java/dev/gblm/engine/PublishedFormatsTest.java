package dev.gblm.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.RopeScaling;
import dev.gblm.model.TensorData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints as they are published: BF16 safetensors mapped in several windows and sharded, and a Llama 3.1-style
 * config (llama3 rope scaling, grouped-query attention, explicit head_dim, untied head, eos list), against the
 * float64 reference {@link RefLlama}, whose rope rule is written from the formula, not from the engine.
 */
class PublishedFormatsTest {
    /** Llama 3.1 in miniature: llama3 scaling whose three frequency regimes all occur within 20 positions. */
    static final LlamaConfig LLAMA31 = new LlamaConfig(48, 96, 2, 4, 2, 50, 256, 1e-5, 10000, false, 1, 2, "bfloat16")
            .withHeadDim(16)
            .withRopeScaling(RopeScaling.llama3(8, 1, 4, 64))
            .withEosTokenIds(List.of(2, 5, 7));

    final int[] tokens = new Random(3).ints(20, 0, 50).toArray();

    @TempDir
    Path dir;

    /** The reference with exactly the stored (rounded) values of {@code ck}. */
    private static RefLlama referenceOf(Checkpoint ck, LlamaConfig c) {
        RefLlama ref = new RefLlama(c, false);
        for (TensorData t : ck.tensors().values()) {
            float[] f = t.toFloats();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            ref.w.put(t.name(), d);
        }
        return ref;
    }

    /**
     * One BF16 checkpoint three ways: a single file mapped in 256-byte windows (the test seam: the 50x32 embedding,
     * 3200 bytes, and every projection span several windows, so they are multi-chunk tensors), and sharded in
     * 2 kB shards (index + shards) read with the default window and with 256-byte windows.
     */
    @Test
    void bf16InWindowsAndInShardsMatchesTheReference() {
        LlamaConfig c = CheckpointLogitsTest.GQA_UNTIED;
        Checkpoint written = RefLlama.random(c, 21, false).toCheckpoint(DType.BF16);
        RefLlama ref = referenceOf(written, c);
        double[][] expected = ref.logits(tokens);

        Path single = dir.resolve("single");
        Checkpoints.saveHf(written, single);
        Checkpoint windowed = Checkpoints.loadHf(single, 256);
        assertThat(windowed.tensor(Checkpoints.EMBED).chunks()).hasSizeGreaterThan(10);
        assertThat(windowed.tensor(Checkpoints.LM_HEAD).chunks()).hasSizeGreaterThan(10);

        Path sharded = dir.resolve("sharded");
        List<String> files = Checkpoints.saveHfSharded(written, sharded, 2000);
        assertThat(files).contains("model.safetensors.index.json").hasSizeGreaterThan(4);
        assertThat(Files.exists(sharded.resolve("model.safetensors"))).isFalse();

        for (Checkpoint ck : List.of(windowed, Checkpoints.load(sharded), Checkpoints.loadHf(sharded, 256))) {
            assertThat(ck.config()).isEqualTo(c.withTorchDtype("bfloat16"));
            assertThat(ck.fingerprint()).isEqualTo(written.fingerprint());
            try (LlamaModel m = LlamaModel.load(ck)) {
                assertThat(CheckpointLogitsTest.maxRelErr(m.logits(tokens), expected)).isLessThan(1e-4);
            }
        }
    }

    @Test
    void llama31StyleCheckpointLoadsAndMatchesTheReference() {
        Checkpoint written = RefLlama.random(LLAMA31, 8, false).toCheckpoint(DType.BF16);
        Path out = dir.resolve("llama31");
        Checkpoints.saveHfSharded(written, out, 4000);
        Checkpoint loaded = Checkpoints.load(out);
        assertThat(loaded.config()).isEqualTo(LLAMA31);
        assertThat(loaded.config().eosTokens()).containsExactly(2, 5, 7);
        assertThat(loaded.tensor("model.layers.0.self_attn.q_proj.weight").shape()).containsExactly(64, 48);
        assertThat(loaded.tensor("model.layers.0.self_attn.o_proj.weight").shape()).containsExactly(48, 64);
        RefLlama ref = referenceOf(loaded, LLAMA31);
        double[][] expected = ref.logits(tokens);
        try (LlamaModel m = LlamaModel.load(loaded)) {
            float[] logits = m.logits(tokens);
            assertThat(CheckpointLogitsTest.maxRelErr(logits, expected)).isLessThan(1e-4);
            // the scaling matters at these positions: the reference without it is far outside the tolerance
            RefLlama unscaled = referenceOf(loaded, LLAMA31.withRopeScaling(null));
            assertThat(CheckpointLogitsTest.maxRelErr(logits, unscaled.logits(tokens))).isGreaterThan(1e-2);
        }
        // the engine's frequencies are the reference's, pair by pair
        float[] f = LLAMA31.ropeInverseFrequencies();
        for (int i = 0; i < f.length; i++) {
            assertThat((double) f[i]).as("pair %d", i).isCloseTo(ref.frequency(i), within(1e-6 * ref.frequency(i)));
        }
    }

    @Test
    void linearScalingMatchesTheReference() {
        LlamaConfig c = CheckpointLogitsTest.GQA_UNTIED.withRopeScaling(RopeScaling.linear(4));
        RefLlama ref = RefLlama.random(c, 4, false);
        try (LlamaModel m = LlamaModel.load(ref.toCheckpoint(DType.F32))) {
            assertThat(CheckpointLogitsTest.maxRelErr(m.logits(tokens), ref.logits(tokens))).isLessThan(1e-4);
        }
    }

    @Test
    void slidingWindowBoundsTheSequenceLength() {
        LlamaConfig c = CheckpointLogitsTest.GQA_UNTIED.withSlidingWindow(12);
        RefLlama ref = RefLlama.random(c, 6, false);
        try (LlamaModel m = LlamaModel.load(ref.toCheckpoint(DType.F32))) {
            int[] within = java.util.Arrays.copyOf(tokens, 12);
            assertThat(CheckpointLogitsTest.maxRelErr(m.logits(within), ref.logits(within))).isLessThan(1e-4);
            assertThatThrownBy(() -> m.logits(tokens)).isInstanceOf(GblmException.class)
                    .hasMessage("20 tokens exceed the model's sliding_window of 12 (sliding-window attention is not "
                            + "implemented; use shorter sequences)");
        }
    }

    /** Widening in row blocks of 7 floats (several blocks per tensor, a partial last one) equals widening whole. */
    @Test
    void widenedInBlocksEqualsWidenedWhole() {
        Checkpoint ck = RefLlama.random(CheckpointLogitsTest.GQA_UNTIED, 2, false).toCheckpoint(DType.BF16);
        try (NDManager m = NDManager.newBaseManager()) {
            for (String name : List.of(Checkpoints.EMBED, Checkpoints.FINAL_NORM, "model.layers.1.mlp.down_proj.weight")) {
                TensorData t = ck.tensor(name);
                NDArray blocks = LlamaModel.widen(m, t, 7);
                NDArray whole = LlamaModel.widen(m, t, Integer.MAX_VALUE);
                assertThat(blocks.getShape().getShape()).containsExactly(t.shape());
                assertThat(blocks.toFloatArray()).containsExactly(t.toFloats());
                assertThat(whole.toFloatArray()).containsExactly(t.toFloats());
            }
        }
    }
}
