package dev.gblm.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A named tensor in its stored element type: little-endian bytes, usually read-only slices of memory maps (never
 * copied onto the heap until {@link #toFloats()} is asked for).
 *
 * <p>A {@link ByteBuffer} holds at most 2 GiB, so a larger tensor (a 128256 x 8192 BF16 embedding is 2.1 GB) is a
 * sequence of chunks, each a whole number of elements; {@link #chunks()} hands them out in order, and the widening
 * reads ({@link #toFloats(long, int)}, {@link #widenInto}) cross chunk boundaries transparently.
 */
public final class TensorData {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer[] chunks;
    /** Element index at which each chunk starts, plus the total at the end. */
    private final long[] chunkStart;

    public TensorData(String name, DType dtype, long[] shape, ByteBuffer data) {
        this(name, dtype, shape, List.of(data));
    }

    /** A tensor over several chunks, in order; each must hold a whole number of elements. */
    public TensorData(String name, DType dtype, long[] shape, List<ByteBuffer> data) {
        long n = numel(shape);
        long bytes = 0;
        chunks = new ByteBuffer[data.size()];
        chunkStart = new long[data.size() + 1];
        for (int i = 0; i < chunks.length; i++) {
            ByteBuffer c = data.get(i);
            if (c.remaining() % dtype.bytes() != 0) {
                throw new IllegalArgumentException("tensor " + name + ": chunk " + i + " of " + c.remaining()
                        + " bytes splits an element of " + dtype);
            }
            chunks[i] = c.slice().order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
            chunkStart[i] = bytes / dtype.bytes();
            bytes += c.remaining();
        }
        chunkStart[chunks.length] = bytes / dtype.bytes();
        if (bytes != n * dtype.bytes()) {
            throw new IllegalArgumentException("tensor " + name + ": " + bytes + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype);
        }
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
    }

    /** Encodes float32 values in {@code dtype} (round to nearest even for F16/BF16). */
    public static TensorData fromFloats(String name, DType dtype, long[] shape, float[] values) {
        if (numel(shape) != values.length) {
            throw new IllegalArgumentException("tensor " + name + ": " + values.length + " values for shape "
                    + Arrays.toString(shape));
        }
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().put(values);
            case F16 -> {
                ShortBuffer sb = buf.asShortBuffer();
                for (float v : values) {
                    sb.put(Half.fromFloat(v));
                }
            }
            case BF16 -> {
                ShortBuffer sb = buf.asShortBuffer();
                for (float v : values) {
                    sb.put(floatToBf16(v));
                }
            }
        }
        return new TensorData(name, dtype, shape, buf);
    }

    public String name() {
        return name;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long numel() {
        return numel(shape);
    }

    /**
     * A fresh read-only little-endian view of the bytes, positioned at 0; only for a tensor held in one chunk (every
     * tensor under 2 GiB read with the default window): use {@link #chunks()} for any tensor.
     */
    public ByteBuffer bytes() {
        if (chunks.length != 1) {
            throw new IllegalStateException("tensor " + this + " spans " + chunks.length
                    + " memory-mapped chunks; read it through chunks()");
        }
        return chunks[0].duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Fresh read-only little-endian views of the bytes, in order, each positioned at 0 (one for most tensors). */
    public List<ByteBuffer> chunks() {
        return Arrays.stream(chunks).map(c -> c.duplicate().order(ByteOrder.LITTLE_ENDIAN)).toList();
    }

    public long byteSize() {
        return chunkStart[chunks.length] * dtype.bytes();
    }

    /** The same bytes under another name (e.g. when mapping llama2.c names to Hugging Face ones). */
    public TensorData renamed(String newName) {
        return new TensorData(newName, dtype, shape, chunks());
    }

    /** Values widened to float32 (BF16 as bits << 16, F16 by IEEE conversion). */
    public float[] toFloats() {
        long n = numel();
        if (n > Integer.MAX_VALUE) {
            throw new IllegalStateException("tensor " + name + " too large for a Java array: " + n);
        }
        return toFloats(0, (int) n);
    }

    /**
     * Elements {@code [start, start + count)} (row-major) widened to float32, read straight from the
     * (typically memory-mapped) bytes: a row block costs only its own size on the heap.
     */
    public float[] toFloats(long start, int count) {
        if (start < 0 || count < 0 || start + count > numel()) {
            throw new IndexOutOfBoundsException("elements [" + start + ", " + (start + count) + ") of " + this);
        }
        float[] out = new float[count];
        widenInto(start, count, FloatBuffer.wrap(out));
        return out;
    }

    /**
     * Writes elements {@code [start, start + count)} widened to float32 into {@code out} at its position (which
     * advances), e.g. straight into a direct buffer an engine tensor is made from: no heap copy of the tensor.
     */
    public void widenInto(long start, int count, FloatBuffer out) {
        forEachPiece(start, count, (c, from, n) ->
                widen(chunks[c].duplicate().order(ByteOrder.LITTLE_ENDIAN), from, n, out));
    }

    /**
     * Copies the stored (little-endian) bytes of elements {@code [start, start + count)} into {@code out} at its
     * position (which advances), across chunks: how a writer streams a tensor of any size a piece at a time.
     */
    public void readBytes(long start, int count, ByteBuffer out) {
        int width = dtype.bytes();
        forEachPiece(start, count, (c, from, n) -> {
            ByteBuffer b = chunks[c].duplicate();
            b.position(from * width).limit((from + n) * width);
            out.put(b);
        });
    }

    /** Elements {@code [from, from + n)} of chunk {@code c}. */
    @FunctionalInterface
    private interface Piece {
        void accept(int c, int from, int n);
    }

    /** Elements {@code [start, start + count)} as consecutive pieces, one per chunk they cross. */
    private void forEachPiece(long start, int count, Piece piece) {
        if (start < 0 || count < 0 || start + count > numel()) {
            throw new IndexOutOfBoundsException("elements [" + start + ", " + (start + count) + ") of " + this);
        }
        long pos = start;
        long end = start + count;
        int c = chunkOf(pos);
        while (pos < end) {
            int from = (int) (pos - chunkStart[c]);
            int n = (int) Math.min(end - pos, chunkStart[c + 1] - pos);
            piece.accept(c, from, n);
            pos += n;
            c++;
        }
    }

    /** The chunk holding element {@code e} (skipping empty chunks). */
    private int chunkOf(long e) {
        int i = Arrays.binarySearch(chunkStart, 0, chunks.length, e);
        if (i < 0) {
            return -i - 2;
        }
        while (i + 1 < chunks.length && chunkStart[i + 1] == e) {
            i++;
        }
        return i;
    }

    private void widen(ByteBuffer b, int first, int count, FloatBuffer out) {
        switch (dtype) {
            case F32 -> out.put(b.asFloatBuffer().position(first).limit(first + count));
            case F16 -> {
                ShortBuffer sb = b.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out.put(Half.toFloat(sb.get(first + i)));
                }
            }
            case BF16 -> {
                ShortBuffer sb = b.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out.put(Float.intBitsToFloat((sb.get(first + i) & 0xffff) << 16));
                }
            }
        }
    }

    /** bfloat16 of a float32, round to nearest even; NaN stays a (quiet) NaN. */
    static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
