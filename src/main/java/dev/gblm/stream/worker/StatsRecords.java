package dev.gblm.stream.worker;

import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stats.RowRange;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.BlockKey;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits a slice's statistics into the records of {@code gblm.stats}: every module cut into row blocks by
 * {@link RowBlockPlanner} (so no value exceeds the profile's {@code blockBytes}), keyed by {@link BlockKey},
 * value = {@link StatsCodec} bytes. Pure: the worker wraps each block in a producer record.
 */
public final class StatsRecords {
    /** One encoded row block. */
    public record Block(BlockKey key, byte[] value) {}

    private StatsRecords() {}

    public static List<Block> split(CalibrationStats stats, String profileId, long maxRecordBytes) {
        List<Block> out = new ArrayList<>();
        for (ModuleStats m : stats.modules().values()) {
            out.addAll(split(m, profileId, maxRecordBytes));
        }
        return out;
    }

    /** The records of one module (a worker publishing layer by layer encodes one module at a time). */
    public static List<Block> split(ModuleStats m, String profileId, long maxRecordBytes) {
        List<Block> out = new ArrayList<>();
        for (RowRange r : RowBlockPlanner.plan(m.rows(), m.in(), m.kinds(), maxRecordBytes)) {
            ModuleStats block = m.rowBlock(m.rowStart() + r.start(), m.rowStart() + r.end());
            byte[] value = StatsCodec.encode(block);
            if (value.length > maxRecordBytes) {
                // the planner guarantees this; a violation would be rejected by the broker mid-transaction
                throw new IllegalStateException("block " + block.describe() + " encodes to " + value.length
                        + " bytes > limit " + maxRecordBytes);
            }
            out.add(new Block(new BlockKey(profileId, m.layer(), m.module(), block.rowStart()), value));
        }
        return out;
    }
}
