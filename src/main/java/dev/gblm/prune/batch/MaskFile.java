package dev.gblm.prune.batch;

import dev.gblm.GblmException;
import dev.gblm.prune.Mask;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The compact mask file of a pruned model: every module's mask, bit-packed. All integers little-endian.
 *
 * <pre>
 * file    := magic version count entry*count
 * magic   := 8 bytes "GBLMMASK"
 * version := u32, currently 1
 * count   := u32, number of entries
 * entry   := layer:u32  nameLen:u16  name:UTF-8[nameLen]  out:u32  in:u32  bits:byte[ceil(out*in/8)]
 * </pre>
 *
 * {@code name} is the module's short name ({@code q_proj} ... {@code down_proj}). In {@code bits}, the
 * weight at row {@code r}, column {@code c} has flat index {@code i = r*in + c} and is bit {@code i % 8}
 * (least significant bit first) of byte {@code i / 8}; a set bit means pruned (weight is zero). Padding
 * bits of the last byte are zero. In numpy: {@code np.unpackbits(bits, bitorder="little")[:out*in]
 * .reshape(out, in)}.
 */
public final class MaskFile {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "GBLMMASK".getBytes(StandardCharsets.US_ASCII);

    /** One module's mask. */
    public record Entry(int layer, String module, Mask mask) {
        public Entry {
            if (layer < 0) {
                throw new IllegalArgumentException("layer must be >= 0");
            }
            if (module == null || module.isEmpty() || module.getBytes(StandardCharsets.UTF_8).length > 0xffff) {
                throw new IllegalArgumentException("bad module name");
            }
        }
    }

    private MaskFile() {}

    public static void write(Path file, List<Entry> entries) {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            write(out, entries);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write mask file " + file, e);
        }
    }

    public static void write(OutputStream out, List<Entry> entries) throws IOException {
        ByteBuffer h = le(16);
        h.put(MAGIC).putInt(VERSION).putInt(entries.size());
        out.write(h.array());
        for (Entry e : entries) {
            byte[] name = e.module().getBytes(StandardCharsets.UTF_8);
            ByteBuffer eh = le(4 + 2 + name.length + 8);
            eh.putInt(e.layer()).putShort((short) name.length).put(name).putInt(e.mask().rows()).putInt(e.mask().cols());
            out.write(eh.array());
            out.write(e.mask().toPackedBytes());
        }
    }

    public static byte[] toBytes(List<Entry> entries) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            write(b, entries);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    public static List<Entry> read(Path file) {
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            return read(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read mask file " + file, e);
        }
    }

    /** Reads a whole mask file; a wrong magic/version or truncated content throws {@link GblmException}. */
    public static List<Entry> read(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        try {
            byte[] magic = new byte[8];
            in.readFully(magic);
            for (int i = 0; i < 8; i++) {
                if (magic[i] != MAGIC[i]) {
                    throw new GblmException("not a gblm mask file (bad magic)");
                }
            }
            int version = readIntLe(in);
            if (version != VERSION) {
                throw new GblmException("unsupported mask file version " + version + " (this build reads " + VERSION + ")");
            }
            int count = readIntLe(in);
            if (count < 0) {
                throw new GblmException("mask file: bad entry count " + Integer.toUnsignedString(count));
            }
            List<Entry> entries = new ArrayList<>(Math.min(count, 4096));
            for (int k = 0; k < count; k++) {
                int layer = readIntLe(in);
                int nameLen = Short.toUnsignedInt(Short.reverseBytes(in.readShort()));
                byte[] name = new byte[nameLen];
                in.readFully(name);
                int out = readIntLe(in);
                int cols = readIntLe(in);
                if (layer < 0 || out <= 0 || cols <= 0) {
                    throw new GblmException("mask file: bad entry " + k + " (layer " + layer + ", shape [" + out + "," + cols + "])");
                }
                long n = ((long) out * cols + 7) >>> 3;
                if (n > Integer.MAX_VALUE - 8) {
                    throw new GblmException("mask file: entry " + k + " too large");
                }
                byte[] bits = new byte[(int) n];
                in.readFully(bits);
                Mask mask;
                try {
                    mask = Mask.fromPackedBytes(out, cols, bits);
                } catch (IllegalArgumentException e) {
                    throw new GblmException("mask file: entry " + k + ": " + e.getMessage());
                }
                entries.add(new Entry(layer, new String(name, StandardCharsets.UTF_8), mask));
            }
            if (in.read() != -1) {
                throw new GblmException("mask file: unexpected data after " + count + " entries");
            }
            return entries;
        } catch (EOFException e) {
            throw new GblmException("mask file is truncated");
        }
    }

    private static int readIntLe(DataInputStream in) throws IOException {
        return Integer.reverseBytes(in.readInt());
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
