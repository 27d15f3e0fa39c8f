package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.bench.RandomCheckpoints;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.StatsPass;
import dev.gblm.engine.WeightResidency;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.model.SafetensorsWriter;
import dev.gblm.model.TensorData;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.stats.ModuleKey;
import dev.gblm.testing.TestData;
import dev.gblm.testing.TinyStories;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One-shot GBLM pruned layer by layer (statistics of one layer at a time, {@code StatsPass.LAYER}) against the
 * whole-model collection followed by pruning ({@code StatsPass.MODEL}: every layer's sums first, then every mask):
 * identical masks and weights, with eager and lazy weights; and the writer streaming a sharded BF16 source read in
 * 256-byte map windows (every weight a multi-chunk tensor) into a sharded output that loads again.
 */
class LayerByLayerPruneTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void layerByLayerEqualsWholeModelOnAShardedBf16RandomModel() throws IOException {
        LlamaConfig cfg = new LlamaConfig(64, 112, 3, 4, 2, 80, 64, 1e-5, 10000, false, 1, 2, "bfloat16");
        Path src = dir.resolve("src");
        List<String> shards = RandomCheckpoints.write(cfg, DType.BF16, 5, src, 40_000);
        assertThat(shards).contains(SafetensorsWriter.INDEX_FILE).hasSizeGreaterThan(2);
        Checkpoint ckpt = Checkpoints.loadHf(src, 256);
        assertThat(ckpt.tensor(LinearKind.UP_PROJ.weightName(0)).chunks()).hasSizeGreaterThan(10);
        List<int[]> samples = RandomCheckpoints.documents(new SplittableRandom(3), 4, 48, cfg.vocabSize());

        BatchPruner.Result whole = prune(ckpt, WeightResidency.EAGER, StatsPass.MODEL, samples, null);
        BatchPruner.Result eager = prune(ckpt, WeightResidency.EAGER, StatsPass.LAYER, samples, null);
        Path out = dir.resolve("out");
        BatchPruner.Result lazy = prune(ckpt, WeightResidency.LAZY, StatsPass.LAYER, samples, out);
        assertThat(eager.masks()).isEqualTo(whole.masks());
        assertThat(lazy.masks()).isEqualTo(whole.masks());
        assertThat(whole.overallSparsity()).isEqualTo(0.5);

        // sharded like the source (largest source file as the shard size), pruned bytes, everything else verbatim
        assertThat(Files.exists(out.resolve(SafetensorsWriter.INDEX_FILE))).isTrue();
        assertThat(Files.exists(out.resolve("model.safetensors"))).isFalse();
        assertThat(PrunedModelWriter.incompleteReason(out)).isNull();
        Checkpoint written = Checkpoints.loadHf(out, 256);
        for (TensorData t : ckpt.tensors().values()) {
            TensorData w = written.tensor(t.name());
            assertThat(w.dtype()).isEqualTo(DType.BF16);
            ModuleKey key = moduleOf(cfg, t.name());
            TensorData expected = key == null ? t : PrunedModelWriter.pruned(t, whole.masks().get(key), null);
            assertThat(bytes(w)).as(t.name()).isEqualTo(bytes(expected));
        }
        try (LlamaModel m = LlamaModel.load(written)) {
            assertThat(m.loss(samples.get(0)).nllSum()).isFinite();
        }
    }

    @Test
    void layerByLayerEqualsWholeModelOnStories260K() {
        Checkpoint ckpt = Checkpoints.load(TestData.require("models/stories260K.bin"));
        List<int[]> samples = TinyStories.calibration(TinyStories.tokenizer()).samples().subList(0, 4);
        BatchPruner.Result whole = prune(ckpt, WeightResidency.EAGER, StatsPass.MODEL, samples, null);
        BatchPruner.Result layer = prune(ckpt, WeightResidency.EAGER, StatsPass.LAYER, samples, null);
        BatchPruner.Result lazy = prune(ckpt, WeightResidency.LAZY, StatsPass.LAYER, samples, null);
        assertThat(layer.masks()).isEqualTo(whole.masks());
        assertThat(lazy.masks()).isEqualTo(whole.masks());
    }

    private static BatchPruner.Result prune(Checkpoint ckpt, WeightResidency residency, StatsPass pass,
            List<int[]> samples, Path out) {
        BatchPruneSettings settings = BatchPruneSettings.of(PruneSettings.of(Method.GBLM,
                SparsityPattern.unstructured(0.5)), PruneMode.ONE_SHOT).withStatsPass(pass);
        try (LlamaModel m = LlamaModel.load(ckpt, residency)) {
            BatchPruner.Result r = BatchPruner.prune(m, samples, settings, PruneProgress.NONE);
            for (Map.Entry<ModuleKey, Mask> e : r.masks().entrySet()) {
                // the model holds the pruned weights: zero exactly where masked
                float[] w = m.weight(e.getKey().layer(), e.getKey().kind());
                for (int i = 0; i < w.length; i += 7) {
                    if (e.getValue().isPrunedIndex(i)) {
                        assertThat(w[i]).isZero();
                    }
                }
            }
            if (out != null) {
                PrunedModelWriter.write(out, false, m, r, JSON.createObjectNode().put("method", "gblm"), null);
            }
            return r;
        }
    }

    private static ModuleKey moduleOf(LlamaConfig cfg, String name) {
        for (int l = 0; l < cfg.numLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                if (k.weightName(l).equals(name)) {
                    return new ModuleKey(l, k);
                }
            }
        }
        return null;
    }

    private static byte[] bytes(TensorData t) {
        List<byte[]> parts = new ArrayList<>();
        int n = 0;
        for (ByteBuffer b : t.chunks()) {
            byte[] a = new byte[b.remaining()];
            b.get(a);
            parts.add(a);
            n += a.length;
        }
        byte[] all = new byte[n];
        int o = 0;
        for (byte[] a : parts) {
            System.arraycopy(a, 0, all, o, a.length);
            o += a.length;
        }
        return all;
    }
}
