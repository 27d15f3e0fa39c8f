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

    /** A Hugging Face source directory with extra files and unknown config keys, pruned 2:4 by magnitude. */
    private static final Map<String, String> EXTRA_FILES = Map.of(
            "chat_template.jinja", "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
            "generation_config.json", "{\"do_sample\": true, \"temperature\": 0.6, \"eos_token_id\": [2, 5]}\n",
            "added_tokens.json", "{\"<|im_end|>\": 64}\n",
            "LICENSE", "Apache License, Version 2.0\n",
            "README.md", "# tiny\n\nA tiny model card.\n",
            "tokenizer_config.json", "{\"model_max_length\": 64, \"chat_template\": null}\n",
            "special_tokens_map.json", "{\"eos_token\": \"</s>\"}\n",
            "notes.txt", "anything else the source directory holds\n");
    /** Weights, hidden files and subdirectories: never copied. */
    private static final List<String> NOT_COPIED = List.of("pytorch_model.bin", "pytorch_model.bin.index.json",
            "consolidated.00.pth", "model-00001-of-00002.safetensors", ".gitattributes");

    private Path sourceWithExtras() throws IOException {
        Path src = dir.resolve("src-extra");
        Files.createDirectories(src.resolve("original"));
        Files.copy(TinyFixtures.modelDir().resolve("model.safetensors"), src.resolve("model.safetensors"));
        ObjectNode cfg = (ObjectNode) JSON.readTree(TinyFixtures.modelDir().resolve("config.json").toFile());
        cfg.putArray("eos_token_id").add(2).add(5);
        cfg.put("transformers_version", "4.57.1");
        cfg.put("pad_token_id", 0);
        cfg.putNull("rope_scaling");
        cfg.put("initializer_range", 0.02);
        ObjectNode custom = cfg.putObject("my_custom_block");
        custom.put("alpha", 0.125).putArray("list").add(1).add("x").addNull();
        Files.writeString(src.resolve("config.json"), cfg.toPrettyString());
        for (Map.Entry<String, String> e : EXTRA_FILES.entrySet()) {
            Files.writeString(src.resolve(e.getKey()), e.getValue());
        }
        for (String n : NOT_COPIED) {
            Files.write(src.resolve(n), new byte[] {1, 2, 3});
        }
        Files.writeString(src.resolve("original").resolve("params.json"), "{}");
        return src;
    }

    @Test
    void aSourceDirectoryKeepsItsConfigAndFilesAndGainsSparsityMetadata() throws Exception {
        Path src = sourceWithExtras();
        Path calibration = Files.writeString(dir.resolve("calibration.txt"), "Once upon a time.\n\nThe end.\n");
        Path out = dir.resolve("out");
        BatchPruner.Result r;
        BatchPruneSettings options = BatchPruneSettings.of(PruneSettings.of(Method.MAGNITUDE, SparsityPattern.nm(2, 4)),
                PruneMode.SEQUENTIAL);
        try (LlamaModel m = LlamaModel.load(Checkpoints.load(src))) {
            r = BatchPruner.prune(m, List.of(), options, PruneProgress.NONE);
            ObjectNode partial = PruneReport.batch(options, r, calibration.toString(), null, 64, 0.1);
            PrunedModelWriter.write(out, false, m, r, partial, null);
        }

        // config.json: the source's, every key and value, plus quantization_config
        JsonNode before = JSON.readTree(src.resolve("config.json").toFile());
        ObjectNode after = (ObjectNode) JSON.readTree(out.resolve("config.json").toFile());
        JsonNode q = after.remove("quantization_config");
        assertThat(after).isEqualTo(before);
        assertThat(after.get("eos_token_id").toString()).isEqualTo("[2,5]");
        assertThat(q.get("quant_method").asText()).isEqualTo("compressed-tensors");
        JsonNode sc = q.get("sparsity_config");
        assertThat(sc.get("format").asText()).isEqualTo("dense");
        assertThat(sc.get("sparsity_structure").asText()).isEqualTo("2:4");
        assertThat(sc.get("global_sparsity").asDouble()).isEqualTo(r.overallSparsity()).isEqualTo(0.5);
        assertThat(sc.get("targets").toString()).isEqualTo("[\"Linear\"]");
        assertThat(sc.get("ignore").toString()).isEqualTo("[\"lm_head\"]");

        // every non-weight file byte for byte; nothing else
        for (Map.Entry<String, String> e : EXTRA_FILES.entrySet()) {
            assertThat(Files.readString(out.resolve(e.getKey()))).as(e.getKey()).isEqualTo(e.getValue());
        }
        List<String> expected = new java.util.ArrayList<>(EXTRA_FILES.keySet());
        expected.addAll(List.of("config.json", "model.safetensors", "masks.bin", "masks.safetensors", "report.json",
                PrunedModelWriter.COMPLETE_FILE));
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrderElementsOf(expected);
        }
        assertThat(PrunedModelWriter.incompleteReason(out)).isNull();

        // still a loadable checkpoint, same model
        Checkpoint written = Checkpoints.load(out);
        assertThat(written.config()).isEqualTo(Checkpoints.load(src).config());

        // masks.safetensors: the same masks as masks.bin, under the weights' names
        Map<String, Mask> st = MaskSafetensors.read(out.resolve(PrunedModelWriter.MASKS_SAFETENSORS_FILE));
        assertThat(st).hasSize(r.masks().size());
        r.masks().forEach((k, mask) -> assertThat(st.get(k.kind().weightName(k.layer()))).isEqualTo(mask));

        // provenance
        JsonNode report = JSON.readTree(out.resolve(PrunedModelWriter.REPORT_FILE).toFile());
        assertThat(report.get("calibration").get("sha256").asText())
                .isEqualTo(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                        .digest(Files.readAllBytes(calibration))));
        assertThat(report.get("options").get("pattern").asText()).isEqualTo("2:4");
        assertThat(report.get("versions").get("java").asText()).isEqualTo(Runtime.version().toString());
        assertThat(report.get("versions").get("djl").asText()).isNotBlank();
        assertThat(report.get("versions").has("gblm")).isTrue();
        assertThat(report.get("source").get("copiedFiles").toString())
                .isEqualTo(JSON.valueToTree(EXTRA_FILES.keySet().stream().sorted().toList()).toString());
    }

    @Test
    void aLlama2cSourceGetsTheGeneratedConfigWithSparsityMetadataAndOnlyItsTokenizer() throws IOException {
        Checkpoint tiny = TinyFixtures.checkpoint();
        Path srcDir = Files.createDirectories(dir.resolve("src-llama2c"));
        Files.writeString(srcDir.resolve("tokenizer.bin"), "tok");
        Files.writeString(srcDir.resolve("other-notes.txt"), "a shared models folder holds anything");
        Checkpoint src = new Checkpoint(tiny.config(), tiny.tensors(), srcDir.resolve("model.bin"), Checkpoint.Format.LLAMA2C);
        Path out = dir.resolve("out");
        Map<ModuleKey, Mask> masks = Map.of(new ModuleKey(0, LinearKind.Q_PROJ), halfMask(src, 0, LinearKind.Q_PROJ));
        PrunedModelWriter.write(out, false, src, masks, PrunedModelWriter.UpdatedWeights.NONE, JSON.createObjectNode(), null);
        ObjectNode cfg = (ObjectNode) JSON.readTree(out.resolve("config.json").toFile());
        JsonNode q = cfg.remove("quantization_config");
        assertThat(cfg).isEqualTo(tiny.config().withTorchDtype("float32").toJson());
        assertThat(q.get("sparsity_config").get("sparsity_structure").asText()).isEqualTo("unstructured");
        assertThat(q.get("sparsity_config").get("global_sparsity").asDouble()).isEqualTo(0.5);
        assertThat(out.resolve("tokenizer.bin")).hasContent("tok");
        assertThat(out.resolve("other-notes.txt")).doesNotExist();
        assertThat(PrunedModelWriter.incompleteReason(out)).isNull();
    }

    @Test
    void masksAreReadableByTheIndependentPythonReader() throws Exception {
        Path script = Path.of("tools/reference/read_masks.py").toAbsolutePath();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(script), "no " + script);
        org.junit.jupiter.api.Assumptions.assumeTrue(pythonAvailable(), "python3 is not available: skipped");
        Checkpoint src = TinyFixtures.checkpoint();
        Path out = dir.resolve("out");
        BatchPruner.Result r;
        try (LlamaModel m = LlamaModel.load(src)) {
            r = prune(m, Method.WANDA);
            PrunedModelWriter.write(out, false, m, r, JSON.createObjectNode(), null);
        }
        Process p = new ProcessBuilder("python3", script.toString(),
                out.resolve(PrunedModelWriter.MASKS_SAFETENSORS_FILE).toString()).redirectErrorStream(false).start();
        byte[] stdout = p.getInputStream().readAllBytes();
        String stderr = new String(p.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(stderr).isZero();
        JsonNode read = JSON.readTree(stdout).get("tensors");
        assertThat(read).hasSize(r.masks().size());
        for (Map.Entry<ModuleKey, Mask> e : r.masks().entrySet()) {
            Mask mask = e.getValue();
            JsonNode t = read.get(e.getKey().kind().weightName(e.getKey().layer()));
            assertThat(t.get("shape").toString()).isEqualTo("[" + mask.rows() + "," + mask.cols() + "]");
            assertThat(t.get("pruned").asLong()).isEqualTo(mask.prunedCount());
            byte[] unpacked = new byte[(int) mask.numel()];
            for (int i = 0; i < unpacked.length; i++) {
                unpacked[i] = (byte) (mask.isPrunedIndex(i) ? 1 : 0);
            }
            assertThat(t.get("sha256").asText()).isEqualTo(java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(unpacked)));
        }
    }

    private static boolean pythonAvailable() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import json, struct, hashlib").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Mask halfMask(Checkpoint src, int layer, LinearKind kind) {
        long[] shape = src.tensor(kind.weightName(layer)).shape();
        Mask m = new Mask((int) shape[0], (int) shape[1]);
        for (long i = 0; i < m.numel(); i += 2) {
            m.pruneIndex(i);
        }
        return m;
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
