package dev.gblm.stats;

import dev.gblm.model.LinearKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * Compact binary encoding of one {@link ModuleStats} (a module or a row block of it), the payload of the
 * statistics records on Kafka. All numbers little-endian:
 *
 * <pre>
 * offset size
 *  0     4   magic "GBST" (bytes 0x47 0x42 0x53 0x54)
 *  4     2   format version (unsigned), currently 1
 *  6     1   kinds: bit flags of {@link StatKind#bit()} (GRAD=1, ACT=2, HESSIAN=4)
 *  7     1   module: {@link LinearKind} ordinal (Hugging Face order q,k,v,o,gate,up,down)
 *  8     4   layer
 * 12     4   rowStart
 * 16     4   rowEnd (exclusive)
 * 20     4   in (columns)
 * 24     8   sampleCount
 * 32     8   tokenCount
 * 40     ... float32 arrays of the present kinds, in this order:
 *            gradL1 [rows*in], gradL2Sq [rows*in], actSq [in], hessian [in*in]
 * end-4  4   CRC-32 of every preceding byte
 * </pre>
 *
 * The record length is fully determined by the header, so a short, long or corrupted record is rejected
 * with a {@link StatsFormatException} naming the problem.
 */
public final class StatsCodec {
    public static final int VERSION = 1;
    static final byte[] MAGIC = {'G', 'B', 'S', 'T'};
    /** Bytes of header before the float arrays. */
    public static final int HEADER_BYTES = 40;
    /** Bytes of fixed overhead per record: header plus CRC. */
    public static final int OVERHEAD_BYTES = HEADER_BYTES + 4;

    private StatsCodec() {}

    /** Number of float32 values a record of {@code rows} rows carries. */
    public static long floatCount(long rows, int in, StatKinds kinds) {
        long n = 0;
        if (kinds.contains(StatKind.GRAD)) {
            n += 2 * rows * in;
        }
        if (kinds.contains(StatKind.ACT)) {
            n += in;
        }
        if (kinds.contains(StatKind.HESSIAN)) {
            n += (long) in * in;
        }
        return n;
    }

    /** Exact encoded size in bytes of a record with {@code rows} rows. */
    public static long encodedSize(long rows, int in, StatKinds kinds) {
        return OVERHEAD_BYTES + 4 * floatCount(rows, in, kinds);
    }

    public static byte[] encode(ModuleStats s) {
        long size = encodedSize(s.rows(), s.in(), s.kinds());
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("record too large (" + size + " bytes): " + s.describe());
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC);
        b.putShort((short) VERSION);
        b.put((byte) s.kinds().bits());
        b.put((byte) s.module().ordinal());
        b.putInt(s.layer());
        b.putInt(s.rowStart());
        b.putInt(s.rowEnd());
        b.putInt(s.in());
        b.putLong(s.sampleCount());
        b.putLong(s.tokenCount());
        putFloats(b, s.gradL1());
        putFloats(b, s.gradL2Sq());
        putFloats(b, s.actSq());
        putFloats(b, s.hessian());
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.array();
    }

    private static void putFloats(ByteBuffer b, float[] a) {
        if (a == null) {
            return;
        }
        b.asFloatBuffer().put(a);
        b.position(b.position() + 4 * a.length);
    }

    public static ModuleStats decode(byte[] record) {
        if (record == null) {
            throw new StatsFormatException("statistics record is null");
        }
        if (record.length < OVERHEAD_BYTES) {
            throw new StatsFormatException("statistics record too short: " + record.length + " bytes, header alone is "
                    + OVERHEAD_BYTES);
        }
        ByteBuffer b = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        for (byte m : MAGIC) {
            if (b.get() != m) {
                throw new StatsFormatException("not a gblm statistics record (bad magic)");
            }
        }
        int version = Short.toUnsignedInt(b.getShort());
        if (version != VERSION) {
            throw new StatsFormatException("unsupported statistics format version " + version + " (this build reads "
                    + VERSION + ")");
        }
        int kindBits = Byte.toUnsignedInt(b.get());
        StatKinds kinds;
        try {
            kinds = StatKinds.fromBits(kindBits);
        } catch (IllegalArgumentException e) {
            throw new StatsFormatException("statistics record: " + e.getMessage());
        }
        int moduleOrdinal = Byte.toUnsignedInt(b.get());
        if (moduleOrdinal >= LinearKind.values().length) {
            throw new StatsFormatException("statistics record: unknown module ordinal " + moduleOrdinal);
        }
        LinearKind module = LinearKind.values()[moduleOrdinal];
        int layer = b.getInt();
        int rowStart = b.getInt();
        int rowEnd = b.getInt();
        int in = b.getInt();
        long samples = b.getLong();
        long tokens = b.getLong();
        if (layer < 0 || rowStart < 0 || rowEnd <= rowStart || in <= 0 || samples < 0 || tokens < 0) {
            throw new StatsFormatException("statistics record: bad header (layer " + layer + ", rows [" + rowStart + ","
                    + rowEnd + "), in " + in + ", samples " + samples + ", tokens " + tokens + ")");
        }
        long expected = encodedSize(rowEnd - rowStart, in, kinds);
        if (record.length != expected) {
            throw new StatsFormatException("statistics record for layer " + layer + " " + module.shortName() + " rows ["
                    + rowStart + "," + rowEnd + ") has " + record.length + " bytes, header implies " + expected);
        }
        CRC32 crc = new CRC32();
        crc.update(record, 0, record.length - 4);
        int stored = ByteBuffer.wrap(record, record.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        if (stored != (int) crc.getValue()) {
            throw new StatsFormatException("statistics record for layer " + layer + " " + module.shortName()
                    + " is corrupted (CRC mismatch)");
        }
        int rowsIn = (rowEnd - rowStart) * in;
        boolean g = kinds.contains(StatKind.GRAD);
        float[] l1 = g ? getFloats(b, rowsIn) : null;
        float[] l2 = g ? getFloats(b, rowsIn) : null;
        float[] act = kinds.contains(StatKind.ACT) ? getFloats(b, in) : null;
        float[] hess = kinds.contains(StatKind.HESSIAN) ? getFloats(b, in * in) : null;
        return new ModuleStats(layer, module, rowStart, rowEnd, in, kinds, l1, l2, act, hess, samples, tokens);
    }

    private static float[] getFloats(ByteBuffer b, int n) {
        float[] a = new float[n];
        b.asFloatBuffer().get(a);
        b.position(b.position() + 4 * n);
        return a;
    }
}
