package dev.gblm.prune;

/**
 * Turns scores (higher = keep) into masks. Every method reproduces the reference's selection rule exactly
 * (see docs/design.md, "Pruning math"); ties are resolved like a stable ascending sort: among equal scores the lower
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
        RadixSelect sel = new RadixSelect();
        for (int r = 0; r < rows; r++) {
            int o = r * in;
            long base = (long) r * in;
            for (int j = 0; j < in; j++) {
                keys[j] = OrderKeys.key(scores[o + j]);
            }
            if (k >= in) {
                pruneBelow(keys, in, Integer.MAX_VALUE, true, mask, base);
                continue;
            }
            int kth = sel.select(keys, in, k - 1);
            long ties = k - sel.less; // entries equal to kth to prune, lowest columns first
            if (ties == sel.equal) {
                pruneBelow(keys, in, kth, true, mask, base);
            } else {
                pruneBelow(keys, in, kth, false, mask, base);
                pruneFirstEqual(keys, in, kth, ties, mask, base);
            }
        }
        return mask;
    }

    /** Prunes every key {@code < t} (or {@code <= t}), 64 columns per mask write, without data-dependent branches. */
    private static void pruneBelow(int[] keys, int n, int t, boolean inclusive, Mask mask, long base) {
        if (!inclusive && t == Integer.MIN_VALUE) {
            return; // nothing is below the smallest key
        }
        int limit = inclusive ? t : t - 1;
        for (int j = 0; j < n; j += 64) {
            int w = Math.min(64, n - j);
            long bits = 0;
            for (int b = 0; b < w; b++) {
                bits |= (keys[j + b] <= limit ? 1L : 0L) << b;
            }
            if (bits != 0) {
                mask.orBits(base + j, bits, w);
            }
        }
    }

    private static void pruneFirstEqual(int[] keys, int n, int t, long count, Mask mask, long base) {
        for (int j = 0; j < n && count > 0; j++) {
            if (keys[j] == t) {
                mask.pruneIndex(base + j);
                count--;
            }
        }
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
     * the lower index. Each entry's stable rank is counted branch-free: earlier entries rank below it when
     * {@code <=}, later ones when {@code <}.
     */
    static void pruneLowest(float[] scores, int from, int width, int count, int[] keys, Mask mask, long maskBase) {
        for (int j = 0; j < width; j++) {
            keys[j] = OrderKeys.key(scores[from + j]);
        }
        long bits = 0;
        for (int j = 0; j < width; j++) {
            int kj = keys[j];
            int rank = 0;
            for (int i = 0; i < j; i++) {
                rank += keys[i] <= kj ? 1 : 0;
            }
            for (int i = j + 1; i < width; i++) {
                rank += keys[i] < kj ? 1 : 0;
            }
            bits |= (rank < count ? 1L : 0L) << j;
        }
        mask.orBits(maskBase, bits, width);
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
        int t = new RadixSelect().select(keys, numel, idx);
        pruneBelow(keys, numel, t, true, mask, 0);
        return mask;
    }

    static void checkShape(float[] a, int rows, int in) {
        if (rows <= 0 || in <= 0 || a.length != (long) rows * in) {
            throw new IllegalArgumentException("array of " + a.length + " values is not [" + rows + "," + in + "]");
        }
    }
}
