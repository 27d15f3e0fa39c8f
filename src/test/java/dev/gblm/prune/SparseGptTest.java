package dev.gblm.prune;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * SparseGPT against a straightforward float64 OBS implementation written here from the formulas: no
 * Cholesky, no lazy batching; at column {@code i} it inverts the trailing Hessian {@code H[i:, i:]} by
 * Gauss-Jordan, uses {@code [H[c:,c:]^-1]_00} as the saliency denominator of column {@code c}, and for each
 * pruned weight applies the OBS update {@code W[r, i:] -= w/T00 · T[0, :]} with {@code T = H[i:,i:]^-1}.
 */
class SparseGptTest {

    private record Problem(float[] w, ModuleStats stats, int rows, int cols) {}

    private static Problem problem(long seed, int rows, int cols, int deadColumn) {
        Random rnd = new Random(seed);
        ModuleStats s = ModuleStats.zeros(0, LinearKind.O_PROJ, 0, rows, cols, StatKinds.of(StatKind.HESSIAN));
        for (int n = 0; n < 3; n++) {
            int tokens = 2 * cols;
            float[] x = new float[tokens * cols];
            for (int t = 0; t < tokens; t++) {
                for (int j = 0; j < cols; j++) {
                    // correlated inputs make the weight updates matter
                    x[t * cols + j] = j == deadColumn ? 0f : (float) (rnd.nextGaussian() + (j > 0 ? 0.5 * x[t * cols + j - 1] : 0));
                }
            }
            s.addActivations(x, tokens);
            s.addCounts(1, tokens);
        }
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        return new Problem(w, s, rows, cols);
    }

    /** Gauss-Jordan inverse of {@code H[from:, from:]}. */
    private static double[][] trailingInverse(double[][] h, int from) {
        int n = h.length - from;
        double[][] a = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i][j] = h[from + i][from + j];
            }
            a[i][n + i] = 1;
        }
        for (int c = 0; c < n; c++) {
            int p = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[p][c])) {
                    p = r;
                }
            }
            double[] t = a[c];
            a[c] = a[p];
            a[p] = t;
            double piv = a[c][c];
            for (int j = 0; j < 2 * n; j++) {
                a[c][j] /= piv;
            }
            for (int r = 0; r < n; r++) {
                if (r != c && a[r][c] != 0) {
                    double f = a[r][c];
                    for (int j = 0; j < 2 * n; j++) {
                        a[r][j] -= f * a[c][j];
                    }
                }
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            inv[i] = Arrays.copyOfRange(a[i], n, 2 * n);
        }
        return inv;
    }

    /** The independent float64 reference; returns the mask and leaves the updated weights in {@code w}. */
    private static boolean[][] naive(double[][] w, float[] hsum, long samples, SparsityPattern pattern, TailRule tail,
            int blockSize) {
        int rows = w.length;
        int n = w[0].length;
        double[][] h = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                h[i][j] = hsum[i * n + j] * (2.0 / samples);
            }
        }
        double mean = 0;
        for (int d = 0; d < n; d++) {
            if (h[d][d] == 0) {
                h[d][d] = 1;
                for (double[] row : w) {
                    row[d] = 0;
                }
            }
            mean += h[d][d] / n;
        }
        for (int d = 0; d < n; d++) {
            h[d][d] += 0.01 * mean;
        }
        double[] t00 = new double[n];
        for (int c = 0; c < n; c++) {
            t00[c] = trailingInverse(h, c)[0][0];
        }
        boolean[][] mask = new boolean[rows][n];
        for (int i = 0; i < n; i++) {
            int blockStart = i - i % blockSize;
            int blockEnd = Math.min(blockStart + blockSize, n);
            if (pattern.isUnstructured() && i == blockStart) {
                int count = blockEnd - blockStart;
                double[] sal = new double[rows * count];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < count; c++) {
                        double v = w[r][blockStart + c];
                        sal[r * count + c] = v * v / t00[blockStart + c];
                    }
                }
                double[] sorted = sal.clone();
                Arrays.sort(sorted);
                double thresh = sorted[(int) (sal.length * pattern.sparsity())];
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < count; c++) {
                        mask[r][blockStart + c] = sal[r * count + c] <= thresh;
                    }
                }
            }
            if (pattern.isNm() && (i - blockStart) % pattern.m() == 0) {
                int width = Math.min(pattern.m(), blockEnd - i);
                int p = width == pattern.m() ? pattern.n()
                        : (tail == TailRule.REFERENCE ? Math.min(pattern.n(), width) : pattern.n() * width / pattern.m());
                for (int r = 0; r < rows; r++) {
                    final double[] row = w[r];
                    final int g = i;
                    Integer[] idx = IntStream.range(0, width).boxed().toArray(Integer[]::new);
                    Arrays.sort(idx, Comparator.comparingDouble(j -> row[g + j] * row[g + j] / t00[g + j]));
                    for (int k = 0; k < p; k++) {
                        mask[r][i + idx[k]] = true;
                    }
                }
            }
            double[][] t = trailingInverse(h, i);
            for (int r = 0; r < rows; r++) {
                if (mask[r][i]) {
                    double e = w[r][i] / t[0][0];
                    for (int j = i; j < n; j++) {
                        w[r][j] -= e * t[0][j - i];
                    }
                    w[r][i] = 0;
                }
            }
        }
        return mask;
    }

    private static void assertAgrees(Problem p, SparsityPattern pattern, TailRule tail, int blockSize) {
        double[][] ref = new double[p.rows][p.cols];
        for (int r = 0; r < p.rows; r++) {
            for (int c = 0; c < p.cols; c++) {
                ref[r][c] = p.w[r * p.cols + c];
            }
        }
        boolean[][] refMask = naive(ref, p.stats.hessian(), p.stats.sampleCount(), pattern, tail, blockSize);
        float[] w = p.w.clone();
        Mask mask = SparseGpt.prune(w, p.rows, p.cols, p.stats.hessian(), p.stats.sampleCount(), pattern, tail,
                blockSize, 0.01);
        double maxDiff = 0;
        int maskDiffs = 0;
        for (int r = 0; r < p.rows; r++) {
            for (int c = 0; c < p.cols; c++) {
                if (mask.isPruned(r, c) != refMask[r][c]) {
                    maskDiffs++;
                }
                if (mask.isPruned(r, c)) {
                    assertThat(w[r * p.cols + c]).isEqualTo(0f);
                }
                maxDiff = Math.max(maxDiff, Math.abs(w[r * p.cols + c] - ref[r][c]));
            }
        }
        String what = pattern + " " + tail + " block " + blockSize + " [" + p.rows + "x" + p.cols + "]";
        assertThat(maskDiffs).as("mask differences, %s", what).isZero();
        assertThat(maxDiff).as("max |w - w_ref| %s", what).isLessThan(1e-4);
        System.out.printf("SparseGPT vs float64 OBS, %s: mask identical, max weight difference %.2e%n", what, maxDiff);
    }

    @Test
    void unstructuredMatchesStraightforwardObs() {
        assertAgrees(problem(11, 12, 40, 5), SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL, 16);
        assertAgrees(problem(12, 7, 33, -1), SparsityPattern.unstructured(0.3), TailRule.PROPORTIONAL, 128);
        assertAgrees(problem(13, 64, 96, 17), SparsityPattern.unstructured(0.6), TailRule.PROPORTIONAL, 32);
    }

    @Test
    void nmMatchesStraightforwardObsIncludingTails() {
        assertAgrees(problem(21, 12, 40, 5), SparsityPattern.nm(2, 4), TailRule.PROPORTIONAL, 16);
        assertAgrees(problem(22, 10, 48, -1), SparsityPattern.nm(4, 8), TailRule.PROPORTIONAL, 16);
        assertAgrees(problem(23, 9, 44, 3), SparsityPattern.nm(4, 8), TailRule.REFERENCE, 16);
        assertAgrees(problem(24, 9, 44, 3), SparsityPattern.nm(4, 8), TailRule.PROPORTIONAL, 16);
        assertAgrees(problem(25, 64, 130, -1), SparsityPattern.nm(2, 4), TailRule.PROPORTIONAL, 128);
    }

    @Test
    void prunedWeightsAreZeroAndKeptOnesReconstructed() {
        Problem p = problem(31, 16, 32, 7);
        float[] w = p.w.clone();
        Mask m = SparseGpt.prune(w, 16, 32, p.stats, SparsityPattern.nm(2, 4), TailRule.PROPORTIONAL);
        assertThat(m.prunedCount()).isEqualTo(16 * 32 / 2);
        int changedKept = 0;
        for (int i = 0; i < w.length; i++) {
            if (m.isPrunedIndex(i)) {
                assertThat(w[i]).isEqualTo(0f);
            } else if (w[i] != p.w[i]) {
                changedKept++;
            }
        }
        assertThat(changedKept).as("OBS updates the kept weights").isGreaterThan(w.length / 4);
        for (int r = 0; r < 16; r++) {
            assertThat(w[r * 32 + 7]).as("dead column zeroed").isEqualTo(0f);
        }
    }

    @Test
    void upperFactorSatisfiesUtUTimesHEqualsIdentity() {
        int n = 20;
        Random rnd = new Random(41);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                a[i * n + j] = rnd.nextGaussian();
            }
        }
        double[] h = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = i == j ? 1 : 0;
                for (int k = 0; k < n; k++) {
                    s += a[k * n + i] * a[k * n + j];
                }
                h[i * n + j] = s;
            }
        }
        float[] u = SparseGpt.upperCholeskyOfInverse(h.clone(), n);
        double maxErr = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (j < i) {
                    assertThat(u[i * n + j]).isEqualTo(0f);
                }
                // (U^T U H)[i][j]
                double s = 0;
                for (int k = 0; k < n; k++) {
                    double utu = 0;
                    for (int m = 0; m < n; m++) {
                        utu += (double) u[m * n + i] * u[m * n + k];
                    }
                    s += utu * h[k * n + j];
                }
                maxErr = Math.max(maxErr, Math.abs(s - (i == j ? 1 : 0)));
            }
        }
        assertThat(maxErr).isLessThan(1e-4);
    }
}
