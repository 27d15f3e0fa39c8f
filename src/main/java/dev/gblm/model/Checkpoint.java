package dev.gblm.model;

import dev.gblm.GblmException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model as stored: its config and its tensors under Hugging Face names, in a stable order
 * (tensors keep their stored dtype; q/k of llama2.c sources are already permuted to the HF layout).
 */
public final class Checkpoint {
    /** Where a checkpoint came from. */
    public enum Format {
        HF_SAFETENSORS,
        LLAMA2C
    }

    private final LlamaConfig config;
    private final Map<String, TensorData> tensors;
    private final Path source;
    private final Format format;
    private volatile String fingerprint;

    public Checkpoint(LlamaConfig config, Map<String, TensorData> tensors, Path source, Format format) {
        this.config = config;
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.source = source;
        this.format = format;
    }

    public LlamaConfig config() {
        return config;
    }

    /** HF name to tensor, in stored order. */
    public Map<String, TensorData> tensors() {
        return tensors;
    }

    public TensorData tensor(String name) {
        TensorData t = tensors.get(name);
        if (t == null) {
            throw new GblmException("checkpoint " + source + " has no tensor '" + name + "'");
        }
        return t;
    }

    public Path source() {
        return source;
    }

    public Format format() {
        return format;
    }

    /** Storage dtype of the prunable weights (that of layer 0's q_proj). */
    public DType weightDtype() {
        return tensor(LinearKind.Q_PROJ.weightName(0)).dtype();
    }

    /** The same checkpoint with some tensors replaced (same names, any dtype). */
    public Checkpoint withTensors(Map<String, TensorData> replacements) {
        Map<String, TensorData> m = new LinkedHashMap<>(tensors);
        for (Map.Entry<String, TensorData> e : replacements.entrySet()) {
            if (!m.containsKey(e.getKey())) {
                throw new IllegalArgumentException("no tensor " + e.getKey() + " to replace");
            }
            m.put(e.getKey(), e.getValue());
        }
        return new Checkpoint(config, m, source, format);
    }

    /**
     * SHA-256 (hex) over the config JSON and every tensor's name, dtype, shape and bytes, in order.
     * Stable across runs and machines; identifies a statistics profile's model.
     */
    public String fingerprint() {
        String f = fingerprint;
        if (f == null) {
            try {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                md.update(config.toJsonString().getBytes(StandardCharsets.UTF_8));
                for (TensorData t : tensors.values()) {
                    md.update(t.name().getBytes(StandardCharsets.UTF_8));
                    md.update((byte) 0);
                    md.update(t.dtype().safetensorsName().getBytes(StandardCharsets.UTF_8));
                    ByteBuffer shape = ByteBuffer.allocate(8 * t.shape().length);
                    for (long d : t.shape()) {
                        shape.putLong(d);
                    }
                    md.update(shape.flip());
                    for (ByteBuffer chunk : t.chunks()) {
                        md.update(chunk);
                    }
                }
                f = HexFormat.of().formatHex(md.digest());
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            fingerprint = f;
        }
        return f;
    }

    @Override
    public String toString() {
        return "Checkpoint[" + source + ", " + format + ", " + tensors.size() + " tensors]";
    }
}
