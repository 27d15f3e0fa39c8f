package dev.gblm.prune;

import java.util.Arrays;
import java.util.List;

/**
 * A pruning mask of a {@code [rows, cols]} weight matrix (or row block) as a bitset: bit set = pruned.
 * Bits are row-major ({@code index = r*cols + c}). Mutable through {@link #prune}; not thread-safe.
 */
public final class Mask {
    private final int rows;
    private final int cols;
    private final long[] words;

    public Mask(int rows, int cols) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("mask shape must be positive: [" + rows + "," + cols + "]");
        }
        this.rows = rows;
        this.cols = cols;
        this.words = new long[(int) ((size(rows, cols) + 63) >>> 6)];
    }

    private static long size(int rows, int cols) {
        return (long) rows * cols;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public long numel() {
        return size(rows, cols);
    }

    public void prune(int row, int col) {
        pruneIndex((long) row * cols + col);
    }

    /** Marks flat row-major index {@code i} pruned. */
    public void pruneIndex(long i) {
        words[(int) (i >>> 6)] |= 1L << i;
    }

    /**
     * ORs the low {@code width} bits of {@code bits} into flat indices {@code start .. start+width-1}
     * (bit 0 of {@code bits} at {@code start}); {@code width <= 64}.
     */
    public void orBits(long start, long bits, int width) {
        if (width <= 0) {
            return;
        }
        if (width < 64) {
            bits &= (1L << width) - 1;
        }
        int word = (int) (start >>> 6);
        int off = (int) (start & 63);
        words[word] |= bits << off;
        if (off != 0 && off + width > 64) {
            words[word + 1] |= bits >>> (64 - off);
        }
    }

    public boolean isPruned(int row, int col) {
        return isPrunedIndex((long) row * cols + col);
    }

    public boolean isPrunedIndex(long i) {
        return (words[(int) (i >>> 6)] & (1L << i)) != 0;
    }

    public long prunedCount() {
        long c = 0;
        for (long w : words) {
            c += Long.bitCount(w);
        }
        return c;
    }

    public int prunedInRow(int row) {
        int c = 0;
        for (int j = 0; j < cols; j++) {
            if (isPruned(row, j)) {
                c++;
            }
        }
        return c;
    }

    /** Fraction of pruned entries. */
    /** Fraction of pruned entries over all of {@code masks} together (0 when there are none). */
    public static double overallSparsity(java.util.Collection<Mask> masks) {
        long pruned = 0;
        long total = 0;
        for (Mask m : masks) {
            pruned += m.prunedCount();
            total += m.numel();
        }
        return total == 0 ? 0 : (double) pruned / total;
    }

    public double sparsity() {
        return (double) prunedCount() / numel();
    }

    /** Sets every pruned entry of row-major {@code w} ({@code rows*cols}) to exactly +0. */
    public void applyTo(float[] w) {
        if (w.length != numel()) {
            throw new IllegalArgumentException("weights have " + w.length + " entries, mask " + numel());
        }
        for (int wi = 0; wi < words.length; wi++) {
            long bits = words[wi];
            while (bits != 0) {
                int b = Long.numberOfTrailingZeros(bits);
                w[(wi << 6) + b] = 0f;
                bits &= bits - 1;
            }
        }
    }

    /** Number of entries whose bit differs (drift between two masks of one shape). */
    public long differences(Mask other) {
        requireSameShape(other);
        long c = 0;
        for (int i = 0; i < words.length; i++) {
            c += Long.bitCount(words[i] ^ other.words[i]);
        }
        return c;
    }

    private void requireSameShape(Mask o) {
        if (o.rows != rows || o.cols != cols) {
            throw new IllegalArgumentException("mask shapes differ: [" + rows + "," + cols + "] vs [" + o.rows + "," + o.cols + "]");
        }
    }

    /** Stacks row blocks (in order) into the mask of the whole matrix; all must have the same column count. */
    public static Mask concatRows(List<Mask> blocks) {
        int cols = blocks.get(0).cols;
        int rows = 0;
        for (Mask b : blocks) {
            if (b.cols != cols) {
                throw new IllegalArgumentException("row blocks have different column counts");
            }
            rows += b.rows;
        }
        Mask m = new Mask(rows, cols);
        long offset = 0;
        for (Mask b : blocks) {
            for (int wi = 0; wi < b.words.length; wi++) {
                long bits = b.words[wi];
                while (bits != 0) {
                    int bit = Long.numberOfTrailingZeros(bits);
                    m.pruneIndex(offset + ((long) wi << 6) + bit);
                    bits &= bits - 1;
                }
            }
            offset += b.numel();
        }
        return m;
    }

    /** Bit-packed bytes, {@code ceil(rows*cols/8)} of them: flat index {@code i} is bit {@code i%8} (LSB first) of byte {@code i/8}. */
    public byte[] toPackedBytes() {
        long n = (numel() + 7) >>> 3;
        byte[] out = new byte[Math.toIntExact(n)];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) (words[i >>> 3] >>> ((i & 7) << 3));
        }
        return out;
    }

    /** Inverse of {@link #toPackedBytes}; padding bits past {@code rows*cols} must be zero. */
    public static Mask fromPackedBytes(int rows, int cols, byte[] packed) {
        Mask m = new Mask(rows, cols);
        long n = (m.numel() + 7) >>> 3;
        if (packed.length != n) {
            throw new IllegalArgumentException("packed mask of [" + rows + "," + cols + "] needs " + n + " bytes, got " + packed.length);
        }
        for (int i = 0; i < packed.length; i++) {
            m.words[i >>> 3] |= (packed[i] & 0xffL) << ((i & 7) << 3);
        }
        long extra = m.numel() & 63;
        if (extra != 0 && (m.words[m.words.length - 1] >>> extra) != 0) {
            throw new IllegalArgumentException("packed mask has bits set past its " + m.numel() + " entries");
        }
        return m;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Mask)) {
            return false;
        }
        Mask m = (Mask) o;
        return rows == m.rows && cols == m.cols && Arrays.equals(words, m.words);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * rows + cols) + Arrays.hashCode(words);
    }

    @Override
    public String toString() {
        return "Mask[" + rows + "x" + cols + ", pruned " + prunedCount() + "]";
    }
}
