package dev.gblm.prune;

import dev.gblm.GblmException;
import java.util.stream.IntStream;

/**
 * Dense double-precision Cholesky factorisation and triangular inverse for SparseGPT, row-major.
 *
 * <p>Both kernels are written so that every inner loop is an elementwise update over contiguous memory of
 * two distinct arrays (which the JIT vectorises; reductions in double are not vectorised because of their
 * strict order), several terms per pass so each load/store of the destination serves several multiply-adds,
 * and blocked so the re-read operand stays in the per-core cache. Independent rows (factorisation) or column
 * chunks (inverse) run on the common pool.
 */
final class Cholesky {
    /** Rows per panel of the right-looking factorisation; the panel copy (PANEL × n doubles) stays in L2/L3. */
    private static final int PANEL = 32;
    /** Columns per chunk of the triangular inverse; a chunk (n × CHUNK doubles) stays in L2/L3. */
    private static final int CHUNK = 32;
    private static final long PARALLEL_WORK = 1L << 16;

    private Cholesky() {}

    /**
     * Upper factor {@code R} with {@code A = R^T R}, in place: reads the upper triangle of {@code a}, leaves
     * {@code R} there; the strict lower triangle is not read and is left unspecified.
     */
    static void upperInPlace(double[] a, int n) {
        double[] panel = new double[PANEL * n];
        for (int k0 = 0; k0 < n; k0 += PANEL) {
            int k1 = Math.min(n, k0 + PANEL);
            factorPanel(a, n, k0, k1);
            int width = k1 - k0;
            for (int k = 0; k < width; k++) {
                int src = (k0 + k) * n + k1;
                System.arraycopy(a, src, panel, k * n + k1, n - k1);
            }
            final int fk1 = k1;
            IntStream trailing = IntStream.range(k1, n);
            if ((long) (n - k1) * (n - k1) * width > PARALLEL_WORK) {
                trailing = trailing.parallel();
            }
            trailing.forEach(i -> trailingRow(a, n, i, panel, width, fk1));
        }
    }

    /** Unblocked factorisation of rows {@code k0..k1-1} (already updated by all earlier panels), full width. */
    private static void factorPanel(double[] a, int n, int k0, int k1) {
        for (int k = k0; k < k1; k++) {
            int rk = k * n;
            double s = a[rk + k];
            if (!(s > 0)) {
                throw new GblmException("SparseGPT: Hessian is not positive definite (pivot " + k + " = " + s
                        + "); more calibration samples or more dampening needed");
            }
            double d = Math.sqrt(s);
            a[rk + k] = d;
            for (int j = k + 1; j < n; j++) {
                a[rk + j] /= d;
            }
            for (int i = k + 1; i < k1; i++) {
                double f = a[rk + i];
                if (f != 0) {
                    int ri = i * n;
                    for (int j = i; j < n; j++) {
                        a[ri + j] -= f * a[rk + j];
                    }
                }
            }
        }
    }

    /** {@code A[i, i:] -= sum_k P[k, i] · P[k, i:]} over the panel rows, eight at a time, on a private copy of the row. */
    private static void trailingRow(double[] a, int n, int i, double[] p, int width, int k1) {
        int len = n - i;
        double[] row = new double[len];
        int ri = i * n + i;
        System.arraycopy(a, ri, row, 0, len);
        int k = 0;
        for (; k + 7 < width; k += 8) {
            int o0 = k * n + i;
            int o1 = o0 + n;
            int o2 = o1 + n;
            int o3 = o2 + n;
            int o4 = o3 + n;
            int o5 = o4 + n;
            int o6 = o5 + n;
            int o7 = o6 + n;
            double f0 = p[o0];
            double f1 = p[o1];
            double f2 = p[o2];
            double f3 = p[o3];
            double f4 = p[o4];
            double f5 = p[o5];
            double f6 = p[o6];
            double f7 = p[o7];
            for (int j = 0; j < len; j++) {
                row[j] -= (f0 * p[o0 + j] + f1 * p[o1 + j] + f2 * p[o2 + j] + f3 * p[o3 + j])
                        + (f4 * p[o4 + j] + f5 * p[o5 + j] + f6 * p[o6 + j] + f7 * p[o7 + j]);
            }
        }
        for (; k + 3 < width; k += 4) {
            int o0 = k * n + i;
            int o1 = o0 + n;
            int o2 = o1 + n;
            int o3 = o2 + n;
            double f0 = p[o0];
            double f1 = p[o1];
            double f2 = p[o2];
            double f3 = p[o3];
            for (int j = 0; j < len; j++) {
                row[j] -= f0 * p[o0 + j] + f1 * p[o1 + j] + f2 * p[o2 + j] + f3 * p[o3 + j];
            }
        }
        for (; k < width; k++) {
            int o0 = k * n + i;
            double f0 = p[o0];
            for (int j = 0; j < len; j++) {
                row[j] -= f0 * p[o0 + j];
            }
        }
        System.arraycopy(row, 0, a, ri, len);
    }

    /**
     * Given upper {@code R} (upper triangle of {@code r}, row-major), returns {@code U = J (R^-1)^T J} rounded
     * to float32, i.e. {@code U[a][b] = X[n-1-b][n-1-a]} with {@code X = R^-1}. {@code X} is built in column
     * chunks: within a chunk, {@code X[i, :] = (e_i - sum_{k>i} R[i,k] X[k, :]) / R[i,i]} from the bottom row up,
     * which touches only the chunk's columns, so chunks are independent.
     */
    static float[] reversedTransposedInverse(double[] r, int n) {
        float[] u = new float[n * n];
        int chunks = (n + CHUNK - 1) / CHUNK;
        IntStream ids = IntStream.range(0, chunks);
        if ((long) n * n * n > PARALLEL_WORK * 4) {
            ids = ids.parallel();
        }
        // the last chunks carry the most work: hand them out first
        ids.forEach(t -> inverseChunk(r, n, (chunks - 1 - t) * CHUNK, u));
        return u;
    }

    private static void inverseChunk(double[] r, int n, int j0, float[] u) {
        int j1 = Math.min(n, j0 + CHUNK);
        int cw = j1 - j0;
        // x[k * cw + c] = X[k, j0 + c], for rows k < j1 (below that X is zero in these columns)
        double[] x = new double[j1 * cw];
        double[] acc = new double[cw];
        for (int i = j1 - 1; i >= 0; i--) {
            java.util.Arrays.fill(acc, 0);
            if (i >= j0) {
                acc[i - j0] = 1;
            }
            int ri = i * n;
            int k = i + 1;
            for (; k + 7 < j1; k += 8) {
                double f0 = r[ri + k];
                double f1 = r[ri + k + 1];
                double f2 = r[ri + k + 2];
                double f3 = r[ri + k + 3];
                double f4 = r[ri + k + 4];
                double f5 = r[ri + k + 5];
                double f6 = r[ri + k + 6];
                double f7 = r[ri + k + 7];
                int o0 = k * cw;
                int o1 = o0 + cw;
                int o2 = o1 + cw;
                int o3 = o2 + cw;
                int o4 = o3 + cw;
                int o5 = o4 + cw;
                int o6 = o5 + cw;
                int o7 = o6 + cw;
                for (int c = 0; c < cw; c++) {
                    acc[c] -= (f0 * x[o0 + c] + f1 * x[o1 + c] + f2 * x[o2 + c] + f3 * x[o3 + c])
                            + (f4 * x[o4 + c] + f5 * x[o5 + c] + f6 * x[o6 + c] + f7 * x[o7 + c]);
                }
            }
            for (; k + 3 < j1; k += 4) {
                double f0 = r[ri + k];
                double f1 = r[ri + k + 1];
                double f2 = r[ri + k + 2];
                double f3 = r[ri + k + 3];
                int o0 = k * cw;
                int o1 = o0 + cw;
                int o2 = o1 + cw;
                int o3 = o2 + cw;
                for (int c = 0; c < cw; c++) {
                    acc[c] -= f0 * x[o0 + c] + f1 * x[o1 + c] + f2 * x[o2 + c] + f3 * x[o3 + c];
                }
            }
            for (; k < j1; k++) {
                double f0 = r[ri + k];
                int o0 = k * cw;
                for (int c = 0; c < cw; c++) {
                    acc[c] -= f0 * x[o0 + c];
                }
            }
            double d = r[ri + i];
            int oi = i * cw;
            for (int c = 0; c < cw; c++) {
                x[oi + c] = acc[c] / d;
            }
        }
        for (int c = 0; c < cw; c++) {
            int j = j0 + c;
            int ua = (n - 1 - j) * n + n - 1; // U row n-1-j, column n-1-i for i = 0..j
            for (int i = 0; i <= j; i++) {
                u[ua - i] = (float) x[i * cw + c];
            }
        }
    }
}
