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
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collection;

/**
 * Writes the Hugging Face safetensors layout: 8-byte little-endian header length, a JSON header
 * ({@code __metadata__: {"format": "pt"}}, then per tensor dtype, shape, data_offsets) padded with
 * spaces to a multiple of 8, then the tensor bytes in the given order, each in its own dtype.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    public static void write(Path file, Collection<TensorData> tensors) {
        ObjectNode header = JSON.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (TensorData t : tensors) {
            ObjectNode n = header.putObject(t.name());
            n.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            ArrayNode off = n.putArray("data_offsets");
            off.add(offset);
            offset += t.byteSize();
            off.add(offset);
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writeFile(file, json, () -> tensors.stream().map(TensorData::bytes).iterator());
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
