package dev.gblm.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.function.Supplier;

/**
 * Writes the Hugging Face safetensors layout: 8-byte little-endian header length, a JSON header
 * ({@code __metadata__: {"format": "pt"}}, then per tensor dtype, shape, data_offsets) padded with
 * spaces to a multiple of 8, then the tensor bytes in the given order, each in its own dtype.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The sharded checkpoint's index, next to its shards. */
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private SafetensorsWriter() {}

    /**
     * One tensor to write: its header entry now, its bytes (little-endian, in order) only when the writer reaches
     * it, so a generated or re-encoded model never needs to be in memory at once.
     */
    public record Entry(String name, DType dtype, long[] shape, Supplier<Iterable<ByteBuffer>> data) {
        public long byteSize() {
            return TensorData.numel(shape) * dtype.bytes();
        }

        public static Entry of(TensorData t) {
            return new Entry(t.name(), t.dtype(), t.shape(), t::chunks);
        }
    }

    /**
     * Writes {@code tensors} to one file. The collection is iterated twice (header, then data) and each tensor's
     * bytes are taken only when written, so a lazy collection keeps one tensor in memory at a time.
     */
    public static void write(Path file, Collection<TensorData> tensors) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (TensorData t : tensors) {
            offset = putEntry(header, t.name(), t.dtype(), t.shape(), offset, t.byteSize());
        }
        writeFile(file, json(header), () -> tensors.stream().flatMap(t -> t.chunks().stream()).iterator());
    }

    /** Writes {@code entries} to one file, pulling each entry's bytes only when it is written. */
    public static void writeEntries(Path file, List<Entry> entries) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Entry e : entries) {
            offset = putEntry(header, e.name(), e.dtype(), e.shape(), offset, e.byteSize());
        }
        // chained by hand: an entry's buffers may be generated one at a time and must not be collected
        writeFile(file, json(header), () -> new Iterator<>() {
            private final Iterator<Entry> outer = entries.iterator();
            private Iterator<ByteBuffer> inner = Collections.emptyIterator();

            @Override
            public boolean hasNext() {
                while (!inner.hasNext() && outer.hasNext()) {
                    inner = outer.next().data().get().iterator();
                }
                return inner.hasNext();
            }

            @Override
            public ByteBuffer next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return inner.next();
            }
        });
    }

    /**
     * Writes {@code entries} into {@code dir} the way Hugging Face shards a checkpoint: consecutive entries are
     * packed into {@code model-0000i-of-0000n.safetensors} files of at most {@code maxShardBytes} of tensor data (a
     * larger tensor gets a shard of its own) plus {@value #INDEX_FILE} ({@code metadata.total_size},
     * {@code weight_map}); a model that fits one shard is written as plain {@code model.safetensors}. Returns the
     * file names written.
     */
    public static List<String> writeSharded(Path dir, List<Entry> entries, long maxShardBytes) {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("shard size must be positive: " + maxShardBytes);
        }
        List<List<Entry>> shards = new ArrayList<>();
        long inShard = 0;
        long total = 0;
        for (Entry e : entries) {
            if (shards.isEmpty() || (inShard > 0 && inShard + e.byteSize() > maxShardBytes)) {
                shards.add(new ArrayList<>());
                inShard = 0;
            }
            shards.get(shards.size() - 1).add(e);
            inShard += e.byteSize();
            total += e.byteSize();
        }
        if (shards.size() <= 1) {
            writeEntries(dir.resolve("model.safetensors"), entries);
            return List.of("model.safetensors");
        }
        List<String> names = new ArrayList<>();
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", total);
        ObjectNode weightMap = index.putObject("weight_map");
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            writeEntries(dir.resolve(name), shards.get(i));
            shards.get(i).forEach(e -> weightMap.put(e.name(), name));
            names.add(name);
        }
        try {
            Files.write(dir.resolve(INDEX_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(index));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(INDEX_FILE) + ": " + e.getMessage(), e);
        }
        names.add(INDEX_FILE);
        return names;
    }

    private static long putEntry(ObjectNode header, String name, DType dtype, long[] dims, long offset, long bytes) {
        ObjectNode n = header.putObject(name);
        n.put("dtype", dtype.safetensorsName());
        ArrayNode shape = n.putArray("shape");
        for (long d : dims) {
            shape.add(d);
        }
        ArrayNode off = n.putArray("data_offsets");
        off.add(offset);
        off.add(offset + bytes);
        return offset + bytes;
    }

    private static byte[] json(ObjectNode header) {
        try {
            return JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Writes a safetensors file from its JSON header and the tensors' bytes in header order: the 8-byte header
     * length, the header padded with spaces to a multiple of 8 (so tensor data stays aligned), then the data. The
     * data is pulled one buffer at a time, so a caller can produce it lazily.
     */
    public static void writeFile(Path file, byte[] headerJson, Iterable<ByteBuffer> data) {
        int padded = (headerJson.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(headerJson);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, head);
            for (ByteBuffer b : data) {
                writeFully(ch, b);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
