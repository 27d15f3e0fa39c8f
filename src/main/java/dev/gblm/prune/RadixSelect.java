package dev.gblm.prune;

/**
 * Exact k-th smallest of int keys by most-significant-digit radix selection (11, 11 and 10 bits): one
 * histogram pass over all keys, then passes over ever fewer candidates. Branch-light and linear, it beats
 * quickselect several times on the row lengths of LLM matrices, and it also yields how many keys are below
 * and equal to the result — exactly what the tie pass needs. Reusable scratch; not thread-safe.
 */
final class RadixSelect {
    private final int[] hist = new int[2048];
    private int[] scratch = new int[0];
    private int[] scratch2 = new int[0];

    /** The selected key of the last {@link #select} call. */
    int kth;
    /** How many keys are strictly smaller than {@link #kth}. */
    long less;
    /** How many keys equal {@link #kth}. */
    long equal;

    private static final int[] SHIFT = {21, 10, 0};
    private static final int[] MASK = {0x7ff, 0x7ff, 0x3ff};

    /** Selects the key of ascending rank {@code rank} among {@code keys[0, n)} (not modified). */
    int select(int[] keys, int n, long rank) {
        if (rank < 0 || rank >= n) {
            throw new IllegalArgumentException("rank " + rank + " outside 0.." + (n - 1));
        }
        int[] cand = keys;
        int cn = n;
        long lessCount = 0;
        int prefix = 0;
        for (int level = 0; level < 3; level++) {
            int shift = SHIFT[level];
            int mask = MASK[level];
            int buckets = mask + 1;
            java.util.Arrays.fill(hist, 0, buckets, 0);
            for (int i = 0; i < cn; i++) {
                hist[((cand[i] ^ 0x80000000) >>> shift) & mask]++;
            }
            int b = 0;
            long below = 0;
            while (below + hist[b] <= rank) {
                below += hist[b];
                b++;
            }
            rank -= below;
            lessCount += below;
            prefix |= b << shift;
            int count = hist[b];
            if (level == 2 || count == 1) {
                // every remaining candidate shares all 32 bits (level 2) or there is just one
                int key;
                if (level == 2) {
                    key = prefix ^ 0x80000000;
                } else {
                    key = findOne(cand, cn, shift, mask, b);
                }
                kth = key;
                less = lessCount;
                equal = level == 2 ? count : 1;
                if (level < 2) {
                    // one candidate in its bucket: equal keys elsewhere are impossible (they share the bucket)
                    equal = 1;
                }
                return key;
            }
            int[] out = level == 0 ? scratch(count) : scratch2(count);
            int o = 0;
            for (int i = 0; i < cn; i++) {
                int k = cand[i];
                out[o] = k;
                o += (((k ^ 0x80000000) >>> shift) & mask) == b ? 1 : 0;
            }
            cand = out;
            cn = count;
        }
        throw new AssertionError("unreachable");
    }

    private static int findOne(int[] cand, int cn, int shift, int mask, int b) {
        for (int i = 0; i < cn; i++) {
            if ((((cand[i] ^ 0x80000000) >>> shift) & mask) == b) {
                return cand[i];
            }
        }
        throw new AssertionError("bucket " + b + " empty");
    }

    private int[] scratch(int n) {
        if (scratch.length < n + 1) {
            scratch = new int[Math.max(n + 1, scratch.length * 2)];
        }
        return scratch;
    }

    private int[] scratch2(int n) {
        if (scratch2.length < n + 1) {
            scratch2 = new int[Math.max(n + 1, scratch2.length * 2)];
        }
        return scratch2;
    }
}
