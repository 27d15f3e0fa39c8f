package dev.gblm.report;

import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.PruneMode;
import java.util.Locale;
import java.util.Objects;

/**
 * One pruning run of the report. {@code mode} is null for mode-independent methods (see
 * {@link MethodVariant#modeIndependent()}): one run then stands for both modes.
 */
public record RunSpec(MethodVariant variant, SparsityPattern pattern, PruneMode mode) {
    public RunSpec {
        Objects.requireNonNull(variant, "variant");
        Objects.requireNonNull(pattern, "pattern");
        if (variant.modeIndependent() != (mode == null)) {
            throw new IllegalArgumentException(variant + (mode == null ? " needs a mode" : " takes no mode"));
        }
    }

    /** The run for {@code variant} in {@code mode} (the mode is dropped where it makes no difference). */
    public static RunSpec of(MethodVariant variant, SparsityPattern pattern, PruneMode mode) {
        return new RunSpec(variant, pattern, variant.modeIndependent() ? null : mode);
    }

    public PruneSettings config(TailRule tailRule) {
        return new PruneSettings(variant.method(), variant.gradNorm(), pattern, tailRule);
    }

    /** The mode to hand the pruner (any mode gives the same result when {@code mode} is null). */
    public PruneMode effectiveMode() {
        return mode == null ? PruneMode.defaultMode() : mode;
    }

    /** The report's name for the mode column. */
    public String modeLabel() {
        if (mode != null) {
            return mode.cliName();
        }
        return variant.needsCalibration() ? "either" : "none";
    }

    /** e.g. {@code wanda 2:4 sequential}, {@code magnitude 50% unstructured}. */
    public String label() {
        return variant.label() + " " + patternLabel(pattern) + (mode == null ? "" : " " + mode.cliName());
    }

    public static String patternLabel(SparsityPattern p) {
        return p.isNm() ? p.patternName() : String.format(Locale.ROOT, "%.0f%% unstructured", p.sparsity() * 100);
    }
}
