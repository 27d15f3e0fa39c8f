package dev.gblm.prune.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.model.SafetensorsWriter;
import dev.gblm.prune.Mask;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The masks of a pruned model as a standard safetensors file ({@code masks.safetensors}), so any safetensors reader
 * (Python {@code safetensors}, {@code candle}, a 20-line {@code json}+{@code struct} parser) opens them.
 *
 * <p>One tensor per pruned weight, named exactly like the weight ({@code model.layers.0.self_attn.q_proj.weight}),
 * dtype {@code U8}, shape {@code [out, ceil(in/8)]}: each row of the [out, in] weight is packed on its own. Column
 * {@code c} of row {@code r} is bit {@code c % 8} (least significant bit first) of byte {@code c / 8} of row
 * {@code r}; a set bit means pruned (the weight is zero). The padding bits of a row's last byte are zero. In numpy:
 * {@code np.unpackbits(t, axis=1, bitorder="little")[:, :in].astype(bool)}; in torch, shift and mask the bytes
 * the same way. Since {@code in} cannot be recovered from {@code ceil(in/8)}, {@code __metadata__} (string values
 * only, as safetensors requires) carries it:
 *
 * <pre>
 * "__metadata__": {
 *   "format": "gblm-masks/1",
 *   "packing": "row-major; each row packed to ceil(in/8) bytes; bit c%8 of byte c/8 (LSB first) is column c; 1 = pruned",
 *   "bit_order": "little",
 *   "pruned_bit": "1",
 *   "columns": "{\"model.layers.0.self_attn.q_proj.weight\": 48, ...}"   (a JSON object as a string: in per tensor)
 * }
 * </pre>
 *
 * The file layout is the safetensors one: 8-byte little-endian header length, the JSON header padded with spaces to a
 * multiple of 8, then the tensors' bytes back to back in header order. {@code tools/reference/read_masks.py} reads it
 * independently of this class.
 */
public final class MaskSafetensors {
    public static final String FORMAT = "gblm-masks/1";
    static final String PACKING = "row-major; each row packed to ceil(in/8) bytes; bit c%8 of byte c/8 (LSB first) is "
            + "column c; 1 = pruned (weight is zero); padding bits 0";
    private static final ObjectMapper JSON = new ObjectMapper();

    private MaskSafetensors() {}

    /** Writes {@code masks} (weight name to mask, in the map's order). */
    public static void write(Path file, Map<String, Mask> masks) {
        ObjectNode header = JSON.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        ObjectNode columns = JSON.createObjectNode();
        masks.forEach((name, m) -> columns.put(name, m.cols()));
        meta.put("format", FORMAT);
        meta.put("packing", PACKING);
        meta.put("bit_order", "little");
        meta.put("pruned_bit", "1");
        meta.put("columns", columns.toString());
        long offset = 0;
        for (Map.Entry<String, Mask> e : masks.entrySet()) {
            Mask m = e.getValue();
            long rowBytes = rowBytes(m.cols());
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "U8");
            t.putArray("shape").add(m.rows()).add(rowBytes);
            long size = m.rows() * rowBytes;
            t.putArray("data_offsets").add(offset).add(offset + size);
            offset += size;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        SafetensorsWriter.writeFile(file, json, () -> masks.values().stream().map(m -> ByteBuffer.wrap(packRows(m))).iterator());
    }

    /** Reads a file written by {@link #write}: weight name to mask, in file order. Bad content throws {@link GblmException}. */
    public static Map<String, Mask> read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new GblmException(file + " is not a safetensors file (too short)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > size - 8 || headerLen > 100_000_000L) {
                throw new GblmException(file + ": bad safetensors header length " + headerLen);
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            JsonNode header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            JsonNode meta = header.path("__metadata__");
            if (!FORMAT.equals(meta.path("format").asText())) {
                throw new GblmException(file + ": not a gblm mask file (format '" + meta.path("format").asText() + "')");
            }
            JsonNode columns = JSON.readTree(meta.path("columns").asText("{}"));
            Map<String, Mask> out = new LinkedHashMap<>();
            long dataStart = 8 + headerLen;
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonNode t = e.getValue();
                int rows = t.path("shape").path(0).asInt(-1);
                long rowBytes = t.path("shape").path(1).asLong(-1);
                int cols = columns.path(e.getKey()).asInt(-1);
                long begin = t.path("data_offsets").path(0).asLong(-1);
                long end = t.path("data_offsets").path(1).asLong(-1);
                if (!"U8".equals(t.path("dtype").asText()) || t.path("shape").size() != 2 || rows <= 0 || cols <= 0
                        || rowBytes != rowBytes(cols) || begin < 0 || end - begin != rows * rowBytes
                        || dataStart + end > size) {
                    throw new GblmException(file + ": bad mask tensor entry " + e.getKey() + " " + t + " (columns " + cols + ")");
                }
                ByteBuffer data = ByteBuffer.allocate(Math.toIntExact(end - begin));
                readFully(ch, data, dataStart + begin);
                out.put(e.getKey(), unpackRows(rows, cols, data.array()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    static long rowBytes(int cols) {
        return (cols + 7L) >>> 3;
    }

    /** [rows, ceil(cols/8)] row-packed bytes of {@code m}. */
    static byte[] packRows(Mask m) {
        int rows = m.rows();
        int cols = m.cols();
        int rb = (int) rowBytes(cols);
        byte[] flat = m.toPackedBytes(); // flat index i = bit i%8 of byte i/8
        byte[] out = new byte[Math.toIntExact((long) rows * rb)];
        for (int r = 0; r < rows; r++) {
            long rowStart = (long) r * cols;
            for (int b = 0; b < rb; b++) {
                long s = rowStart + 8L * b;
                int width = Math.min(8, cols - 8 * b);
                int idx = (int) (s >>> 3);
                int lo = flat[idx] & 0xff;
                int hi = idx + 1 < flat.length ? flat[idx + 1] & 0xff : 0;
                int v = ((lo | (hi << 8)) >>> (int) (s & 7)) & ((1 << width) - 1);
                out[r * rb + b] = (byte) v;
            }
        }
        return out;
    }

    /** Inverse of {@link #packRows}; a set padding bit is an error. */
    static Mask unpackRows(int rows, int cols, byte[] packed) {
        int rb = (int) rowBytes(cols);
        if (packed.length != (long) rows * rb) {
            throw new GblmException("mask of [" + rows + "," + cols + "] needs " + (long) rows * rb + " bytes, got " + packed.length);
        }
        Mask m = new Mask(rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < rb; b++) {
                int v = packed[r * rb + b] & 0xff;
                int width = Math.min(8, cols - 8 * b);
                if ((v >>> width) != 0) {
                    throw new GblmException("mask row " + r + " has padding bits set");
                }
                if (v != 0) {
                    m.orBits((long) r * cols + 8L * b, v, width);
                }
            }
        }
        return m;
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, pos + b.position());
            if (n < 0) {
                throw new GblmException("safetensors file is truncated");
            }
        }
    }
}
