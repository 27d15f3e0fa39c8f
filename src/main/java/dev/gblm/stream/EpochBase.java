package dev.gblm.stream;

import java.util.List;

/**
 * The base sum an epoch of a re-pruning job with {@code window = 0} starts from: per statistics block, the left fold
 * of exactly {@link #sliceIds} in that order, kept by the block tasks under the job's id so the slices themselves can
 * be retired. A base is versioned by the epoch whose statistics it equals: after epoch {@code e} is finalized its
 * slices are folded in, and the base of version {@code e} is exactly epoch {@code e}'s sum. Epoch {@code e+1} is then
 * base {@code e} plus its own listed slices, so its sum is the left fold of {@code sliceIds ++ EpochRecord.sliceIds}.
 *
 * @param job      the job whose base it is (each job folds its own slices; a slice can be in several bases)
 * @param epoch    the version: the epoch whose statistics the base equals (>= 1)
 * @param sliceIds the folded slices in fold (merge) order
 * @param samples  samples of the folded slices
 * @param tokens   tokens of the folded slices
 */
public record EpochBase(String job, int epoch, List<String> sliceIds, long samples, long tokens) {
    public EpochBase {
        sliceIds = sliceIds == null ? List.of() : List.copyOf(sliceIds);
    }

    /** This base without its slice list: what a block task needs to find it (job and version), in every instruction. */
    public EpochBase reference() {
        return new EpochBase(job, epoch, List.of(), samples, tokens);
    }

    /** Checks that the base belongs to {@code owner} and precedes {@code beforeEpoch}; throws {@link RecordFormatException}. */
    public EpochBase validate(String owner, int beforeEpoch) {
        if (job == null || !job.equals(owner) || epoch < 1 || epoch >= beforeEpoch || sliceIds.isEmpty() || samples <= 0) {
            throw new RecordFormatException("base " + job + "@" + epoch + " (" + sliceIds.size() + " slices, " + samples
                    + " samples) cannot start epoch " + beforeEpoch + " of job " + owner);
        }
        return this;
    }
}
