package dev.gblm.prune;

/**
 * Order-preserving int keys for floats. Selecting on ints avoids the NaN and -0.0 pitfalls of float
 * comparisons and allows radix selection: -0.0 is folded to +0.0 (torch compares them
 * equal) and every NaN maps to the largest key (torch sorts NaN last).
 */
final class OrderKeys {
    private OrderKeys() {}

    static int key(float f) {
        if (f != f) {
            return Integer.MAX_VALUE;
        }
        int b = Float.floatToRawIntBits(f + 0.0f);
        return b ^ ((b >> 31) & 0x7fffffff);
    }
}
