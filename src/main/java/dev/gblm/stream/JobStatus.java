package dev.gblm.stream;

import java.util.Locale;

/**
 * The latest state of a job on {@code gblm.job-status} (key = job id, JSON), written by the finalizer's planner when
 * it changes; what {@code gblm job status} shows besides the job's epochs and exported models.
 *
 * @param team        the owning team (null for jobs of the shared gblm.jobs topic)
 * @param state       see {@link State}
 * @param reason      why the job is refused (state REFUSED), else null
 * @param samples     samples of the job's streams in complete slices that no epoch of the job has used yet
 * @param minSamples  samples the first epoch needs
 * @param epoch       last declared epoch (0 = none yet)
 * @param finalized   whether every mask block of that epoch is done
 * @param nextEpochAt how many such samples the next epoch needs: minSamples for epoch 1, then refreshEvery (0 = no
 *                    further epoch: a one-epoch job)
 * @param updatedAt   wall-clock time of the change (ms)
 */
public record JobStatus(String job, String team, State state, String reason, long samples, int minSamples, int epoch,
        boolean finalized, long nextEpochAt, long updatedAt) {

    public enum State {
        /** Fewer samples than the next epoch needs. */
        WAITING,
        /** Not served: a stream the team may not read, an invalid job, statistics the profile lacks. */
        REFUSED,
        /** An epoch is declared and its mask blocks are being finalized. */
        FINALIZING,
        /** The last declared epoch is finalized. */
        FINALIZED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** This status without its time, to tell whether anything but the time changed. */
    public JobStatus withoutTime() {
        return new JobStatus(job, team, state, reason, samples, minSamples, epoch, finalized, nextEpochAt, 0);
    }

    /** Checks what a reader relies on; throws {@link RecordFormatException}. */
    public JobStatus validate() {
        if (!Ids.isSafe(job) || state == null) {
            throw new RecordFormatException("job status record lacks a safe job id or a state");
        }
        return this;
    }
}
