package dev.gblm.prune;

import java.util.Objects;

/** Everything that decides a mask besides weights and statistics. */
public record PruneSettings(Method method, GradNorm gradNorm, SparsityPattern pattern, TailRule tailRule) {
    public PruneSettings {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(gradNorm, "gradNorm");
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(tailRule, "tailRule");
    }

    /** With the default gradient norm (l1) and tail rule (proportional). */
    public static PruneSettings of(Method method, SparsityPattern pattern) {
        return new PruneSettings(method, GradNorm.L1, pattern, TailRule.defaultRule());
    }
}
