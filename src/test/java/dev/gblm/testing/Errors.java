package dev.gblm.testing;

/** Error measures the statistics tests compare with. */
public final class Errors {
    private Errors() {}

    /** {@code max |a - b| / max |b|} (the plain max difference when {@code b} is all zero). */
    public static double maxRelative(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        }
        double d = 0;
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs((double) a[i] - b[i]));
            m = Math.max(m, Math.abs(b[i]));
        }
        return m == 0 ? d : d / m;
    }
}
