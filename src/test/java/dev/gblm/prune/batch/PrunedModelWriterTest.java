package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.TensorData;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.stats.ModuleKey;
import dev.gblm.testing.TinyFixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The output directory: exact zeros, untouched bits elsewhere, same dtype, masks, report, atomicity. */
class PrunedModelWriterTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    /** The tiny reference model stored in {@code dtype} (F16/BF16 rounded from its float32 weights). */
    Checkpoint tinyIn(DType dtype) {
        Checkpoint src = TinyFixtures.checkpoint();
        if (dtype == DType.F32) {
            return src;
        }
        Map<String, TensorData> t = new LinkedHashMap<>();
        src.tensors().forEach((n, d) -> t.put(n, TensorData.fromFloats(n, dtype, d.shape(), d.toFloats())));
        Path p = dir.resolve("src-" + dtype);
        Checkpoints.saveHf(new Checkpoint(src.config(), t, p, Checkpoint.Format.HF_SAFETENSORS), p);
        return Checkpoints.load(p);
    }

    BatchPruner.Result prune(LlamaModel m, Method method) {
        List<int[]> cal = TinyFixtures.sequences(TinyFixtures.json(), "calibration");
        return BatchPruner.prune(m, cal, BatchPruneSettings.of(PruneSettings.of(method, SparsityPattern.unstructured(0.5)),
                PruneMode.ONE_SHOT), PruneProgress.NONE);
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void prunedEntriesAreZeroEverythingElseBitIdenticalInTheInputDtype(DType dtype) throws IOException {
        Checkpoint src = tinyIn(dtype);
        Path out = dir.resolve("out");
        BatchPruner.Result r;
        try (LlamaModel m = LlamaModel.load(src)) {
            r = prune(m, Method.WANDA);
            PrunedModelWriter.write(out, false, m, r, JSON.createObjectNode().put("method", "wanda"), null);
        }
        Checkpoint written = Checkpoints.load(out);
        assertThat(written.config().torchDtype()).isEqualTo(dtype.torchName());
        assertThat(written.tensors().keySet()).containsExactlyElementsOf(src.tensors().keySet());
        for (TensorData t : src.tensors().values()) {
            TensorData w = written.tensor(t.name());
            assertThat(w.dtype()).isEqualTo(dtype);
            assertThat(w.shape()).isEqualTo(t.shape());
            Mask mask = maskOf(r, t.name());
            byte[] a = bytes(t);
            byte[] b = bytes(w);
            int width = dtype.bytes();
            for (long i = 0; i < t.numel(); i++) {
                for (int k = 0; k < width; k++) {
                    int o = (int) (i * width + k);
                    byte expected = mask != null && mask.isPrunedIndex(i) ? 0 : a[o];
                    if (b[o] != expected) {
                        throw new AssertionError(t.name() + " element " + i + " differs");
                    }
                }
            }
        }
        List<MaskFile.Entry> entries = MaskFile.read(out.resolve(PrunedModelWriter.MASKS_FILE));
        assertThat(entries).hasSize(r.masks().size());
        for (MaskFile.Entry e : entries) {
            assertThat(e.mask()).isEqualTo(r.masks().get(new ModuleKey(e.layer(), LinearKind.fromShortName(e.module()))));
        }
        JsonNode report = JSON.readTree(out.resolve(PrunedModelWriter.REPORT_FILE).toFile());
        assertThat(report.get("method").asText()).isEqualTo("wanda");
        assertThat(report.get("sparsity").get("overall").asDouble()).isEqualTo(r.overallSparsity());
        assertThat(report.get("sparsity").get("modules")).hasSize(14);
        assertThat(report.get("source").get("fingerprint").asText()).isEqualTo(src.fingerprint());
    }

    @Test
    void sparseGptWeightsAreWrittenInTheInputDtypeWithExactZeros() {
        Checkpoint src = tinyIn(DType.BF16);
        Path out = dir.resolve("sgpt");
        BatchPruner.Result r;
        Map<String, float[]> expected = new LinkedHashMap<>();
        try (LlamaModel m = LlamaModel.load(src)) {
            r = prune(m, Method.SPARSEGPT);
            for (LinearKind k : LinearKind.values()) {
                expected.put(k.weightName(1), m.weight(1, k));
            }
            PrunedModelWriter.write(out, false, m, r, JSON.createObjectNode(), null);
        }
        Checkpoint written = Checkpoints.load(out);
        for (LinearKind k : LinearKind.values()) {
            String name = k.weightName(1);
            TensorData w = written.tensor(name);
            assertThat(w.dtype()).isEqualTo(DType.BF16);
            TensorData encoded = TensorData.fromFloats(name, DType.BF16, w.shape(), expected.get(name));
            assertThat(bytes(w)).isEqualTo(bytes(encoded));
            float[] f = w.toFloats();
            Mask mask = r.masks().get(new ModuleKey(1, k));
            for (int i = 0; i < f.length; i++) {
                if (mask.isPrunedIndex(i)) {
                    assertThat(Float.floatToRawIntBits(f[i])).isZero();
                }
            }
        }
        // SparseGPT changed kept weights: it is not just the source with zeros
        assertThat(bytes(written.tensor(LinearKind.Q_PROJ.weightName(0))))
                .isNotEqualTo(bytes(PrunedModelWriter.pruned(src.tensor(LinearKind.Q_PROJ.weightName(0)),
                        r.masks().get(new ModuleKey(0, LinearKind.Q_PROJ)), null)));
    }

    @Test
    void existingOutputIsRefusedWithoutForceAndReplacedWithIt() throws IOException {
        Checkpoint src = TinyFixtures.checkpoint();
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Files.writeString(out.resolve("old.txt"), "previous run");
        try (LlamaModel m = LlamaModel.load(src)) {
            BatchPruner.Result r = prune(m, Method.MAGNITUDE);
            ObjectNode rep = JSON.createObjectNode();
            assertThatThrownBy(() -> PrunedModelWriter.write(out, false, m, r, rep, null))
                    .isInstanceOf(GblmException.class).hasMessageContaining("already exists").hasMessageContaining("--force");
            assertThat(out.resolve("old.txt")).exists();
            assertThat(listing()).containsExactlyInAnyOrder("out");

            PrunedModelWriter.write(out, true, m, r, rep, null);
        }
        assertThat(out.resolve("old.txt")).doesNotExist();
        assertThat(out.resolve("model.safetensors")).exists();
        assertThat(out.resolve("report.json")).exists();
        // no temporary or backup directories left next to the target
        assertThat(listing()).containsExactlyInAnyOrder("out");
    }

    @Test
    void anOutputPathThatIsAFileIsRefusedEvenWithForce() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThatThrownBy(() -> PrunedModelWriter.checkTarget(file, true))
                .isInstanceOf(GblmException.class).hasMessageContaining("is a file");
        assertThat(Files.readString(file)).isEqualTo("x");
    }

    @Test
    void aFailedWriteLeavesNothingBehind() {
        Checkpoint src = TinyFixtures.checkpoint();
        Path out = dir.resolve("out");
        Map<ModuleKey, Mask> wrong = Map.of(new ModuleKey(0, LinearKind.Q_PROJ), new Mask(3, 3));
        assertThatThrownBy(() -> PrunedModelWriter.write(out, false, src, wrong, PrunedModelWriter.UpdatedWeights.NONE,
                JSON.createObjectNode(), null)).isInstanceOf(IllegalArgumentException.class);
        assertThat(listing()).isEmpty();
    }

    @Test
    void theOutputEndsWithACompletionMarkerThatCatchesDamage() throws IOException {
        Checkpoint src = TinyFixtures.checkpoint();
        Path out = dir.resolve("out");
        Map<ModuleKey, Mask> masks = Map.of(new ModuleKey(0, LinearKind.Q_PROJ), new Mask(
                (int) src.tensor(LinearKind.Q_PROJ.weightName(0)).shape()[0], (int) src.tensor(LinearKind.Q_PROJ.weightName(0)).shape()[1]));
        PrunedModelWriter.write(out, false, src, masks, PrunedModelWriter.UpdatedWeights.NONE, JSON.createObjectNode(), null);
        assertThat(PrunedModelWriter.incompleteReason(out)).isNull();
        JsonNode marker = JSON.readTree(out.resolve(PrunedModelWriter.COMPLETE_FILE).toFile());
        try (Stream<Path> s = Files.list(out)) {
            assertThat(marker.get("files").findValuesAsText("name")).as("every other file, by name")
                    .containsExactlyElementsOf(s.map(p -> p.getFileName().toString())
                            .filter(n -> !n.equals(PrunedModelWriter.COMPLETE_FILE)).sorted().toList());
        }
        assertThat(listing()).containsExactly("out");

        byte[] report = Files.readAllBytes(out.resolve(PrunedModelWriter.REPORT_FILE));
        Files.write(out.resolve(PrunedModelWriter.REPORT_FILE), java.util.Arrays.copyOf(report, report.length - 1));
        assertThat(PrunedModelWriter.incompleteReason(out)).contains("report.json").contains("bytes");
        report[report.length - 3] ^= 1;
        Files.write(out.resolve(PrunedModelWriter.REPORT_FILE), report);
        assertThat(PrunedModelWriter.incompleteReason(out)).contains("report.json").contains("CRC-32C");
        Files.delete(out.resolve(PrunedModelWriter.COMPLETE_FILE));
        assertThat(PrunedModelWriter.incompleteReason(out)).contains("no " + PrunedModelWriter.COMPLETE_FILE);
        assertThat(PrunedModelWriter.incompleteReason(dir.resolve("absent"))).contains("not a directory");
    }

    @Test
    void leftoversOfAnInterruptedWriteAreRecognizedByName() {
        String uuid = java.util.UUID.randomUUID().toString();
        assertThat(PrunedModelWriter.isLeftover(dir.resolve(".epoch-1.tmp-" + uuid))).isTrue();
        assertThat(PrunedModelWriter.isLeftover(dir.resolve(".out.old-" + uuid))).isTrue();
        assertThat(PrunedModelWriter.isLeftover(dir.resolve("epoch-1"))).isFalse();
        assertThat(PrunedModelWriter.isLeftover(dir.resolve(".epoch-1.tmp-x"))).isFalse();
        assertThat(PrunedModelWriter.isLeftover(dir.resolve("epoch-1.tmp-" + uuid))).isFalse();
    }

    private List<String> listing() {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("src-")).toList();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    private static Mask maskOf(BatchPruner.Result r, String tensorName) {
        for (Map.Entry<ModuleKey, Mask> e : r.masks().entrySet()) {
            if (e.getKey().kind().weightName(e.getKey().layer()).equals(tensorName)) {
                return e.getValue();
            }
        }
        return null;
    }

    private static byte[] bytes(TensorData t) {
        ByteBuffer b = t.bytes();
        byte[] a = new byte[b.remaining()];
        b.get(a);
        return a;
    }
}
