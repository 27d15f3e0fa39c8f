package dev.gblm.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;
import java.util.Arrays;

/**
 * A named tensor in its stored element type: little-endian bytes, usually a read-only slice of a
 * memory map (never copied onto the heap until {@link #toFloats()} is asked for).
 */
public final class TensorData {
    private final String name;
    private final DType dtype;
    private final long[] shape;
    private final ByteBuffer data;

    public TensorData(String name, DType dtype, long[] shape, ByteBuffer data) {
        long n = numel(shape);
        if (data.remaining() != n * dtype.bytes()) {
            throw new IllegalArgumentException("tensor " + name + ": " + data.remaining() + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype);
        }
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data.slice().order(ByteOrder.LITTLE_ENDIAN).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
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

    /** A fresh read-only little-endian view of the bytes, positioned at 0. */
    public ByteBuffer bytes() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    public long byteSize() {
        return data.remaining();
    }

    /** The same bytes under another name (e.g. when mapping llama2.c names to Hugging Face ones). */
    public TensorData renamed(String newName) {
        return new TensorData(newName, dtype, shape, data);
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
        ByteBuffer b = bytes();
        int first = Math.toIntExact(start);
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get(first, out);
            case F16 -> {
                ShortBuffer sb = b.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out[i] = Half.toFloat(sb.get(first + i));
                }
            }
            case BF16 -> {
                ShortBuffer sb = b.asShortBuffer();
                for (int i = 0; i < count; i++) {
                    out[i] = Float.intBitsToFloat((sb.get(first + i) & 0xffff) << 16);
                }
            }
        }
        return out;
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
