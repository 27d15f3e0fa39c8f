package dev.gblm.prune;

import dev.gblm.GblmException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** A pruning method. Scores are "higher = keep". See docs/design.md, "Pruning math", for the exact math. */
public enum Method {
    /** {@code |W|}; unstructured uses one threshold per matrix, as the reference. */
    MAGNITUDE("magnitude"),
    /** {@code |W| · sqrt(A/N)}. */
    WANDA("wanda"),
    /** {@code |W| · G} (ablation of the paper). */
    GRADIENT("gradient"),
    /** {@code |W| · sqrt(A/N) + |W| · G} (GBLM-Pruner). */
    GBLM("gblm"),
    /** OBS pruning with weight update (SparseGPT). */
    SPARSEGPT("sparsegpt");

    private final String cliName;

    Method(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Whether the score needs activation statistics ({@code A}, {@code N}). */
    public boolean needsActivations() {
        return this == WANDA || this == GBLM;
    }

    /** Whether the score needs gradient statistics. */
    public boolean needsGradients() {
        return this == GRADIENT || this == GBLM;
    }

    /** Parses a CLI name (case-insensitive); throws {@link GblmException} listing the valid names. */
    public static Method parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (Method m : values()) {
                if (m.cliName.equals(n)) {
                    return m;
                }
            }
        }
        throw new GblmException("unknown pruning method '" + name + "' (expected one of "
                + Arrays.stream(values()).map(Method::cliName).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return cliName;
    }
}
