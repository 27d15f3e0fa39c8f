package dev.gblm.prune.batch;

import dev.gblm.GblmException;
import java.util.Locale;

/** Where a layer's activation statistics come from (docs/design.md, "Pruning math"). */
public enum PruneMode {
    /**
     * The paper's: layer {@code l}'s activation statistics (and SparseGPT's Hessians) are taken on inputs
     * that already passed through the pruned layers {@code 0..l-1}. The default.
     */
    SEQUENTIAL("sequential"),
    /** Every statistic from the dense model; what the streaming pipeline computes. */
    ONE_SHOT("one-shot");

    private final String cliName;

    PruneMode(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    public static PruneMode defaultMode() {
        return SEQUENTIAL;
    }

    public static PruneMode parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
            for (PruneMode m : values()) {
                if (m.cliName.equals(n) || (m == ONE_SHOT && n.equals("oneshot"))) {
                    return m;
                }
            }
        }
        throw new GblmException("unknown mode '" + name + "' (expected sequential or one-shot)");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
