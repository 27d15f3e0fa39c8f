package dev.gblm.stream;

import java.util.ArrayList;
import java.util.List;

/**
 * Version {@code epoch} of a job's masks on {@code gblm.epochs} (key = job id, JSON). The masks are defined by this
 * record alone: the job as it was when declared, the exact slices (in merge order), and the block layout whose
 * mask blocks make up the epoch ({@link #blockKeys()} lists them).
 *
 * @param magnitudeThresholds for unstructured magnitude only: per module ({@code layer/module}), the one matrix
 *                            threshold (prune {@code |W| <= t}), computed by the planner from the weights
 * @param lastSampleTimestamp the latest {@link SliceRecord#lastSampleTimestamp} of the epoch's slices (ms; 0 when
 *                            unknown): the start of the end-to-end latency the exporter measures
 */
public record EpochRecord(String job, int epoch, String profile, JobSpec spec, List<String> sliceIds, long samples,
        long tokens, List<String> streams, List<ModuleLayout> blocks, long declaredAt,
        java.util.Map<String, Float> magnitudeThresholds, long lastSampleTimestamp) {
    public EpochRecord {
        sliceIds = List.copyOf(sliceIds);
        streams = List.copyOf(streams);
        blocks = List.copyOf(blocks);
    }

    /** Every block key the epoch has a mask block for (profile/layer/module/rowStart). */
    public List<BlockKey> blockKeys() {
        List<BlockKey> keys = new ArrayList<>();
        for (ModuleLayout m : blocks) {
            for (int start : m.rowStarts()) {
                keys.add(new BlockKey(profile, m.layer(), m.kind(), start));
            }
        }
        return keys;
    }

    public int blockCount() {
        return ModuleLayout.blockCount(blocks);
    }
}
