package dev.gblm.stream.finalizer;

import dev.gblm.stream.Profile;
import java.util.BitSet;
import java.util.List;

/**
 * The planner's memory of one job (store {@code gblm-planner-jobs}, key = job id): the last declared epoch, the
 * slices it used, and which of its mask blocks the block tasks have acknowledged.
 *
 * @param acked        distinct blocks acknowledged
 * @param profileSpec  the epoch's profile, to map an ack's block key to its index in the layout (null in records
 *                     written before acks were tracked per block)
 * @param ackedBlocks  {@link BitSet#toByteArray()} of the acknowledged block indices in the order of
 *                     {@code EpochRecord.blockKeys()}: a replayed ack must not count twice, and a bit per block stays
 *                     small (1.3 KB for 10^4 blocks) where block keys would not
 */
record JobProgress(String job, String profile, int epoch, List<String> sliceIds, int blockCount, int acked,
        boolean finalized, long declaredAt, Profile profileSpec, byte[] ackedBlocks) {
    JobProgress {
        sliceIds = List.copyOf(sliceIds);
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
        int a = acked + 1;
        return new JobProgress(job, profile, epoch, sliceIds, blockCount, a, a >= blockCount, declaredAt, profileSpec, b.toByteArray());
    }

    /** One more ack without knowing which block: only for records that predate per-block tracking. */
    JobProgress ackUntracked() {
        int a = acked + 1;
        return new JobProgress(job, profile, epoch, sliceIds, blockCount, a, a >= blockCount, declaredAt, profileSpec, ackedBlocks);
    }
}
