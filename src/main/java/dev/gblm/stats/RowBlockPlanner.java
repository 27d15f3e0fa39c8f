package dev.gblm.stats;

import dev.gblm.GblmException;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a module's {@code out} rows into row blocks whose encoded statistics record ({@link StatsCodec})
 * stays at or under a byte limit, so every record fits a Kafka message. Blocks hold complete rows (so
 * per-row and N:M masks need no other block) and are balanced: the planner uses the fewest blocks that fit
 * and spreads the rows evenly over them (sizes differ by at most one row).
 */
public final class RowBlockPlanner {
    /** Default record size target: 1 MiB, the broker's default message limit being slightly larger. */
    public static final long DEFAULT_MAX_BYTES = 1L << 20;

    private RowBlockPlanner() {}

    public static List<RowRange> plan(int out, int in, StatKinds kinds) {
        return plan(out, in, kinds, DEFAULT_MAX_BYTES);
    }

    public static List<RowRange> plan(int out, int in, StatKinds kinds, long maxBytes) {
        if (out <= 0 || in <= 0) {
            throw new IllegalArgumentException("matrix shape must be positive: [" + out + "," + in + "]");
        }
        long oneRow = StatsCodec.encodedSize(1, in, kinds);
        if (oneRow > maxBytes) {
            String why = kinds.contains(StatKind.HESSIAN)
                    ? " (the " + in + "x" + in + " Hessian alone takes " + 4L * in * in + " bytes and travels with every block)"
                    : "";
            throw new GblmException("cannot split statistics of a [" + out + "," + in + "] module " + kinds + " into records of at most "
                    + maxBytes + " bytes: one row needs " + oneRow + " bytes" + why);
        }
        long perRow = StatsCodec.encodedSize(2, in, kinds) - oneRow; // 0 when there are no per-row statistics
        long maxRows = perRow == 0 ? out : Math.min(out, 1 + (maxBytes - oneRow) / perRow);
        int blocks = (int) ((out + maxRows - 1) / maxRows);
        List<RowRange> plan = new ArrayList<>(blocks);
        int base = out / blocks;
        int extra = out % blocks;
        int start = 0;
        for (int i = 0; i < blocks; i++) {
            int rows = base + (i < extra ? 1 : 0);
            plan.add(new RowRange(start, start + rows));
            start += rows;
        }
        return plan;
    }
}
