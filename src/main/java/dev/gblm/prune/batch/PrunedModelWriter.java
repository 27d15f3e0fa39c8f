package dev.gblm.prune.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.DType;
import dev.gblm.model.LinearKind;
import dev.gblm.model.SafetensorsWriter;
import dev.gblm.model.TensorData;
import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Writes a pruned model's output directory:
 *
 * <ul>
 *   <li>{@code model.safetensors} (or, for a sharded source, shards of at most its largest weight file plus
 *       {@code model.safetensors.index.json}): a Hugging Face checkpoint with the source's tensor names, order and dtypes
 *       (llama2.c sources are float32). Masked weights are the source's stored bytes with pruned entries set to +0 —
 *       kept entries stay bit-identical — unless replaced weights are given (SparseGPT), which are encoded in the
 *       source dtype with pruned entries exactly 0. Every other tensor is the source's, bit for bit;
 *   <li>{@code config.json}: the source directory's own {@code config.json} with every key kept, or for llama2.c
 *       sources the generated one, plus the compressed-tensors sparsity metadata under {@code quantization_config}
 *       ({@link #outputConfig});
 *   <li>every non-weight file of a Hugging Face source directory (tokenizer files, {@code generation_config.json},
 *       chat templates, LICENSE, README, ...; {@link #copySourceFiles}), or the {@code --tokenizer} override under
 *       its canonical name, so {@code gblm eval/generate --model OUT} find it;
 *   <li>{@code masks.bin} ({@link MaskFile}), the same masks as {@code masks.safetensors} ({@link MaskSafetensors}:
 *       row-packed U8 tensors named after the weights), and {@code report.json} (the caller's report plus source
 *       fingerprint and copied files, achieved sparsity per module and overall, calibration hashes and versions,
 *       {@code Provenance});
 *   <li>{@code _COMPLETE.json}, written last: the size and CRC-32C of every other file, so a directory can be
 *       told complete and intact ({@link #incompleteReason}) rather than merely present.
 * </ul>
 *
 * Atomic and durable: everything is written into a temporary directory next to the target ({@code .<name>.tmp-<uuid>}),
 * every file and the temporary directory are fsynced, the directory is renamed into place and the parent is fsynced.
 * A crash leaves either no target (plus a temporary directory, {@link #isLeftover}) or a complete one. An existing
 * target is refused unless {@code force}; then it is swapped out by two renames and deleted, so a reader sees
 * either the old or the new directory whole (never a mix) except for the instant between the renames. Tensors are
 * produced one at a time, so the writer needs no in-memory model (streaming exporter).
 */
public final class PrunedModelWriter {
    public static final String MASKS_FILE = "masks.bin";
    public static final String REPORT_FILE = "report.json";
    /** The masks as a safetensors file of row-packed U8 tensors named after the weights ({@link MaskSafetensors}). */
    public static final String MASKS_SAFETENSORS_FILE = "masks.safetensors";
    public static final String CONFIG_FILE = "config.json";
    private static final String QUANTIZATION_CONFIG = "quantization_config";
    private static final String COMPRESSED_TENSORS = "compressed-tensors";
    /** The completion marker, the last file written into the temporary directory before the rename. */
    public static final String COMPLETE_FILE = "_COMPLETE.json";
    private static final String COMPLETE_FORMAT = "gblm-complete/1";
    /**
     * What {@link #write} has always produced; a marker that does not list them all was not written by this class.
     * {@link #MASKS_SAFETENSORS_FILE} and the copied source files are covered by the marker too, but not required, so
     * directories written before they existed stay complete.
     */
    private static final List<String> REQUIRED_FILES = List.of("config.json", MASKS_FILE, REPORT_FILE);
    private static final Pattern LEFTOVER = Pattern.compile(
            "\\..+\\.(tmp|old)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Tokenizer and generation files carried over from a source model directory. */
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer.model",
            "tokenizer_config.json", "special_tokens_map.json", "tokenizer.bin", "tok512.bin");
    private static final List<String> OTHER_FILES = List.of("generation_config.json");
    /** Files this writer produces itself; never copied from a source directory (e.g. when re-pruning an output). */
    private static final List<String> OWN_FILES = List.of(CONFIG_FILE, "model.safetensors", MASKS_FILE, MASKS_SAFETENSORS_FILE,
            REPORT_FILE, COMPLETE_FILE);
    private static final List<String> WEIGHT_EXTENSIONS = List.of(".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5",
            ".msgpack", ".gguf", ".onnx", ".index.json");

    /** Replaced weights of a module ([out, in] row-major float32), or null to keep the source's. */
    @FunctionalInterface
    public interface UpdatedWeights {
        UpdatedWeights NONE = key -> null;

        float[] weight(ModuleKey key);
    }

    private PrunedModelWriter() {}

    /**
     * Fails (with {@link GblmException}) when {@code out} cannot be the target: it is a file, or an existing
     * directory without {@code force}. Call before the expensive work so bad input writes nothing.
     */
    public static void checkTarget(Path out, boolean force) {
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(out)) {
            throw new GblmException("output path " + out + " is a file, not a directory");
        }
        if (Files.isDirectory(out) && !force) {
            throw new GblmException("output directory " + out + " already exists (use --force to replace it)");
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && Files.exists(parent) && !Files.isDirectory(parent)) {
            throw new GblmException("cannot create " + out + ": " + parent + " is a file");
        }
    }

    /** The batch pruner's entry point: masks from the result, SparseGPT's weights from the model. */
    public static ObjectNode write(Path out, boolean force, LlamaModel model, BatchPruner.Result result,
            ObjectNode report, Path tokenizerOverride) {
        UpdatedWeights weights = result.weightsUpdated()
                ? key -> model.weight(key.layer(), key.kind())
                : UpdatedWeights.NONE;
        return write(out, force, model.source(), result.masks(), weights, report, tokenizerOverride);
    }

    /** The general entry point (also for the streaming exporter, which has masks but no model). */
    public static ObjectNode write(Path out, boolean force, Checkpoint source, Map<ModuleKey, Mask> masks,
            UpdatedWeights replaced, ObjectNode report, Path tokenizerOverride) {
        checkTarget(out, force);
        validateMasks(source, masks);
        Path abs = out.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Path tmp = parent.resolve("." + abs.getFileName() + ".tmp-" + UUID.randomUUID());
        ObjectNode finalReport = report.deepCopy();
        try {
            createDirectoriesDurably(parent);
            Files.createDirectory(tmp);
            JSON.writeValue(tmp.resolve(CONFIG_FILE).toFile(), outputConfig(source, sparsityStructure(report), overallSparsity(masks)));
            SafetensorsWriter.writeSharded(tmp, prunedEntries(source, masks, replaced), shardBytes(source));
            List<String> copied = copySourceFiles(source, tokenizerOverride, tmp);
            List<MaskFile.Entry> entries = new ArrayList<>();
            masks.forEach((k, m) -> entries.add(new MaskFile.Entry(k.layer(), k.kind().shortName(), m)));
            MaskFile.write(tmp.resolve(MASKS_FILE), entries);
            MaskSafetensors.write(tmp.resolve(MASKS_SAFETENSORS_FILE), masksByWeightName(source, masks));
            addSourceAndSparsity(finalReport, source, masks);
            ArrayNode copiedNode = ((ObjectNode) finalReport.get("source")).putArray("copiedFiles");
            copied.forEach(copiedNode::add);
            Provenance.addCalibrationHashes(finalReport);
            if (!finalReport.has("versions")) {
                Provenance.versions(finalReport.putObject("versions"));
            }
            JSON.writeValue(tmp.resolve(REPORT_FILE).toFile(), finalReport);
            writeMarker(tmp);
            // before the rename: once the target name exists, its content must already be on disk
            syncTree(tmp);
            publish(tmp, abs, force);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        return finalReport;
    }

    /** Storage dtype of the output: the source's (llama2.c sources are float32 already). */
    static DType outputDtype(Checkpoint source) {
        return source.weightDtype();
    }

    private static void validateMasks(Checkpoint source, Map<ModuleKey, Mask> masks) {
        for (Map.Entry<ModuleKey, Mask> e : masks.entrySet()) {
            ModuleKey k = e.getKey();
            if (k.layer() >= source.config().numLayers()) {
                throw new IllegalArgumentException("mask for " + k + " but the model has " + source.config().numLayers() + " layers");
            }
            long[] shape = source.tensor(k.kind().weightName(k.layer())).shape();
            if (shape[0] != e.getValue().rows() || shape[1] != e.getValue().cols()) {
                throw new IllegalArgumentException("mask of " + k + " is " + e.getValue() + ", weight is "
                        + shape[0] + "x" + shape[1]);
            }
        }
    }

    /** Elements per piece when a masked weight is streamed: 8 Mi elements, at most 32 MiB on the heap. */
    static final int PIECE_ELEMENTS = 8 << 20;

    /**
     * The output tensors as writer entries: each tensor's bytes are produced only when the writer reaches them (the
     * header needs names, dtypes and shapes only), a masked weight a piece at a time, so writing needs no in-memory
     * model and a tensor over 2 GiB (several memory-map windows) streams like any other.
     */
    static List<SafetensorsWriter.Entry> prunedEntries(Checkpoint source, Map<ModuleKey, Mask> masks,
            UpdatedWeights replaced) {
        Map<String, ModuleKey> masked = new HashMap<>();
        for (ModuleKey k : masks.keySet()) {
            masked.put(k.kind().weightName(k.layer()), k);
        }
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (TensorData t : source.tensors().values()) {
            ModuleKey key = masked.get(t.name());
            entries.add(key == null ? SafetensorsWriter.Entry.of(t)
                    : new SafetensorsWriter.Entry(t.name(), t.dtype(), t.shape(),
                            () -> prunedData(t, masks.get(key), replaced.weight(key))));
        }
        return entries;
    }

    /**
     * Shard size of the output: a sharded source's largest weight file (so the output is sharded like the input),
     * or unlimited (one {@code model.safetensors}) for a single-file or in-memory source.
     */
    static long shardBytes(Checkpoint source) {
        Path dir = sourceDir(source);
        if (dir == null || source.format() != Checkpoint.Format.HF_SAFETENSORS
                || !Files.isRegularFile(dir.resolve(SafetensorsWriter.INDEX_FILE))) {
            return Long.MAX_VALUE;
        }
        long max = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.filter(f -> f.getFileName().toString().endsWith(".safetensors")).toList()) {
                max = Math.max(max, Files.size(f));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return max > 0 ? max : Long.MAX_VALUE;
    }

    /** A source weight with the mask applied: zeroed stored bytes, or the replaced values re-encoded. */
    static TensorData pruned(TensorData src, Mask mask, float[] replacement) {
        ByteBuffer all = ByteBuffer.allocate(Math.toIntExact(src.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        prunedData(src, mask, replacement).forEach(all::put);
        all.flip();
        return new TensorData(src.name(), src.dtype(), src.shape(), all);
    }

    /**
     * The bytes of a pruned weight, in order: with a replacement, its values masked and encoded in the source dtype;
     * otherwise the source's stored bytes with pruned entries set to +0 (all-zero bits in F32, F16 and BF16), read
     * and zeroed {@link #PIECE_ELEMENTS} at a time when iterated.
     */
    static Iterable<ByteBuffer> prunedData(TensorData src, Mask mask, float[] replacement) {
        if (replacement != null) {
            float[] w = replacement.clone();
            mask.applyTo(w);
            return TensorData.fromFloats(src.name(), src.dtype(), src.shape(), w).chunks();
        }
        int width = src.dtype().bytes();
        long n = src.numel();
        return () -> new Iterator<>() {
            private long next;

            @Override
            public boolean hasNext() {
                return next < n;
            }

            @Override
            public ByteBuffer next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                int count = (int) Math.min(PIECE_ELEMENTS, n - next);
                byte[] bytes = new byte[count * width];
                src.readBytes(next, count, ByteBuffer.wrap(bytes));
                for (int i = 0; i < count; i++) {
                    if (mask.isPrunedIndex(next + i)) {
                        java.util.Arrays.fill(bytes, i * width, (i + 1) * width, (byte) 0);
                    }
                }
                next += count;
                return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            }
        };
    }

    /**
     * Copies the source's non-weight files into {@code dir} and returns their names (sorted). A Hugging Face source:
     * every regular file at the top of its directory (symbolic links followed, as in a Hugging Face cache snapshot)
     * except {@code config.json} (rewritten by {@link #outputConfig}), weight files ({@link #isWeightFile}), hidden
     * files, the files this writer produces, and, with a tokenizer override, the source's tokenizer files;
     * subdirectories are not copied. A llama2.c source (whose directory may hold other models): only the tokenizer
     * files and {@code generation_config.json} next to it. A tokenizer override is copied under its canonical name.
     */
    static List<String> copySourceFiles(Checkpoint source, Path override, Path dir) throws IOException {
        Path srcDir = sourceDir(source);
        List<String> copied = new ArrayList<>();
        if (srcDir != null && source.format() == Checkpoint.Format.HF_SAFETENSORS && Files.isDirectory(srcDir)) {
            List<Path> files;
            try (Stream<Path> s = Files.list(srcDir)) {
                files = s.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (name.startsWith(".") || name.equals(CONFIG_FILE) || isWeightFile(name) || OWN_FILES.contains(name)
                        || (override != null && TOKENIZER_FILES.contains(name))) {
                    continue;
                }
                Files.copy(f, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                copied.add(name);
            }
        } else if (srcDir != null) {
            for (String name : OTHER_FILES) {
                if (copyIfPresent(srcDir.resolve(name), dir.resolve(name))) {
                    copied.add(name);
                }
            }
            if (override == null) {
                for (String name : TOKENIZER_FILES) {
                    if (copyIfPresent(srcDir.resolve(name), dir.resolve(name))) {
                        copied.add(name);
                    }
                }
            }
        }
        if (override != null) {
            String name = canonicalTokenizerName(override);
            Files.copy(override, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
            copied.add(name);
        }
        copied.sort(null);
        return copied;
    }

    /**
     * True for the names of weight files, which are never copied from the source: {@code *.safetensors}, {@code *.bin}
     * (except the llama2.c tokenizer names {@code tokenizer.bin}, {@code tok512.bin}), {@code *.pt}, {@code *.pth},
     * {@code *.ckpt}, {@code *.h5}, {@code *.msgpack}, {@code *.gguf}, {@code *.onnx} and index files
     * ({@code *.index.json}).
     */
    static boolean isWeightFile(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        if (TOKENIZER_FILES.contains(name)) {
            return false;
        }
        for (String ext : WEIGHT_EXTENSIONS) {
            if (n.endsWith(ext)) {
                return true;
            }
        }
        return false;
    }

    private static Path sourceDir(Checkpoint source) {
        Path src = source.source();
        if (src == null) {
            return null;
        }
        return Files.isDirectory(src) ? src : src.toAbsolutePath().getParent();
    }

    /**
     * The output {@code config.json}: the source's own {@code config.json}, every key and value as it was (unknown
     * keys, {@code eos_token_id} lists, ...), when the source is a Hugging Face directory whose {@code config.json}
     * describes the checkpoint being written; otherwise (llama2.c, an in-memory checkpoint) the config generated from
     * {@link dev.gblm.model.LlamaConfig} with the output dtype. Either way {@code quantization_config} is set to the
     * compressed-tensors sparsity metadata ({@link #sparsityMetadata}); an existing compressed-tensors
     * {@code quantization_config} keeps its other keys, any other one is replaced.
     */
    static ObjectNode outputConfig(Checkpoint source, String structure, double globalSparsity) {
        ObjectNode config = sourceConfigJson(source);
        if (config == null) {
            config = source.config().withTorchDtype(outputDtype(source).torchName()).toJson();
        }
        JsonNode existing = config.get(QUANTIZATION_CONFIG);
        ObjectNode q = existing instanceof ObjectNode o && COMPRESSED_TENSORS.equals(o.path("quant_method").asText())
                ? o : JSON.createObjectNode();
        q.put("quant_method", COMPRESSED_TENSORS);
        q.set("sparsity_config", sparsityMetadata(structure, globalSparsity));
        config.set(QUANTIZATION_CONFIG, q);
        return config;
    }

    /**
     * The compressed-tensors {@code sparsity_config}: {@code format} "dense" (weights are stored uncompressed, zeros
     * included), {@code sparsity_structure} ("unstructured", "2:4", "4:8"), {@code global_sparsity} (the achieved
     * fraction of pruned entries over the pruned linear weights, as {@code report.json} {@code sparsity.overall}),
     * {@code targets} ["Linear"], {@code ignore} ["lm_head"].
     */
    static ObjectNode sparsityMetadata(String structure, double globalSparsity) {
        ObjectNode s = JSON.createObjectNode();
        s.put("format", "dense");
        s.put("sparsity_structure", structure);
        s.put("global_sparsity", globalSparsity);
        s.putArray("targets").add("Linear");
        s.putArray("ignore").add("lm_head");
        return s;
    }

    /** The source directory's config.json as a tree, or null when there is none or it is not this checkpoint's. */
    private static ObjectNode sourceConfigJson(Checkpoint source) {
        if (source.format() != Checkpoint.Format.HF_SAFETENSORS) {
            return null;
        }
        Path dir = sourceDir(source);
        Path file = dir == null ? null : dir.resolve(CONFIG_FILE);
        if (file == null || !Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (!(n instanceof ObjectNode o)) {
                return null;
            }
            // the file must describe the checkpoint being written (an in-memory checkpoint may name any directory)
            String any = DType.F32.torchName();
            if (!dev.gblm.model.LlamaConfig.fromJson(o).withTorchDtype(any).equals(source.config().withTorchDtype(any))) {
                return null;
            }
            return o;
        } catch (IOException | GblmException e) {
            return null;
        }
    }

    /** The pattern of the report's options ("unstructured" when the report has none). */
    private static String sparsityStructure(ObjectNode report) {
        JsonNode p = report.path("options").path("pattern");
        return p.isTextual() && !p.asText().isEmpty() ? p.asText() : "unstructured";
    }

    private static double overallSparsity(Map<ModuleKey, Mask> masks) {
        return Mask.overallSparsity(masks.values());
    }

    /** The masks under their weights' names, in the source's tensor order. */
    private static Map<String, Mask> masksByWeightName(Checkpoint source, Map<ModuleKey, Mask> masks) {
        Map<String, Mask> byName = new HashMap<>();
        masks.forEach((k, m) -> byName.put(k.kind().weightName(k.layer()), m));
        Map<String, Mask> ordered = new LinkedHashMap<>();
        for (String name : source.tensors().keySet()) {
            Mask m = byName.get(name);
            if (m != null) {
                ordered.put(name, m);
            }
        }
        return ordered;
    }

    /** The name under which a tokenizer file is found again in a model directory. */
    static String canonicalTokenizerName(Path tokenizer) {
        String name = tokenizer.getFileName().toString();
        if (name.endsWith(".bin")) {
            return "tokenizer.bin";
        }
        if (name.endsWith(".model")) {
            return "tokenizer.model";
        }
        if (name.endsWith(".json")) {
            return "tokenizer.json";
        }
        return name;
    }

    private static boolean copyIfPresent(Path from, Path to) throws IOException {
        if (Files.isRegularFile(from)) {
            Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
            return true;
        }
        return false;
    }

    private static void addSourceAndSparsity(ObjectNode report, Checkpoint source, Map<ModuleKey, Mask> masks) {
        ObjectNode src = report.putObject("source");
        src.put("path", String.valueOf(source.source()));
        src.put("format", source.format().name());
        src.put("dtype", source.weightDtype().safetensorsName());
        src.put("fingerprint", source.fingerprint());
        ObjectNode sp = report.putObject("sparsity");
        ObjectNode modules = JSON.createObjectNode();
        long pruned = 0;
        long total = 0;
        for (Map.Entry<ModuleKey, Mask> e : masks.entrySet()) {
            Mask m = e.getValue();
            long p = m.prunedCount();
            pruned += p;
            total += m.numel();
            ObjectNode o = modules.putObject("layers." + e.getKey().layer() + "." + e.getKey().kind().shortName());
            o.put("pruned", p);
            o.put("numel", m.numel());
            o.put("sparsity", m.sparsity());
        }
        sp.put("overall", total == 0 ? 0 : (double) pruned / total);
        sp.put("pruned", pruned);
        sp.put("numel", total);
        sp.put("prunableModules", LinearKind.values().length * source.config().numLayers());
        sp.set("modules", modules);
    }

    private static void publish(Path tmp, Path out, boolean force) throws IOException {
        if (Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
            if (!force || !Files.isDirectory(out)) {
                throw new GblmException("output directory " + out + " already exists (use --force to replace it)");
            }
            Path old = out.resolveSibling("." + out.getFileName() + ".old-" + UUID.randomUUID());
            move(out, old);
            try {
                move(tmp, out);
            } catch (IOException e) {
                move(old, out); // put the previous output back
                throw e;
            }
            syncDirectory(out.getParent());
            deleteQuietly(old);
        } else {
            move(tmp, out);
            syncDirectory(out.getParent());
        }
    }

    /**
     * Null when {@code dir} holds a completion marker that lists at least the files this writer produces and
     * every listed file has the recorded size and CRC-32C; otherwise why not (no marker, a truncated file, ...).
     * Reads every listed file.
     */
    public static String incompleteReason(Path dir) {
        Path marker = dir.resolve(COMPLETE_FILE);
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return dir + " is not a directory";
        }
        if (!Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
            return "no " + COMPLETE_FILE + " in " + dir;
        }
        JsonNode m;
        try {
            m = JSON.readTree(marker.toFile());
        } catch (IOException e) {
            return "unreadable " + COMPLETE_FILE + " in " + dir + ": " + e.getMessage();
        }
        if (m == null || !COMPLETE_FORMAT.equals(m.path("format").asText()) || !m.path("files").isArray()) {
            return "unknown " + COMPLETE_FILE + " format in " + dir;
        }
        List<String> listed = new ArrayList<>();
        for (JsonNode f : m.get("files")) {
            String name = f.path("name").asText("");
            // the marker names files inside this directory only, never a path elsewhere
            if (name.isEmpty() || name.startsWith(".") || name.contains("/") || name.contains("\\")) {
                return COMPLETE_FILE + " in " + dir + " lists a bad file name '" + name + "'";
            }
            Path p = dir.resolve(name);
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return name + " is missing from " + dir;
            }
            try {
                long size = Files.size(p);
                if (size != f.path("bytes").asLong(-1)) {
                    return name + " in " + dir + " has " + size + " bytes, " + COMPLETE_FILE + " says " + f.path("bytes").asText();
                }
                if (!crc32c(p).equals(f.path("crc32c").asText())) {
                    return name + " in " + dir + " does not match its CRC-32C in " + COMPLETE_FILE;
                }
            } catch (IOException e) {
                return "cannot read " + p + ": " + e.getMessage();
            }
            listed.add(name);
        }
        for (String required : REQUIRED_FILES) {
            if (!listed.contains(required)) {
                return COMPLETE_FILE + " in " + dir + " does not list " + required;
            }
        }
        if (!listed.contains("model.safetensors") && !listed.contains(SafetensorsWriter.INDEX_FILE)) {
            return COMPLETE_FILE + " in " + dir + " lists neither model.safetensors nor " + SafetensorsWriter.INDEX_FILE;
        }
        return null;
    }

    /**
     * True for what a killed {@link #write} leaves next to its target: the temporary directory, or the previous
     * output moved aside by a forced replace.
     */
    public static boolean isLeftover(Path p) {
        return LEFTOVER.matcher(p.getFileName().toString()).matches();
    }

    private static void writeMarker(Path dir) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format", COMPLETE_FORMAT);
        ArrayNode files = m.putArray("files");
        List<Path> all;
        try (Stream<Path> s = Files.list(dir)) {
            all = s.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().toList();
        }
        for (Path p : all) {
            files.addObject().put("name", p.getFileName().toString()).put("bytes", Files.size(p)).put("crc32c", crc32c(p));
        }
        JSON.writeValue(dir.resolve(COMPLETE_FILE).toFile(), m);
    }

    private static String crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            while (c.read(buf) >= 0) {
                buf.flip();
                crc.update(buf);
                buf.clear();
            }
        }
        return String.format("%08x", crc.getValue());
    }

    /** fsync every regular file of {@code dir}, then {@code dir} itself. */
    private static void syncTree(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            for (Path f : s.toList()) {
                if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    syncFile(f);
                }
            }
        }
        syncDirectory(dir);
    }

    private static void syncFile(Path f) throws IOException {
        try (FileChannel c = openForSync(f)) {
            c.force(true);
        }
    }

    private static FileChannel openForSync(Path f) throws IOException {
        try {
            return FileChannel.open(f, StandardOpenOption.WRITE);
        } catch (AccessDeniedException e) {
            // a copied read-only tokenizer keeps its mode; POSIX fsync works on a read-only descriptor too
            return FileChannel.open(f, StandardOpenOption.READ);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel c = FileChannel.open(dir, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException ignored) {
            // some platforms and file systems cannot sync a directory; the files themselves are synced
        }
    }

    /** Creates {@code dir} and its missing ancestors, fsyncing the directory that gained each new entry. */
    private static void createDirectoriesDurably(Path dir) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
            missing.add(p);
        }
        Files.createDirectories(dir);
        for (Path p : missing) {
            if (p.getParent() != null) {
                syncDirectory(p.getParent());
            }
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    static void deleteQuietly(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a leftover temp directory is harmless and named as such
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
