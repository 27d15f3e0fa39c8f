package dev.gblm.prune;

/**
 * Turns scores (higher = keep) into masks. Every method reproduces the reference's selection rule exactly
 * (see DESIGN.md section 1); ties are resolved like a stable ascending sort: among equal scores the lower
 * column index is pruned first. Selection uses a k-th value search plus one tie pass per row, not a sort.
 */
public final class MaskSelector {
    private MaskSelector() {}

    /** Dispatches on the pattern: per-row unstructured or N:M. */
    public static Mask select(float[] scores, int rows, int in, SparsityPattern pattern, TailRule tail) {
        return pattern.isNm()
                ? nm(scores, rows, in, pattern.n(), pattern.m(), tail)
                : unstructured(scores, rows, in, pattern.sparsity());
    }

    /**
     * Per output row, prunes the {@code floor(in*sparsity)} lowest scores; among equal scores the lower
     * column goes first (what {@code torch.sort(stable=True)} followed by taking the first k indices gives).
     */
    public static Mask unstructured(float[] scores, int rows, int in, double sparsity) {
        checkShape(scores, rows, in);
        Mask mask = new Mask(rows, in);
        int k = (int) (in * sparsity); // Python's int(W.shape[1] * ratio): double product, truncated
        if (k <= 0) {
            return mask;
        }
        int[] keys = new int[in];
        for (int r = 0; r < rows; r++) {
            int o = r * in;
            if (k >= in) {
                for (int j = 0; j < in; j++) {
                    mask.prune(r, j);
                }
                continue;
            }
            for (int j = 0; j < in; j++) {
                keys[j] = OrderKeys.key(scores[o + j]);
            }
            int kth = OrderKeys.select(keys, 0, in, k - 1);
            // after select, keys[0..k-1) are <= kth: count the strictly smaller ones there
            int less = 0;
            for (int j = 0; j < k - 1; j++) {
                if (keys[j] < kth) {
                    less++;
                }
            }
            int ties = k - less; // equal-to-kth entries to prune, lowest columns first
            long base = (long) r * in;
            for (int j = 0; j < in; j++) {
                int kj = OrderKeys.key(scores[o + j]);
                if (kj < kth) {
                    mask.pruneIndex(base + j);
                } else if (kj == kth && ties > 0) {
                    mask.pruneIndex(base + j);
                    ties--;
                }
            }
        }
        return mask;
    }

    /**
     * N:M: in every group of {@code m} consecutive columns of a row, prunes the {@code n} lowest scores
     * (ties: lower column first); the trailing partial group, if any, per {@code tail}.
     */
    public static Mask nm(float[] scores, int rows, int in, int n, int m, TailRule tail) {
        checkShape(scores, rows, in);
        if (m < 2 || m > 64 || n < 1 || n >= m) {
            throw new IllegalArgumentException("N:M needs 1 <= N < M <= 64, got " + n + ":" + m);
        }
        Mask mask = new Mask(rows, in);
        int[] keys = new int[m];
        int full = in - in % m;
        int tailWidth = in - full;
        int tailPruned = tailWidth == 0 ? 0 : tail.prunedInGroup(n, m, tailWidth);
        for (int r = 0; r < rows; r++) {
            int o = r * in;
            long base = (long) r * in;
            for (int g = 0; g < full; g += m) {
                pruneLowest(scores, o + g, m, n, keys, mask, base + g);
            }
            if (tailPruned > 0) {
                pruneLowest(scores, o + full, tailWidth, tailPruned, keys, mask, base + full);
            }
        }
        return mask;
    }

    /**
     * Prunes the {@code count} lowest of {@code scores[from, from+width)} ({@code width <= 64}); ties go to
     * the lower index, because only a strictly smaller key replaces the current best.
     */
    static void pruneLowest(float[] scores, int from, int width, int count, int[] keys, Mask mask, long maskBase) {
        for (int j = 0; j < width; j++) {
            keys[j] = OrderKeys.key(scores[from + j]);
        }
        long picked = 0;
        for (int p = 0; p < count; p++) {
            int best = -1;
            int bestKey = 0;
            for (int j = 0; j < width; j++) {
                if ((picked & (1L << j)) == 0 && (best < 0 || keys[j] < bestKey)) {
                    best = j;
                    bestKey = keys[j];
                }
            }
            picked |= 1L << best;
            mask.pruneIndex(maskBase + best);
        }
    }

    /**
     * Magnitude's unstructured rule, one threshold for the whole matrix as the reference: {@code t} = the
     * element at index {@code floor(numel*sparsity)} of the ascending order of {@code |W|}; every weight with
     * {@code |W| <= t} is pruned — one more than {@code floor(numel*sparsity)}, plus any ties of {@code t}.
     * {@code weights} must be the whole matrix (a row block would get its own threshold).
     */
    public static Mask magnitudeThreshold(float[] weights, int rows, int in, double sparsity) {
        checkShape(weights, rows, in);
        int numel = weights.length;
        int idx = (int) (numel * sparsity);
        Mask mask = new Mask(rows, in);
        if (idx >= numel) {
            idx = numel - 1;
        }
        int[] keys = new int[numel];
        for (int i = 0; i < numel; i++) {
            keys[i] = OrderKeys.key(Math.abs(weights[i]));
        }
        int t = OrderKeys.select(keys, 0, numel, idx);
        for (int i = 0; i < numel; i++) {
            if (OrderKeys.key(Math.abs(weights[i])) <= t) {
                mask.pruneIndex(i);
            }
        }
        return mask;
    }

    static void checkShape(float[] a, int rows, int in) {
        if (rows <= 0 || in <= 0 || a.length != (long) rows * in) {
            throw new IllegalArgumentException("array of " + a.length + " values is not [" + rows + "," + in + "]");
        }
    }
}
