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
import java.util.AbstractCollection;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
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
 *   <li>{@code config.json} and {@code model.safetensors}: a Hugging Face checkpoint with the source's tensor
 *       names, order and dtypes (llama2.c sources are float32). Masked weights are the source's stored bytes
 *       with pruned entries set to +0 — kept entries stay bit-identical — unless replaced weights are given
 *       (SparseGPT), which are encoded in the source dtype with pruned entries exactly 0. Every other tensor
 *       is the source's, bit for bit;
 *   <li>the tokenizer files of the source (or the {@code --tokenizer} override, under its canonical name), so
 *       {@code gblm eval/generate --model OUT} find it;
 *   <li>{@code masks.bin} ({@link MaskFile}) and {@code report.json} (the caller's report plus source
 *       fingerprint and achieved sparsity per module and overall);
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
    /** The completion marker, the last file written into the temporary directory before the rename. */
    public static final String COMPLETE_FILE = "_COMPLETE.json";
    private static final String COMPLETE_FORMAT = "gblm-complete/1";
    /** What {@link #write} itself produces; a marker that does not list them all was not written by this class. */
    private static final List<String> REQUIRED_FILES = List.of("config.json", "model.safetensors", MASKS_FILE, REPORT_FILE);
    private static final Pattern LEFTOVER = Pattern.compile(
            "\\..+\\.(tmp|old)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Tokenizer and generation files carried over from a source model directory. */
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer.model",
            "tokenizer_config.json", "special_tokens_map.json", "tokenizer.bin", "tok512.bin");
    private static final List<String> OTHER_FILES = List.of("generation_config.json");

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
            source.config().withTorchDtype(outputDtype(source).torchName()).write(tmp.resolve("config.json"));
            SafetensorsWriter.write(tmp.resolve("model.safetensors"), new PrunedTensors(source, masks, replaced));
            copyTokenizer(source, tokenizerOverride, tmp);
            List<MaskFile.Entry> entries = new ArrayList<>();
            masks.forEach((k, m) -> entries.add(new MaskFile.Entry(k.layer(), k.kind().shortName(), m)));
            MaskFile.write(tmp.resolve(MASKS_FILE), entries);
            addSourceAndSparsity(finalReport, source, masks);
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

    /** The output tensors, computed one at a time as the writer iterates (twice: header, then data). */
    private static final class PrunedTensors extends AbstractCollection<TensorData> {
        private final Checkpoint source;
        private final Map<String, ModuleKey> masked = new HashMap<>();
        private final Map<ModuleKey, Mask> masks;
        private final UpdatedWeights replaced;

        PrunedTensors(Checkpoint source, Map<ModuleKey, Mask> masks, UpdatedWeights replaced) {
            this.source = source;
            this.masks = masks;
            this.replaced = replaced;
            for (ModuleKey k : masks.keySet()) {
                masked.put(k.kind().weightName(k.layer()), k);
            }
        }

        @Override
        public Iterator<TensorData> iterator() {
            Iterator<TensorData> it = source.tensors().values().iterator();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public TensorData next() {
                    TensorData t = it.next();
                    ModuleKey key = masked.get(t.name());
                    return key == null ? t : pruned(t, masks.get(key), replaced.weight(key));
                }
            };
        }

        @Override
        public int size() {
            return source.tensors().size();
        }
    }

    /** A source weight with the mask applied: zeroed stored bytes, or the replaced values re-encoded. */
    static TensorData pruned(TensorData src, Mask mask, float[] replacement) {
        if (replacement != null) {
            float[] w = replacement.clone();
            mask.applyTo(w);
            return TensorData.fromFloats(src.name(), src.dtype(), src.shape(), w);
        }
        int width = src.dtype().bytes();
        byte[] bytes = new byte[(int) src.byteSize()];
        src.bytes().get(bytes);
        long n = mask.numel();
        for (long i = 0; i < n; i++) {
            if (mask.isPrunedIndex(i)) {
                int o = (int) (i * width);
                for (int b = 0; b < width; b++) {
                    bytes[o + b] = 0; // all-zero bits = +0.0 in F32, F16 and BF16
                }
            }
        }
        return new TensorData(src.name(), src.dtype(), src.shape(), ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN));
    }

    private static void copyTokenizer(Checkpoint source, Path override, Path dir) throws IOException {
        Path src = source.source();
        Path srcDir = src == null ? null : Files.isDirectory(src) ? src : src.toAbsolutePath().getParent();
        if (srcDir != null) {
            for (String name : OTHER_FILES) {
                copyIfPresent(srcDir.resolve(name), dir.resolve(name));
            }
        }
        if (override != null) {
            Files.copy(override, dir.resolve(canonicalTokenizerName(override)), StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        if (srcDir != null) {
            for (String name : TOKENIZER_FILES) {
                copyIfPresent(srcDir.resolve(name), dir.resolve(name));
            }
        }
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

    private static void copyIfPresent(Path from, Path to) throws IOException {
        if (Files.isRegularFile(from)) {
            Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
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
