package dev.gblm.prune;

import dev.gblm.GblmException;
import java.util.Locale;

/**
 * What to prune: {@code unstructured(sparsity)} (per-row fraction, or one threshold per matrix for
 * magnitude) or {@code N:M} (in every group of M consecutive input columns of a row, prune the N lowest).
 */
public final class SparsityPattern {
    private final boolean nm;
    private final int n;
    private final int m;
    private final double sparsity;

    private SparsityPattern(boolean nm, int n, int m, double sparsity) {
        this.nm = nm;
        this.n = n;
        this.m = m;
        this.sparsity = sparsity;
    }

    public static SparsityPattern unstructured(double sparsity) {
        if (!(sparsity > 0 && sparsity < 1)) {
            throw new GblmException("sparsity must be in (0, 1), got " + sparsity);
        }
        return new SparsityPattern(false, 0, 0, sparsity);
    }

    public static SparsityPattern nm(int n, int m) {
        if (m < 2 || m > 64 || n < 1 || n >= m) {
            throw new GblmException("N:M pattern needs 1 <= N < M <= 64, got " + n + ":" + m);
        }
        return new SparsityPattern(true, n, m, (double) n / m);
    }

    /**
     * Parses {@code unstructured} or {@code N:M} (e.g. {@code 2:4}, {@code 4:8}). {@code sparsity} may be
     * null for N:M (it is then N/M); when given it must equal N/M. Unstructured requires it.
     */
    public static SparsityPattern parse(String pattern, Double sparsity) {
        String p = pattern == null ? "" : pattern.trim().toLowerCase(Locale.ROOT);
        if (p.equals("unstructured")) {
            if (sparsity == null) {
                throw new GblmException("unstructured pattern needs a sparsity in (0, 1)");
            }
            return unstructured(sparsity);
        }
        int colon = p.indexOf(':');
        if (colon > 0) {
            int n;
            int m;
            try {
                n = Integer.parseInt(p.substring(0, colon));
                m = Integer.parseInt(p.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new GblmException("bad sparsity pattern '" + pattern + "' (expected unstructured, 2:4, 4:8, ...)");
            }
            SparsityPattern s = nm(n, m);
            if (sparsity != null && Math.abs(sparsity - s.sparsity) > 1e-9) {
                throw new GblmException("pattern " + n + ":" + m + " means sparsity " + s.sparsity + ", but sparsity "
                        + sparsity + " was given (omit it or pass " + s.sparsity + ")");
            }
            return s;
        }
        throw new GblmException("bad sparsity pattern '" + pattern + "' (expected unstructured, 2:4, 4:8, ...)");
    }

    public boolean isNm() {
        return nm;
    }

    public boolean isUnstructured() {
        return !nm;
    }

    /** N of N:M (0 for unstructured). */
    public int n() {
        return n;
    }

    /** M of N:M (0 for unstructured). */
    public int m() {
        return m;
    }

    /** Target sparsity: as given for unstructured, N/M for N:M. */
    public double sparsity() {
        return sparsity;
    }

    /** CLI form: {@code unstructured} or {@code N:M}. */
    public String patternName() {
        return nm ? n + ":" + m : "unstructured";
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof SparsityPattern)) {
            return false;
        }
        SparsityPattern s = (SparsityPattern) o;
        return nm == s.nm && n == s.n && m == s.m && Double.compare(sparsity, s.sparsity) == 0;
    }

    @Override
    public int hashCode() {
        return Boolean.hashCode(nm) * 31 * 31 + n * 31 + m + Double.hashCode(sparsity);
    }

    @Override
    public String toString() {
        return nm ? patternName() : "unstructured(" + sparsity + ")";
    }
}
