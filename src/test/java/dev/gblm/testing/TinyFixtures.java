package dev.gblm.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The independent torch reference fixtures of {@code src/test/resources/fixtures/tiny} (see
 * tools/reference/README.md): the tiny model, token data and raw safetensors tensors (any dtype, U8 included).
 */
public final class TinyFixtures {
    public static final Path DIR = Path.of("src/test/resources/fixtures/tiny");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A raw tensor: safetensors dtype name, shape, little-endian bytes. */
    public record Raw(String dtype, long[] shape, byte[] bytes) {
        public float[] floats() {
            if (!dtype.equals("F32")) {
                throw new IllegalStateException("not F32: " + dtype);
            }
            float[] f = new float[bytes.length / 4];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        }
    }

    private TinyFixtures() {}

    public static Path modelDir() {
        return DIR.resolve("model");
    }

    public static Checkpoint checkpoint() {
        return Checkpoints.load(modelDir());
    }

    public static JsonNode json() {
        try {
            return JSON.readTree(DIR.resolve("fixtures.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<int[]> sequences(JsonNode json, String field) {
        List<int[]> out = new ArrayList<>();
        for (JsonNode seq : json.get(field)) {
            int[] ids = new int[seq.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = seq.get(i).asInt();
            }
            out.add(ids);
        }
        return out;
    }

    /** Every tensor of a fixture safetensors file, by name. */
    public static Map<String, Raw> tensors(String file) {
        try {
            byte[] all = Files.readAllBytes(DIR.resolve(file));
            ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
            int headerLen = (int) b.getLong(0);
            JsonNode header = JSON.readTree(new String(all, 8, headerLen, StandardCharsets.UTF_8));
            int base = 8 + headerLen;
            Map<String, Raw> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.get("shape").get(i).asLong();
                }
                int from = base + t.get("data_offsets").get(0).asInt();
                int to = base + t.get("data_offsets").get(1).asInt();
                byte[] bytes = new byte[to - from];
                System.arraycopy(all, from, bytes, 0, bytes.length);
                out.put(e.getKey(), new Raw(t.get("dtype").asText(), shape, bytes));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A golden mask: U8 rows of ceil(in/8) bytes, bit j%8 of byte j/8 = column j, 1 = pruned. */
    public static boolean[][] unpackMask(Raw raw, int in) {
        int rows = (int) raw.shape()[0];
        int rowBytes = (int) raw.shape()[1];
        boolean[][] m = new boolean[rows][in];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < in; j++) {
                m[r][j] = ((raw.bytes()[r * rowBytes + j / 8] >> (j % 8)) & 1) == 1;
            }
        }
        return m;
    }
}
