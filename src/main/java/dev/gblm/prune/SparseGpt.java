package dev.gblm.prune;

import dev.gblm.GblmException;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import java.util.stream.IntStream;

/**
 * SparseGPT: OBS pruning with weight reconstruction, following IST-DASLab/sparsegpt {@code fasterprune}
 * step for step (written independently from its description):
 *
 * <ol>
 *   <li>{@code H = 2/N · sum X^T X}; dead input columns ({@code H[d,d] == 0}) get {@code H[d,d] = 1} and
 *       {@code W[:,d] = 0}; {@code H += damp·I} with {@code damp = percDamp · mean(diag H)};
 *   <li>{@code U} = upper Cholesky factor of {@code H^-1} ({@code U^T U = H^-1});
 *   <li>columns in blocks of {@code blockSize}: unstructured — one threshold for the whole
 *       {@code [rows, block]} sub-matrix, the element at index {@code int(numel·sparsity)} of the ascending
 *       order of {@code W1^2 / diag(U1)^2}, prune {@code <= threshold}; N:M — at every column {@code i} of the
 *       block with {@code i % M == 0}, prune the N lowest of {@code W1[:, i:i+M]^2 / diag^2} (current,
 *       already updated weights);
 *   <li>sequentially per column: {@code q} = the column with pruned entries zeroed, {@code err = (w-q)/U[i,i]},
 *       {@code W1[:, i:] -= err ⊗ U[i, i:]}; after the block the remaining columns get the lazy batch update
 *       {@code W[:, i2:] -= Err1 · U[i1:i2, i2:]}.
 * </ol>
 *
 * <p>Numerics: {@code H}, its Cholesky factorisation and the triangular inverse are computed in double
 * (the reference does them in float32); {@code U} is then rounded to float32 and the weight updates run in
 * float32 like the reference. {@code U} is obtained without forming {@code H^-1}: with {@code J} the
 * reversal permutation, {@code JHJ = M M^T} (lower Cholesky) gives {@code U = J M^-1 J} — the same unique
 * factor, better conditioned. The float32 saliencies {@code W1^2/d^2} and the update sums (ours in column
 * order, torch's GEMM in its own blocked order) can therefore differ from the reference in the last bits,
 * which may flip entries whose saliency is a near-tie with the threshold (or within an N:M group).
 *
 * <p>The row dimension is independent given the block's mask, so rows run in parallel (common pool).
 */
public final class SparseGpt {
    public static final int DEFAULT_BLOCK_SIZE = 128;
    public static final double DEFAULT_PERC_DAMP = 0.01;
    private static final int ROW_TILE = 8;
    private static final int COL_CHUNK = 512;

    private SparseGpt() {}

    /** Prunes with the module's Hessian statistics (plain sum and sample count). */
    public static Mask prune(float[] w, int rows, int cols, ModuleStats stats, SparsityPattern pattern, TailRule tail) {
        if (stats == null || !stats.kinds().contains(StatKind.HESSIAN)) {
            throw new GblmException("SparseGPT needs Hessian statistics" + (stats == null ? "" : " for " + stats.describe()));
        }
        if (stats.in() != cols) {
            throw new IllegalArgumentException("statistics have in=" + stats.in() + ", weights " + cols);
        }
        return prune(w, rows, cols, stats.hessian(), stats.sampleCount(), pattern, tail, DEFAULT_BLOCK_SIZE,
                DEFAULT_PERC_DAMP);
    }

    /**
     * Prunes the whole matrix {@code w} ({@code [rows, cols]} row-major) in place — pruned entries exactly 0,
     * the others reconstructed — and returns the mask.
     *
     * @param hessianSum plain {@code sum_n X_n^T X_n}, {@code [cols, cols]} row-major (not modified)
     * @param sampleCount N, the number of samples summed
     */
    public static Mask prune(float[] w, int rows, int cols, float[] hessianSum, long sampleCount,
            SparsityPattern pattern, TailRule tail, int blockSize, double percDamp) {
        MaskSelector.checkShape(w, rows, cols);
        if (hessianSum.length != (long) cols * cols) {
            throw new IllegalArgumentException("Hessian has " + hessianSum.length + " values, expected " + (long) cols * cols);
        }
        if (sampleCount <= 0) {
            throw new GblmException("SparseGPT: no calibration samples in the Hessian statistics");
        }
        if (blockSize <= 0 || (pattern.isNm() && blockSize % pattern.m() != 0)) {
            throw new IllegalArgumentException("block size " + blockSize + " must be positive and a multiple of M");
        }
        float[] u = upperCholeskyOfInverse(dampedHessian(w, rows, cols, hessianSum, sampleCount, percDamp), cols);
        Mask mask = new Mask(rows, cols);
        float[] diag = new float[cols];
        for (int i = 0; i < cols; i++) {
            diag[i] = u[i * cols + i];
        }
        for (int i1 = 0; i1 < cols; i1 += blockSize) {
            int i2 = Math.min(i1 + blockSize, cols);
            int count = i2 - i1;
            boolean[] pruned = new boolean[rows * count];
            if (pattern.isUnstructured()) {
                blockThresholdMask(w, rows, cols, i1, count, diag, pattern.sparsity(), pruned);
            }
            final int b1 = i1;
            float[] err = new float[rows * count];
            boolean parallel = (long) rows * count * (cols - i1) > 1 << 16;
            IntStream rowRange = IntStream.range(0, rows);
            (parallel ? rowRange.parallel() : rowRange)
                    .forEach(r -> pruneRowInBlock(w, r, cols, b1, count, u, diag, pattern, tail, pruned, err));
            if (i2 < cols) {
                int tiles = (rows + ROW_TILE - 1) / ROW_TILE;
                IntStream tileRange = IntStream.range(0, tiles);
                (parallel ? tileRange.parallel() : tileRange)
                        .forEach(t -> lazyUpdate(w, t * ROW_TILE, Math.min(rows, (t + 1) * ROW_TILE), cols, b1, count, u, err));
            }
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < count; c++) {
                    if (pruned[r * count + c]) {
                        mask.prune(r, i1 + c);
                    }
                }
            }
        }
        return mask;
    }

    /** {@code 2/N·sum}, dead columns fixed (and zeroed in {@code w}), dampened; in double. */
    static double[] dampedHessian(float[] w, int rows, int cols, float[] hessianSum, long n, double percDamp) {
        double scale = 2.0 / n;
        double[] h = new double[cols * cols];
        for (int i = 0; i < h.length; i++) {
            h[i] = hessianSum[i] * scale;
        }
        double trace = 0;
        for (int d = 0; d < cols; d++) {
            if (h[d * cols + d] == 0) {
                h[d * cols + d] = 1;
                for (int r = 0; r < rows; r++) {
                    w[r * cols + d] = 0f;
                }
            }
            trace += h[d * cols + d];
        }
        double damp = percDamp * trace / cols;
        for (int d = 0; d < cols; d++) {
            h[d * cols + d] += damp;
        }
        return h;
    }

    /**
     * Upper triangular {@code U} (float32, row-major) with {@code U^T U = H^-1}, via {@code U = J chol(JHJ)^-1 J}:
     * {@code JHJ = R^T R} (upper {@code R}, i.e. lower factor {@code M = R^T}) and {@code U = J (R^-1)^T J}.
     */
    static float[] upperCholeskyOfInverse(double[] h, int n) {
        double[] rev = new double[n * n];
        for (int a = 0; a < n; a++) {
            int ra = (n - 1 - a) * n;
            for (int b = a; b < n; b++) { // only the upper triangle is read by the factorisation
                rev[a * n + b] = h[ra + n - 1 - b];
            }
        }
        Cholesky.upperInPlace(rev, n);
        return Cholesky.reversedTransposedInverse(rev, n);
    }

    /** Unstructured mask of one column block: one threshold over all its {@code rows × count} saliencies. */
    private static void blockThresholdMask(float[] w, int rows, int cols, int i1, int count, float[] diag,
            double sparsity, boolean[] pruned) {
        int numel = rows * count;
        int[] keys = new int[numel];
        float[] d2 = new float[count];
        for (int c = 0; c < count; c++) {
            d2[c] = diag[i1 + c] * diag[i1 + c];
        }
        for (int r = 0; r < rows; r++) {
            int o = r * cols + i1;
            for (int c = 0; c < count; c++) {
                float v = w[o + c];
                keys[r * count + c] = OrderKeys.key(v * v / d2[c]);
            }
        }
        int idx = Math.min((int) (numel * sparsity), numel - 1);
        int t = new RadixSelect().select(keys, numel, idx);
        for (int i = 0; i < numel; i++) {
            pruned[i] = keys[i] <= t;
        }
    }

    /** Sequential OBS updates of one row inside the block; records the row's errors for the lazy update. */
    private static void pruneRowInBlock(float[] w, int r, int cols, int i1, int count, float[] u, float[] diag,
            SparsityPattern pattern, TailRule tail, boolean[] pruned, float[] errAll) {
        int ro = r * cols;
        float[] w1 = new float[count];
        System.arraycopy(w, ro + i1, w1, 0, count);
        int pm = pattern.m();
        int pb = r * count;
        for (int i = 0; i < count; i++) {
            if (pattern.isNm() && i % pm == 0) {
                int width = Math.min(pm, count - i);
                int p = tail.prunedInGroup(pattern.n(), pm, width);
                nmGroup(w1, i, width, p, diag, i1, pruned, pb);
            }
            float wv = w1[i];
            float q = pruned[pb + i] ? 0f : wv;
            w[ro + i1 + i] = q;
            float e = (wv - q) / diag[i1 + i];
            errAll[r * count + i] = e;
            if (e != 0f) {
                int uo = (i1 + i) * cols + i1;
                for (int j = i; j < count; j++) {
                    w1[j] -= e * u[uo + j];
                }
            }
        }
    }

    /**
     * The lazy batch update {@code W[r0:r1, i2:] -= Err1 · U[i1:i2, i2:]} for a tile of rows, in column
     * chunks, so each chunk of a {@code U} row is reused from L1 by every row of the tile. Per weight the
     * block's terms are subtracted in column order {@code i1..i2-1}.
     */
    private static void lazyUpdate(float[] w, int r0, int r1, int cols, int i1, int count, float[] u, float[] err) {
        int i2 = i1 + count;
        for (int j0 = i2; j0 < cols; j0 += COL_CHUNK) {
            int j1 = Math.min(cols, j0 + COL_CHUNK);
            for (int i = 0; i < count; i++) {
                int uo = (i1 + i) * cols;
                for (int r = r0; r < r1; r++) {
                    float e = err[r * count + i];
                    if (e != 0f) {
                        int ro = r * cols;
                        for (int j = j0; j < j1; j++) {
                            w[ro + j] -= e * u[uo + j];
                        }
                    }
                }
            }
        }
    }

    /** N:M group at block column {@code i}: prune the {@code p} lowest saliencies (ties: lower column). */
    private static void nmGroup(float[] w1, int i, int width, int p, float[] diag, int i1, boolean[] pruned, int pb) {
        long picked = 0;
        for (int k = 0; k < p; k++) {
            int best = -1;
            int bestKey = 0;
            for (int j = 0; j < width; j++) {
                if ((picked & (1L << j)) != 0) {
                    continue;
                }
                float d = diag[i1 + i + j];
                float v = w1[i + j];
                int key = OrderKeys.key(v * v / (d * d));
                if (best < 0 || key < bestKey) {
                    best = j;
                    bestKey = key;
                }
            }
            picked |= 1L << best;
            pruned[pb + i + best] = true;
        }
    }
}
