package dev.gblm.stream.finalizer;

import java.util.List;

/**
 * The planner's memory of one job (store {@code gblm-planner-jobs}, key = job id): the last declared epoch, the
 * slices it used, and how many of its mask blocks the block tasks have acknowledged.
 */
record JobProgress(String job, String profile, int epoch, List<String> sliceIds, int blockCount, int acked,
        boolean finalized, long declaredAt) {
    JobProgress {
        sliceIds = List.copyOf(sliceIds);
    }

    JobProgress ack() {
        int a = acked + 1;
        return new JobProgress(job, profile, epoch, sliceIds, blockCount, a, a >= blockCount, declaredAt);
    }
}
