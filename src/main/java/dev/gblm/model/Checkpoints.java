package dev.gblm.model;

import dev.gblm.GblmException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads checkpoints: Hugging Face directories (config.json + safetensors, single or sharded) and
 * llama2.c v0 {@code .bin} files, and writes Hugging Face directories.
 *
 * <p>llama2.c rotates interleaved pairs (2i, 2i+1) of each head; Hugging Face rotates (i, i+d/2)
 * ({@code rotate_half}). The loader permutes the rows of wq and wk per head — even rows first, then
 * odd rows — so that the engine only ever implements the Hugging Face layout and a llama2.c model
 * exported to safetensors is a valid Hugging Face checkpoint.
 */
public final class Checkpoints {
    private Checkpoints() {}

    public static final String EMBED = "model.embed_tokens.weight";
    public static final String FINAL_NORM = "model.norm.weight";
    public static final String LM_HEAD = "lm_head.weight";

    public static String inputNorm(int layer) {
        return "model.layers." + layer + ".input_layernorm.weight";
    }

    public static String postAttentionNorm(int layer) {
        return "model.layers." + layer + ".post_attention_layernorm.weight";
    }

    /** Loads a HF directory, a llama2.c {@code .bin}, or a directory holding exactly one llama2.c model. */
    public static Checkpoint load(Path path) {
        if (!Files.exists(path)) {
            throw new GblmException("model not found: " + path);
        }
        if (Files.isDirectory(path)) {
            if (Files.exists(path.resolve("config.json"))) {
                return loadHf(path);
            }
            List<Path> bins = new ArrayList<>();
            try (Stream<Path> s = Files.list(path)) {
                s.filter(p -> p.getFileName().toString().endsWith(".bin") && isLlama2c(p)).sorted().forEach(bins::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            if (bins.size() != 1) {
                throw new GblmException("no model in " + path + ": expected config.json (Hugging Face) or one llama2.c .bin"
                        + (bins.size() > 1 ? " (found " + bins.size() + ")" : ""));
            }
            return loadLlama2c(bins.get(0));
        }
        String name = path.getFileName().toString();
        if (name.equals("config.json") || name.endsWith(".safetensors") || name.endsWith(".index.json")) {
            return loadHf(path.toAbsolutePath().getParent());
        }
        return loadLlama2c(path);
    }

    // ---------------------------------------------------------------- Hugging Face

    public static Checkpoint loadHf(Path dir) {
        return loadHf(dir, SafetensorsReader.MAX_WINDOW);
    }

    /**
     * A Hugging Face directory whose safetensors are mapped in windows of at most {@code maxWindowBytes} (see
     * {@link SafetensorsReader#read(Path, long)}; tests use tiny windows).
     */
    public static Checkpoint loadHf(Path dir, long maxWindowBytes) {
        LlamaConfig config = LlamaConfig.read(dir.resolve("config.json"));
        Map<String, TensorData> tensors;
        Path index = dir.resolve(SafetensorsWriter.INDEX_FILE);
        Path single = dir.resolve("model.safetensors");
        if (Files.exists(index)) {
            tensors = SafetensorsReader.readIndex(index, maxWindowBytes);
        } else if (Files.exists(single)) {
            tensors = SafetensorsReader.read(single, maxWindowBytes);
        } else {
            throw new GblmException("no model.safetensors or model.safetensors.index.json in " + dir
                    + " (PyTorch .bin checkpoints are not supported; convert to safetensors)");
        }
        Map<String, TensorData> ordered = new LinkedHashMap<>();
        for (String n : expectedNames(config)) {
            TensorData t = tensors.get(n);
            if (t == null) {
                throw new GblmException("checkpoint " + dir + " lacks tensor '" + n + "'");
            }
            ordered.put(n, t);
        }
        // keep any other tensors (e.g. a redundant lm_head of a tied model) so export preserves them
        tensors.forEach(ordered::putIfAbsent);
        validateShapes(config, ordered, dir);
        return new Checkpoint(config, ordered, dir, Checkpoint.Format.HF_SAFETENSORS);
    }

    /** Writes {@code config.json} and {@code model.safetensors} (tensors in checkpoint order). */
    public static void saveHf(Checkpoint ckpt, Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        ckpt.config().withTorchDtype(ckpt.weightDtype().torchName()).write(dir.resolve("config.json"));
        SafetensorsWriter.write(dir.resolve("model.safetensors"), ckpt.tensors().values());
    }

    /**
     * Writes {@code config.json} and the tensors sharded as Hugging Face does (shards of at most
     * {@code maxShardBytes} of tensor data plus {@code model.safetensors.index.json}; see
     * {@link SafetensorsWriter#writeSharded}). Returns the weight files written.
     */
    public static List<String> saveHfSharded(Checkpoint ckpt, Path dir, long maxShardBytes) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + e.getMessage(), e);
        }
        ckpt.config().withTorchDtype(ckpt.weightDtype().torchName()).write(dir.resolve("config.json"));
        return SafetensorsWriter.writeSharded(dir,
                ckpt.tensors().values().stream().map(SafetensorsWriter.Entry::of).toList(), maxShardBytes);
    }

    /** Tensor names a checkpoint of this config must have, in canonical order. */
    public static List<String> expectedNames(LlamaConfig c) {
        List<String> names = new ArrayList<>();
        names.add(EMBED);
        for (int l = 0; l < c.numLayers(); l++) {
            names.add(inputNorm(l));
            for (LinearKind k : LinearKind.values()) {
                names.add(k.weightName(l));
            }
            names.add(postAttentionNorm(l));
        }
        names.add(FINAL_NORM);
        if (!c.tieWordEmbeddings()) {
            names.add(LM_HEAD);
        }
        return names;
    }

    /** [out, in] of a linear module under this config. */
    public static long[] linearShape(LlamaConfig c, LinearKind k) {
        int d = c.hiddenSize();
        return switch (k) {
            case Q_PROJ -> new long[] {c.qDim(), d};
            case O_PROJ -> new long[] {d, c.qDim()};
            case K_PROJ, V_PROJ -> new long[] {c.kvDim(), d};
            case GATE_PROJ, UP_PROJ -> new long[] {c.intermediateSize(), d};
            case DOWN_PROJ -> new long[] {d, c.intermediateSize()};
        };
    }

    /** The shape of the tensor {@code name} (one of {@link #expectedNames}) under config {@code c}. */
    public static long[] expectedShape(LlamaConfig c, String name) {
        if (name.equals(EMBED) || name.equals(LM_HEAD)) {
            return new long[] {c.vocabSize(), c.hiddenSize()};
        }
        for (LinearKind k : LinearKind.values()) {
            // ".self_attn.q_proj.weight" etc.: the name without its layer prefix
            if (name.endsWith(k.weightName(0).substring("model.layers.0".length()))) {
                return linearShape(c, k);
            }
        }
        return new long[] {c.hiddenSize()};
    }

    private static void validateShapes(LlamaConfig c, Map<String, TensorData> t, Path src) {
        long v = c.vocabSize();
        long d = c.hiddenSize();
        check(t, EMBED, new long[] {v, d}, src);
        check(t, FINAL_NORM, new long[] {d}, src);
        if (!c.tieWordEmbeddings()) {
            check(t, LM_HEAD, new long[] {v, d}, src);
        }
        for (int l = 0; l < c.numLayers(); l++) {
            check(t, inputNorm(l), new long[] {d}, src);
            check(t, postAttentionNorm(l), new long[] {d}, src);
            for (LinearKind k : LinearKind.values()) {
                check(t, k.weightName(l), linearShape(c, k), src);
            }
        }
    }

    private static void check(Map<String, TensorData> t, String name, long[] shape, Path src) {
        if (!java.util.Arrays.equals(t.get(name).shape(), shape)) {
            throw new GblmException("tensor " + name + " in " + src + " has shape "
                    + java.util.Arrays.toString(t.get(name).shape()) + ", config says " + java.util.Arrays.toString(shape));
        }
    }

    // ---------------------------------------------------------------- llama2.c

    private record Llama2cHeader(int dim, int hidden, int layers, int heads, int kvHeads, int vocab, boolean shared,
            int seqLen) {
        long floats() {
            long kvDim = (long) dim / heads * kvHeads;
            long headSize = dim / heads;
            long n = (long) vocab * dim + (long) layers * (2L * dim + 2L * dim * dim + 2L * kvDim * dim
                    + 3L * dim * hidden) + dim + (long) seqLen * headSize;
            return shared ? n : n + (long) vocab * dim;
        }
    }

    private static Llama2cHeader readHeader(FileChannel ch) throws IOException {
        if (ch.size() < 28) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, b.position()) < 0) {
                return null;
            }
        }
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) {
            h[i] = b.getInt(4 * i);
        }
        int vocab = Math.abs(h[5]);
        if (h[0] <= 0 || h[1] <= 0 || h[2] <= 0 || h[3] <= 0 || h[4] <= 0 || vocab == 0 || h[6] <= 0
                || h[0] % h[3] != 0 || h[3] % h[4] != 0 || h[0] > 1 << 16 || h[1] > 1 << 18 || h[2] > 1024
                || vocab > 1 << 20 || h[6] > 1 << 20) {
            return null;
        }
        Llama2cHeader hd = new Llama2cHeader(h[0], h[1], h[2], h[3], h[4], vocab, h[5] > 0, h[6]);
        return 28 + 4 * hd.floats() == ch.size() ? hd : null;
    }

    private static boolean isLlama2c(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return readHeader(ch) != null;
        } catch (IOException e) {
            return false;
        }
    }

    public static Checkpoint loadLlama2c(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Llama2cHeader h = readHeader(ch);
            if (h == null) {
                throw new GblmException("not a model: " + file
                        + " is neither a Hugging Face directory nor a llama2.c v0 checkpoint (header/size mismatch)");
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
            map.order(ByteOrder.LITTLE_ENDIAN);
            LlamaConfig cfg = new LlamaConfig(h.dim, h.hidden, h.layers, h.heads, h.kvHeads, h.vocab, h.seqLen,
                    1e-5, 10000.0, h.shared, 1, 2, "float32");
            Cursor cur = new Cursor(map, 28);
            int d = h.dim;
            int kv = cfg.kvDim();
            int hd = cfg.headDim();
            int L = h.layers;
            TensorData embed = cur.take(EMBED, (long) h.vocab * d, h.vocab, d);
            TensorData[] rmsAtt = cur.perLayer(L, Checkpoints::inputNorm, d);
            TensorData[] wq = cur.perLayer(L, LinearKind.Q_PROJ::weightName, d, d);
            TensorData[] wk = cur.perLayer(L, LinearKind.K_PROJ::weightName, kv, d);
            TensorData[] wv = cur.perLayer(L, LinearKind.V_PROJ::weightName, kv, d);
            TensorData[] wo = cur.perLayer(L, LinearKind.O_PROJ::weightName, d, d);
            TensorData[] rmsFfn = cur.perLayer(L, Checkpoints::postAttentionNorm, d);
            TensorData[] w1 = cur.perLayer(L, LinearKind.GATE_PROJ::weightName, h.hidden, d);
            TensorData[] w2 = cur.perLayer(L, LinearKind.DOWN_PROJ::weightName, d, h.hidden);
            TensorData[] w3 = cur.perLayer(L, LinearKind.UP_PROJ::weightName, h.hidden, d);
            TensorData norm = cur.take(FINAL_NORM, d, d);
            cur.skip((long) h.seqLen * hd); // freq_cis_real and freq_cis_imag: recomputed from rope_theta
            TensorData wcls = h.shared ? null : cur.take(LM_HEAD, (long) h.vocab * d, h.vocab, d);

            Map<String, TensorData> m = new LinkedHashMap<>();
            m.put(EMBED, embed);
            for (int l = 0; l < L; l++) {
                m.put(rmsAtt[l].name(), rmsAtt[l]);
                m.put(wq[l].name(), interleavedToHalfRotation(wq[l], hd));
                m.put(wk[l].name(), interleavedToHalfRotation(wk[l], hd));
                m.put(wv[l].name(), wv[l]);
                m.put(wo[l].name(), wo[l]);
                m.put(w1[l].name(), w1[l]);
                m.put(w3[l].name(), w3[l]);
                m.put(w2[l].name(), w2[l]);
                m.put(rmsFfn[l].name(), rmsFfn[l]);
            }
            m.put(FINAL_NORM, norm);
            if (wcls != null) {
                m.put(LM_HEAD, wcls);
            }
            // canonical order (LinearKind order inside a layer)
            Map<String, TensorData> ordered = new LinkedHashMap<>();
            for (String n : expectedNames(cfg)) {
                ordered.put(n, m.get(n));
            }
            return new Checkpoint(cfg, ordered, file, Checkpoint.Format.LLAMA2C);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reorders the rows of a q/k projection [heads*hd, in] from llama2.c's interleaved rotary pairs to
     * Hugging Face's rotate_half layout: within each head, rows 0,2,4,... then rows 1,3,5,...
     */
    static TensorData interleavedToHalfRotation(TensorData w, int headDim) {
        long[] shape = w.shape();
        int rows = (int) shape[0];
        int cols = (int) shape[1];
        float[] src = w.toFloats();
        float[] dst = new float[src.length];
        int half = headDim / 2;
        for (int h = 0; h < rows / headDim; h++) {
            int base = h * headDim;
            for (int j = 0; j < half; j++) {
                System.arraycopy(src, (base + 2 * j) * cols, dst, (base + j) * cols, cols);
                System.arraycopy(src, (base + 2 * j + 1) * cols, dst, (base + half + j) * cols, cols);
            }
        }
        return TensorData.fromFloats(w.name(), DType.F32, shape, dst);
    }

    /** Sequential float32 reader over the mapped llama2.c file. */
    private static final class Cursor {
        private final MappedByteBuffer map;
        private long pos;

        Cursor(MappedByteBuffer map, long pos) {
            this.map = map;
            this.pos = pos;
        }

        TensorData take(String name, long count, long... shape) {
            ByteBuffer slice = map.duplicate().position((int) pos).limit((int) (pos + 4 * count)).slice();
            pos += 4 * count;
            return new TensorData(name, DType.F32, shape, slice);
        }

        TensorData[] perLayer(int layers, java.util.function.IntFunction<String> name, long... shape) {
            TensorData[] out = new TensorData[layers];
            long n = TensorData.numel(shape);
            for (int l = 0; l < layers; l++) {
                out[l] = take(name.apply(l), n, shape);
            }
            return out;
        }

        void skip(long floats) {
            pos += 4 * floats;
        }
    }
}
