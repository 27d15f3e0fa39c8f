package dev.gblm.prune;

/**
 * How many weights to prune in the trailing partial group of an N:M pattern, when a row's length is not a
 * multiple of M (group width {@code w < M}).
 *
 * <p>The default is {@link #PROPORTIONAL}: the reference code slices {@code W[:, i:i+M]} and prunes its N
 * lowest whatever the slice's width, so under 4:8 a 4-wide tail is pruned entirely — a column block
 * silently removed from every row, a side effect of slicing rather than a decision. Proportional keeps the
 * tail at (at most) the pattern's density. {@link #REFERENCE} exists to reproduce the reference's masks.
 */
public enum TailRule {
    /** Prune {@code min(N, w)} of the tail, as the reference code does. */
    REFERENCE,
    /** Prune {@code floor(N·w/M)} of the tail. The default. */
    PROPORTIONAL;

    public static TailRule defaultRule() {
        return PROPORTIONAL;
    }

    /** Number of weights pruned in a group of width {@code width} (1..m) under an {@code n:m} pattern. */
    public int prunedInGroup(int n, int m, int width) {
        if (width <= 0 || width > m) {
            throw new IllegalArgumentException("group width " + width + " outside 1.." + m);
        }
        if (width == m) {
            return n;
        }
        return this == REFERENCE ? Math.min(n, width) : (int) ((long) n * width / m);
    }
}
