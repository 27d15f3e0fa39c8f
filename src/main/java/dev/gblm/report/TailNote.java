package dev.gblm.report;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import java.util.List;
import java.util.Locale;

/** Explains, from a model's row lengths, what the N:M tail rule did and what the reference rule would do. */
public final class TailNote {
    private TailNote() {}

    /** A module whose rows have {@code in} input columns. */
    public record RowLength(String module, int in) {}

    /** One sentence per module whose row length is not a multiple of M; empty when every row divides evenly. */
    public static String describe(SparsityPattern nm, List<RowLength> modules, TailRule used) {
        StringBuilder sb = new StringBuilder();
        int n = nm.n();
        int m = nm.m();
        for (RowLength r : modules) {
            int width = r.in() % m;
            if (width == 0) {
                continue;
            }
            int usedCount = used.prunedInGroup(n, m, width);
            int refCount = TailRule.REFERENCE.prunedInGroup(n, m, width);
            int propCount = TailRule.PROPORTIONAL.prunedInGroup(n, m, width);
            int first = r.in() - width;
            sb.append(String.format(Locale.ROOT,
                    "Under %s, %s rows (%d inputs) end in a %d-wide partial group (columns %d..%d). "
                            + "The rule used here, %s, prunes %d of those %d weights per row; ",
                    nm.patternName(), r.module(), r.in(), width, first, r.in() - 1, name(used), usedCount, width));
            if (used == TailRule.REFERENCE) {
                sb.append(String.format(Locale.ROOT, "the proportional rule (floor(N·width/M)) would prune %d.",
                        propCount));
            } else {
                sb.append(String.format(Locale.ROOT, "the reference code's rule (the N lowest of whatever the slice "
                        + "holds) would prune %d%s.", refCount,
                        refCount == width ? ", removing those columns from every row entirely" : ""));
            }
            sb.append(' ');
        }
        return sb.toString().strip();
    }

    static String name(TailRule r) {
        return r == TailRule.REFERENCE ? "reference (min(N, width))" : "proportional (floor(N·width/M))";
    }
}
