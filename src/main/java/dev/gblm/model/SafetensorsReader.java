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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads safetensors files through read-only memory maps: tensors are slices of the map, nothing is
 * copied onto the Java heap. Supports a single file and sharded {@code model.safetensors.index.json}.
 *
 * <p>The header is validated before any tensor is handed out: every tensor's {@code data_offsets} must lie inside
 * the data section and match its dtype and shape, and no two tensors may share a byte (one would silently alias
 * the other's weights).
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
            List<Extent> extents = new ArrayList<>();
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
                JsonNode offsets = t.path("data_offsets");
                long begin = offsets.path(0).isIntegralNumber() ? offsets.path(0).asLong() : -1;
                long end = offsets.path(1).isIntegralNumber() ? offsets.path(1).asLong() : -1;
                if (offsets.size() != 2 || begin < 0 || end < begin) {
                    throw new GblmException("corrupt safetensors entry '" + e.getKey() + "' in " + file
                            + ": data_offsets " + offsets + " is not a range [begin, end]");
                }
                if (end > dataLen) {
                    throw new GblmException("corrupt safetensors entry '" + e.getKey() + "' in " + file
                            + ": data_offsets [" + begin + ", " + end + ") reach past the data section of " + dataLen
                            + " bytes");
                }
                if (end - begin != TensorData.numel(shape) * dtype.bytes()) {
                    throw new GblmException("corrupt safetensors entry '" + e.getKey() + "' in " + file
                            + ": data_offsets [" + begin + ", " + end + ") hold " + (end - begin) + " bytes, its "
                            + dtype + " shape " + Arrays.toString(shape) + " needs "
                            + TensorData.numel(shape) * dtype.bytes());
                }
                extents.add(new Extent(e.getKey(), begin, end));
                ByteBuffer slice = map == null ? ByteBuffer.allocate(0)
                        : map.duplicate().position((int) begin).limit((int) end).slice();
                out.put(e.getKey(), new TensorData(e.getKey(), dtype, shape, slice));
            }
            requireDisjoint(extents, file);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Where one tensor's bytes are in the data section: {@code [begin, end)}. */
    private record Extent(String name, long begin, long end) {
        @Override
        public String toString() {
            return "'" + name + "' [" + begin + ", " + end + ")";
        }
    }

    /** Refuses two tensors that share a byte, naming both (empty tensors occupy nothing and never overlap). */
    private static void requireDisjoint(List<Extent> extents, Path file) {
        List<Extent> sorted = new ArrayList<>(extents.stream().filter(x -> x.end() > x.begin()).toList());
        sorted.sort(Comparator.comparingLong(Extent::begin).thenComparingLong(Extent::end));
        Extent reach = null; // the tensor reaching furthest so far
        for (Extent x : sorted) {
            if (reach != null && x.begin() < reach.end()) {
                throw new GblmException("corrupt safetensors file " + file + ": tensors " + reach + " and " + x
                        + " overlap (data_offsets must not share bytes)");
            }
            if (reach == null || x.end() > reach.end()) {
                reach = x;
            }
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
