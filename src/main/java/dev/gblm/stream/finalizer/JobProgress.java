package dev.gblm.stream.finalizer;

import dev.gblm.stream.EpochBase;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Profile;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The planner's memory of one job (store {@code gblm-planner-jobs}, key = job id): the last declared epoch, the
 * slices it listed, which of its mask blocks the block tasks have acknowledged, and what later epochs build on.
 *
 * @param acked        distinct blocks acknowledged
 * @param profileSpec  the epoch's profile, to map an ack's block key to its index in the layout (null in records
 *                     written before acks were tracked per block)
 * @param ackedBlocks  {@link BitSet#toByteArray()} of the acknowledged block indices in the order of
 *                     {@code EpochRecord.blockKeys()}: a replayed ack must not count twice, and a bit per block stays
 *                     small (1.3 KB for 10^4 blocks) where block keys would not
 * @param spec         the job as the epoch declared it (null in older records)
 * @param samples      samples of the whole epoch, base included
 * @param tokens       tokens of the whole epoch, base included
 * @param base         the job's base sum: the one the epoch started from while it is in flight, the epoch's own once
 *                     folded after finalization (window-0 re-pruning jobs only; null otherwise)
 * @param firstUsed    re-pruning jobs: slice id → the epoch that first used it, for the slices still stored (pruned
 *                     when slices are retired); null for one-epoch jobs
 */
record JobProgress(String job, String profile, int epoch, List<String> sliceIds, int blockCount, int acked,
        boolean finalized, long declaredAt, Profile profileSpec, byte[] ackedBlocks, JobSpec spec, long samples,
        long tokens, EpochBase base, Map<String, Integer> firstUsed) {
    JobProgress {
        sliceIds = List.copyOf(sliceIds);
        firstUsed = firstUsed == null ? null : new TreeMap<>(firstUsed);
    }

    boolean isAcked(int blockIndex) {
        return ackedBlocks != null && BitSet.valueOf(ackedBlocks).get(blockIndex);
    }

    /** With block {@code blockIndex} acknowledged; {@code this} if it already was. */
    JobProgress ack(int blockIndex) {
        BitSet b = ackedBlocks == null ? new BitSet() : BitSet.valueOf(ackedBlocks);
        if (b.get(blockIndex)) {
            return this;
        }
        b.set(blockIndex);
        return acked(acked + 1, b.toByteArray());
    }

    /** One more ack without knowing which block: only for records that predate per-block tracking. */
    JobProgress ackUntracked() {
        return acked(acked + 1, ackedBlocks);
    }

    private JobProgress acked(int a, byte[] bits) {
        return new JobProgress(job, profile, epoch, sliceIds, blockCount, a, a >= blockCount, declaredAt, profileSpec, bits,
                spec, samples, tokens, base, firstUsed);
    }

    /** With the base the finalized epoch was folded into. */
    JobProgress folded(EpochBase newBase) {
        return new JobProgress(job, profile, epoch, sliceIds, blockCount, acked, finalized, declaredAt, profileSpec,
                ackedBlocks, spec, samples, tokens, newBase, firstUsed);
    }

    /** Without the retired slices in {@link #firstUsed}; {@code this} if none of them is there. */
    JobProgress forget(Set<String> retired) {
        if (firstUsed == null || retired.stream().noneMatch(firstUsed::containsKey)) {
            return this;
        }
        Map<String, Integer> kept = new TreeMap<>(firstUsed);
        kept.keySet().removeAll(retired);
        return new JobProgress(job, profile, epoch, sliceIds, blockCount, acked, finalized, declaredAt, profileSpec,
                ackedBlocks, spec, samples, tokens, base, kept);
    }

    /** The pure planner's view of this job. */
    EpochPlanner.History history() {
        return new EpochPlanner.History(epoch, sliceIds, base, firstUsed);
    }
}
