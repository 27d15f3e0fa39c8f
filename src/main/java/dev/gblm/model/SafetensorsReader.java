package dev.gblm.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.GblmException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Reads safetensors files through read-only memory maps: tensors are slices of the map, nothing is
 * copied onto the Java heap. Supports a single file and sharded {@code model.safetensors.index.json}.
 */
public final class SafetensorsReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A header beyond this is certainly not a safetensors file (HF caps it at 100 MB). */
    private static final long MAX_HEADER = 100L << 20;

    private SafetensorsReader() {}

    /** Tensors of one {@code .safetensors} file, in header order. */
    public static Map<String, TensorData> read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new GblmException("not a safetensors file (too short): " + file);
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw new GblmException("not a safetensors file (bad header length " + headerLen + "): " + file);
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new GblmException("not a safetensors file (header is not JSON): " + file);
            }
            if (header == null || !header.isObject()) {
                throw new GblmException("not a safetensors file (header is not a JSON object): " + file);
            }
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            // The mapping stays valid after the channel is closed.
            MappedByteBuffer map = dataLen == 0 ? null : ch.map(FileChannel.MapMode.READ_ONLY, dataStart, dataLen);
            if (dataLen > Integer.MAX_VALUE) {
                throw new GblmException("safetensors shard over 2 GiB is not supported yet: " + file);
            }
            Map<String, TensorData> out = new LinkedHashMap<>();
            Iterator<Map.Entry<String, JsonNode>> it = header.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                DType dtype = DType.fromSafetensors(t.path("dtype").asText());
                JsonNode shapeNode = t.path("shape");
                long[] shape = new long[shapeNode.size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shapeNode.get(i).asLong();
                }
                long begin = t.path("data_offsets").path(0).asLong(-1);
                long end = t.path("data_offsets").path(1).asLong(-1);
                if (begin < 0 || end < begin || end > dataLen
                        || end - begin != TensorData.numel(shape) * dtype.bytes()) {
                    throw new GblmException("corrupt safetensors entry '" + e.getKey() + "' in " + file);
                }
                ByteBuffer slice = map == null ? ByteBuffer.allocate(0)
                        : map.duplicate().position((int) begin).limit((int) end).slice();
                out.put(e.getKey(), new TensorData(e.getKey(), dtype, shape, slice));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Tensors of a sharded checkpoint described by {@code model.safetensors.index.json}. */
    public static Map<String, TensorData> readIndex(Path indexFile) {
        JsonNode index;
        try {
            index = JSON.readTree(indexFile.toFile());
        } catch (IOException e) {
            throw new GblmException("cannot parse " + indexFile + ": " + e.getMessage());
        }
        JsonNode weightMap = index.path("weight_map");
        if (!weightMap.isObject()) {
            throw new GblmException("no weight_map in " + indexFile);
        }
        Set<String> shards = new LinkedHashSet<>();
        weightMap.fields().forEachRemaining(e -> shards.add(e.getValue().asText()));
        Map<String, TensorData> out = new LinkedHashMap<>();
        for (String shard : shards) {
            Path p = indexFile.resolveSibling(shard);
            if (!Files.exists(p)) {
                throw new GblmException("shard " + shard + " named in " + indexFile + " does not exist");
            }
            out.putAll(read(p));
        }
        return out;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
