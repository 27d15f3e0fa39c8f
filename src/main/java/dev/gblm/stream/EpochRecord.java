package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * Version {@code epoch} of a job's masks on {@code gblm.epochs} (key = job id, JSON). The masks are defined by this
 * record alone: the job as it was when declared, the exact slices (in merge order), and the block layout whose
 * mask blocks make up the epoch ({@link #blockKeys()} lists them).
 *
 * @param magnitudeThresholds for unstructured magnitude only: per module ({@code layer/module}), the one matrix
 *                            threshold (prune {@code |W| <= t}), computed by the planner from the weights
 * @param lastSampleTimestamp the latest {@link SliceRecord#lastSampleTimestamp} of the epoch's slices (ms; 0 when
 *                            unknown): the start of the end-to-end latency the exporter measures
 * @param finalizer           application id of the finalizer that declared the epoch; its block tasks put the same id
 *                            in header {@link Topics#HEADER_FINALIZER} of every mask block, so the exporter never mixes
 *                            the blocks of two finalizers that both declared this epoch (null in older records)
 * @param sliceIds            the slices merged on top of {@link #base} (all of them when there is no base), in merge
 *                            order
 * @param samples             samples of the whole epoch: the base's plus the listed slices'
 * @param base                for a re-pruning job with window 0 from epoch 2 on: the base sum the epoch starts from
 *                            (null otherwise and in older records); the epoch's statistics are the left fold of
 *                            {@link #mergeOrder()}
 * @param profileSpec         the full profile, only for a job with {@link JobSpec#holdout()} {@code > 0} (the exporter
 *                            needs its sequence length to evaluate the held-out samples as the workers would have
 *                            read them); null otherwise and in older records
 */
public record EpochRecord(String job, int epoch, String profile, JobSpec spec, List<String> sliceIds, long samples,
        long tokens, List<String> streams, List<ModuleLayout> blocks, long declaredAt,
        Map<String, Float> magnitudeThresholds, long lastSampleTimestamp, String finalizer, EpochBase base,
        Profile profileSpec) {
    @JsonCreator
    public EpochRecord {
        sliceIds = sliceIds == null ? List.of() : List.copyOf(sliceIds);
        streams = streams == null ? List.of() : List.copyOf(streams);
        blocks = blocks == null ? List.of() : List.copyOf(blocks);
    }

    /** An epoch without a base (epoch 1, windowed and one-epoch jobs). */
    public EpochRecord(String job, int epoch, String profile, JobSpec spec, List<String> sliceIds, long samples,
            long tokens, List<String> streams, List<ModuleLayout> blocks, long declaredAt,
            Map<String, Float> magnitudeThresholds, long lastSampleTimestamp, String finalizer) {
        this(job, epoch, profile, spec, sliceIds, samples, tokens, streams, blocks, declaredAt, magnitudeThresholds,
                lastSampleTimestamp, finalizer, null);
    }

    /** An epoch record without the full profile. */
    public EpochRecord(String job, int epoch, String profile, JobSpec spec, List<String> sliceIds, long samples,
            long tokens, List<String> streams, List<ModuleLayout> blocks, long declaredAt,
            Map<String, Float> magnitudeThresholds, long lastSampleTimestamp, String finalizer, EpochBase base) {
        this(job, epoch, profile, spec, sliceIds, samples, tokens, streams, blocks, declaredAt, magnitudeThresholds,
                lastSampleTimestamp, finalizer, base, null);
    }

    /**
     * Checks what a consumer relies on before acting on the record: a safe job id ({@link Ids}), an epoch >= 1, a
     * profile id, the job spec, at least one slice and one block, and a well-formed layout. Throws
     * {@link RecordFormatException} with the reason.
     */
    public EpochRecord validate() {
        if (!Ids.isSafe(job)) {
            throw new RecordFormatException("epoch record has an unsafe or missing job id '" + job + "'");
        }
        if (epoch < 1 || !Profile.isValidId(profile) || spec == null) {
            throw new RecordFormatException("epoch record " + job + "/" + epoch + " lacks epoch >= 1, profile or spec");
        }
        if (sliceIds.isEmpty() || blocks.isEmpty()) {
            throw new RecordFormatException("epoch record " + job + "/" + epoch + " lists no slices or no blocks");
        }
        for (ModuleLayout m : blocks) {
            m.validate();
        }
        if (profileSpec != null && !profileSpec.id().equals(profile)) {
            throw new RecordFormatException("epoch record " + job + "/" + epoch + " names profile " + profile
                    + " but its profileSpec hashes to " + profileSpec.id());
        }
        if (base != null) {
            base.validate(job, epoch);
            if (new HashSet<>(mergeOrder()).size() != base.sliceIds().size() + sliceIds.size()) {
                throw new RecordFormatException("epoch record " + job + "/" + epoch + " lists a slice twice (base and listed)");
            }
        }
        return this;
    }

    /** Every slice of the epoch in merge order: the base's folded slices, then the listed ones. */
    public List<String> mergeOrder() {
        if (base == null) {
            return sliceIds;
        }
        List<String> all = new ArrayList<>(base.sliceIds());
        all.addAll(sliceIds);
        return all;
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
