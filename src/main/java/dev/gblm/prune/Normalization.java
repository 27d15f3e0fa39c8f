package dev.gblm.prune;

import dev.gblm.GblmException;
import java.util.Locale;

/**
 * How the gradient term of the gblm score is normalised over the {@code N} calibration samples. The activation
 * term is a per-sample mean either way ({@code sqrt(A/N)}, Wanda's); only the gradient term differs.
 */
public enum Normalization {
    /**
     * The paper's sums: {@code G = sum_n |g_n|} (l1) or {@code sqrt(sum_n g_n^2)} (l2). The gradient term's weight
     * relative to the activation term grows with {@code N} (like {@code N} for l1, {@code sqrt N} for l2).
     */
    SUM,
    /**
     * Per-sample means: {@code G/N} (l1) or {@code sqrt(G2/N)} (l2), so an alpha means the same whatever the number
     * of samples (e.g. across re-pruning epochs of different sizes).
     */
    MEAN;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Normalization parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            if (n.equals("sum")) {
                return SUM;
            }
            if (n.equals("mean")) {
                return MEAN;
            }
        }
        throw new GblmException("unknown normalization '" + name + "' (expected sum or mean)");
    }
}
