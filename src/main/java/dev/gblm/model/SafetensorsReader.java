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
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads safetensors files through read-only memory maps: tensors are slices of the maps, nothing is
 * copied onto the Java heap. Supports a single file and sharded {@code model.safetensors.index.json}, of any size.
 *
 * <p>One {@link MappedByteBuffer} holds at most 2 GiB, so the data section is mapped in windows: consecutive
 * tensors share a window while they fit in {@link #MAX_WINDOW} bytes; a tensor larger than a window is mapped as
 * several pieces of whole elements and becomes a multi-chunk {@link TensorData}. Every tensor under 2 GiB is
 * therefore one chunk.
 *
 * <p>The header is validated before any tensor is handed out: every tensor's {@code data_offsets} must lie inside
 * the data section and match its dtype and shape, and no two tensors may share a byte (one would silently alias
 * the other's weights).
 */
public final class SafetensorsReader {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A header beyond this is certainly not a safetensors file (HF caps it at 100 MB). */
    private static final long MAX_HEADER = 100L << 20;

    /** The largest single mapping: the most a {@link ByteBuffer} can hold, rounded down to whole 8-byte words. */
    public static final long MAX_WINDOW = Integer.MAX_VALUE & ~7L;

    private SafetensorsReader() {}

    /** Tensors of one {@code .safetensors} file, in header order. */
    public static Map<String, TensorData> read(Path file) {
        return read(file, MAX_WINDOW);
    }

    /**
     * Tensors of one {@code .safetensors} file, in header order, mapped in windows of at most {@code maxWindowBytes}
     * (at least 8, at most {@link #MAX_WINDOW}); tests pass tiny windows so that small files exercise several
     * windows and tensors split over several mappings.
     */
    public static Map<String, TensorData> read(Path file, long maxWindowBytes) {
        if (maxWindowBytes < 8 || maxWindowBytes > MAX_WINDOW) {
            throw new IllegalArgumentException("window of " + maxWindowBytes + " bytes outside [8, " + MAX_WINDOW + "]");
        }
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
            List<Extent> extents = new ArrayList<>();
            Map<String, Entry> entries = new LinkedHashMap<>();
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
                Extent x = new Extent(e.getKey(), begin, end);
                extents.add(x);
                entries.put(e.getKey(), new Entry(x, dtype, shape));
            }
            requireDisjoint(extents, file);
            Map<String, List<ByteBuffer>> bytes = mapWindows(ch, dataStart, entries.values(), maxWindowBytes);
            Map<String, TensorData> out = new LinkedHashMap<>();
            for (Entry en : entries.values()) {
                String name = en.extent().name();
                out.put(name, new TensorData(name, en.dtype(), en.shape(), bytes.get(name)));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** A validated header entry. */
    private record Entry(Extent extent, DType dtype, long[] shape) {}

    /**
     * Maps the tensors' bytes: consecutive tensors (by offset) share a window while the window spans at most
     * {@code window} bytes; a larger tensor is mapped alone, in pieces of whole elements. Mappings stay valid after
     * the channel is closed.
     */
    private static Map<String, List<ByteBuffer>> mapWindows(FileChannel ch, long dataStart, Collection<Entry> entries,
            long window) throws IOException {
        Map<String, List<ByteBuffer>> out = new LinkedHashMap<>();
        List<Entry> sorted = new ArrayList<>();
        for (Entry e : entries) {
            if (e.extent().end() == e.extent().begin()) {
                out.put(e.extent().name(), List.of(ByteBuffer.allocate(0)));
            } else {
                sorted.add(e);
            }
        }
        sorted.sort(Comparator.comparingLong(e -> e.extent().begin()));
        int i = 0;
        while (i < sorted.size()) {
            Extent first = sorted.get(i).extent();
            if (first.end() - first.begin() > window) {
                long piece = window / sorted.get(i).dtype().bytes() * sorted.get(i).dtype().bytes();
                List<ByteBuffer> pieces = new ArrayList<>();
                for (long p = first.begin(); p < first.end(); p += piece) {
                    long len = Math.min(piece, first.end() - p);
                    pieces.add(ch.map(FileChannel.MapMode.READ_ONLY, dataStart + p, len));
                }
                out.put(first.name(), pieces);
                i++;
                continue;
            }
            int j = i + 1;
            long windowEnd = first.end();
            while (j < sorted.size() && sorted.get(j).extent().end() - first.begin() <= window) {
                windowEnd = Math.max(windowEnd, sorted.get(j).extent().end());
                j++;
            }
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, dataStart + first.begin(),
                    windowEnd - first.begin());
            for (int k = i; k < j; k++) {
                Extent x = sorted.get(k).extent();
                out.put(x.name(), List.of(map.duplicate().position((int) (x.begin() - first.begin()))
                        .limit((int) (x.end() - first.begin())).slice()));
            }
            i = j;
        }
        return out;
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
        return readIndex(indexFile, MAX_WINDOW);
    }

    /** As {@link #readIndex(Path)}, each shard mapped in windows of at most {@code maxWindowBytes}. */
    public static Map<String, TensorData> readIndex(Path indexFile, long maxWindowBytes) {
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
            out.putAll(read(p, maxWindowBytes));
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
