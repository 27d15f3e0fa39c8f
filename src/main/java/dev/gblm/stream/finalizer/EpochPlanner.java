package dev.gblm.stream.finalizer;

import dev.gblm.stream.JobSpec;
import dev.gblm.stream.SliceRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The planner's decisions, pure: which slices make a job's first epoch, and which slices no epoch will need again.
 */
public final class EpochPlanner {
    private EpochPlanner() {}

    /** Slices chosen for an epoch, in merge order. */
    public record Selection(List<SliceRecord> slices, long samples, long tokens) {
        public List<String> sliceIds() {
            return slices.stream().map(SliceRecord::sliceId).toList();
        }
    }

    /**
     * Epoch 1: once the job's streams have at least {@code minSamples} samples in complete slices, take whole slices in
     * {@link SliceRecord#ORDER} until the count reaches {@code minSamples}. Empty while there are too few.
     */
    public static Optional<Selection> firstEpoch(JobSpec job, Collection<SliceRecord> available) {
        List<SliceRecord> candidates = new ArrayList<>();
        long total = 0;
        for (SliceRecord s : available) {
            if (s.profile().equals(job.profile()) && job.streams().contains(s.stream())) {
                candidates.add(s);
                total += s.samples();
            }
        }
        if (total < job.minSamples()) {
            return Optional.empty();
        }
        candidates.sort(SliceRecord.ORDER);
        List<SliceRecord> chosen = new ArrayList<>();
        long samples = 0;
        long tokens = 0;
        for (SliceRecord s : candidates) {
            if (samples >= job.minSamples()) {
                break;
            }
            chosen.add(s);
            samples += s.samples();
            tokens += s.tokens();
        }
        return Optional.of(new Selection(List.copyOf(chosen), samples, tokens));
    }

    /**
     * Slices that can be dropped: (a) used by some declared epoch and needed by no live job — a job still needs a
     * slice of its streams while it has not declared its first epoch, or forever when it re-prunes
     * ({@code refreshEvery > 0}; folding such slices into a base sum is the planned refinement); or (b) used by no
     * epoch, needed by no live job, and older than {@code retentionMs} (then the statistics topic's retention has
     * dropped its records anyway).
     *
     * @param used     slice ids that appear in any declared epoch (of any job, live or deleted)
     * @param declared job id → last declared epoch (absent = none)
     */
    public static Set<String> retirable(Collection<SliceRecord> slices, Collection<JobSpec> liveJobs, Set<String> used,
            Map<String, Integer> declared, long nowMs, long retentionMs) {
        Set<String> out = new HashSet<>();
        for (SliceRecord s : slices) {
            boolean needed = false;
            for (JobSpec j : liveJobs) {
                if (j.profile().equals(s.profile()) && j.streams().contains(s.stream())
                        && (j.refreshEvery() > 0 || !declared.containsKey(j.id()))) {
                    needed = true;
                    break;
                }
            }
            if (needed) {
                continue;
            }
            if (used.contains(s.sliceId()) || nowMs - s.lastSampleTimestamp() > retentionMs) {
                out.add(s.sliceId());
            }
        }
        return out;
    }
}
