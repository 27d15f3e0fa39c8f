package dev.gblm.prune;

import dev.gblm.GblmException;
import java.util.Locale;

/** How the gradient statistic {@code G} is formed from the per-sample sums. */
public enum GradNorm {
    /** {@code G = sum_n |s·g_n|} (the paper's headline). */
    L1,
    /** {@code G = sqrt(sum_n (s·g_n)^2)}. */
    L2;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static GradNorm parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            if (n.equals("l1")) {
                return L1;
            }
            if (n.equals("l2")) {
                return L2;
            }
        }
        throw new GblmException("unknown gradient norm '" + name + "' (expected l1 or l2)");
    }
}
