package dev.gblm.stream;

import dev.gblm.model.LinearKind;
import dev.gblm.prune.Mask;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * One row block of an epoch's mask, the value of a {@code gblm.masks} record (key
 * {@code <job>/<epoch>/<layer>/<module>/<rowStart>}, header {@code gblm.epoch} = epoch number as text). Binary,
 * little-endian:
 *
 * <pre>
 * offset size
 *  0     4   magic "GBMK"
 *  4     2   format version, currently 1
 *  6     1   module: LinearKind ordinal (q,k,v,o,gate,up,down)
 *  7     1   reserved (0)
 *  8     4   layer
 * 12     4   rowStart
 * 16     4   rowEnd (exclusive)
 * 20     4   in (columns)
 * 24     8   pruned count (bits set)
 * 32     ... ceil(rows*in/8) bytes: bit i (row-major index r*in+c relative to rowStart) is bit i%8 of byte i/8,
 *            LSB first; set = pruned
 * end-4  4   CRC-32 of every preceding byte
 * </pre>
 */
public record MaskBlock(int layer, LinearKind module, int rowStart, int rowEnd, Mask mask) {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = {'G', 'B', 'M', 'K'};
    private static final int HEADER = 32;

    public MaskBlock {
        if (mask.rows() != rowEnd - rowStart) {
            throw new IllegalArgumentException("mask has " + mask.rows() + " rows, block " + (rowEnd - rowStart));
        }
    }

    /** Record key on gblm.masks. */
    public static String key(String job, int epoch, int layer, LinearKind module, int rowStart) {
        return job + "/" + epoch + "/" + layer + "/" + module.shortName() + "/" + rowStart;
    }

    public byte[] encode() {
        byte[] bits = mask.toPackedBytes();
        ByteBuffer b = ByteBuffer.allocate(HEADER + bits.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putShort((short) VERSION).put((byte) module.ordinal()).put((byte) 0);
        b.putInt(layer).putInt(rowStart).putInt(rowEnd).putInt(mask.cols()).putLong(mask.prunedCount());
        b.put(bits);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    public static MaskBlock decode(byte[] v) {
        if (v == null || v.length < HEADER + 4) {
            throw new RecordFormatException("mask block too short");
        }
        ByteBuffer b = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (b.get() != m) {
                throw new RecordFormatException("not a gblm mask block (bad magic)");
            }
        }
        int version = Short.toUnsignedInt(b.getShort());
        if (version != VERSION) {
            throw new RecordFormatException("unsupported mask block version " + version);
        }
        int mod = Byte.toUnsignedInt(b.get());
        b.get();
        if (mod >= LinearKind.values().length) {
            throw new RecordFormatException("mask block: unknown module ordinal " + mod);
        }
        int layer = b.getInt();
        int rowStart = b.getInt();
        int rowEnd = b.getInt();
        int in = b.getInt();
        long pruned = b.getLong();
        if (rowEnd <= rowStart || rowStart < 0 || in <= 0) {
            throw new RecordFormatException("mask block: bad header");
        }
        long nbytes = ((long) (rowEnd - rowStart) * in + 7) / 8;
        if (v.length != HEADER + nbytes + 4) {
            throw new RecordFormatException("mask block has " + v.length + " bytes, header implies " + (HEADER + nbytes + 4));
        }
        CRC32 crc = new CRC32();
        crc.update(v, 0, v.length - 4);
        if (b.getInt(v.length - 4) != (int) crc.getValue()) {
            throw new RecordFormatException("mask block corrupted (CRC mismatch)");
        }
        byte[] bits = new byte[(int) nbytes];
        b.get(bits);
        Mask mask = Mask.fromPackedBytes(rowEnd - rowStart, in, bits);
        if (mask.prunedCount() != pruned) {
            throw new RecordFormatException("mask block: pruned count " + pruned + " != bits set " + mask.prunedCount());
        }
        return new MaskBlock(layer, LinearKind.values()[mod], rowStart, rowEnd, mask);
    }
}
