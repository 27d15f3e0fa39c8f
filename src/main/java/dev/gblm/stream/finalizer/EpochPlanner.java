package dev.gblm.stream.finalizer;

import dev.gblm.stream.EpochBase;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.SliceRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The planner's decisions, pure: which slices make a job's epochs, what a window-0 job folds into its base sum, and
 * which slices no epoch will need again. Every choice depends only on the slice records present and the job's
 * {@link History}, never on arrival order or a clock (except retention, which is explicit).
 */
public final class EpochPlanner {
    private EpochPlanner() {}

    /**
     * Slices chosen for an epoch. {@code slices} are the listed ones in merge order, merged on top of {@code base} (null
     * = none); {@code samples}/{@code tokens} count the whole epoch, base included. {@code newlyUsed} are the slices
     * this epoch uses for the first time in this job (they stop being "new" for the next epoch).
     */
    public record Selection(List<SliceRecord> slices, long samples, long tokens, EpochBase base, List<String> newlyUsed) {
        public Selection(List<SliceRecord> slices, long samples, long tokens) {
            this(slices, samples, tokens, null, slices.stream().map(SliceRecord::sliceId).toList());
        }

        public List<String> sliceIds() {
            return slices.stream().map(SliceRecord::sliceId).toList();
        }
    }

    /**
     * What the planner remembers of a job that has declared an epoch: its last epoch, the slices listed in it, the base
     * sum it folded last (null = none) and, for re-pruning jobs, the epoch in which each still-stored slice was first
     * used by the job (null for one-epoch jobs and older records).
     */
    public record History(int epoch, List<String> sliceIds, EpochBase base, Map<String, Integer> firstUsed, Set<String> foldedIds) {
        public History(int epoch, List<String> sliceIds, EpochBase base, Map<String, Integer> firstUsed) {
            this(epoch, sliceIds, base, firstUsed, base == null ? Set.of() : Set.copyOf(base.sliceIds()));
        }

        public History {
            sliceIds = List.copyOf(sliceIds);
            firstUsed = firstUsed == null ? Map.of() : Map.copyOf(firstUsed);
        }

        boolean folded(String sliceId) {
            return foldedIds.contains(sliceId);
        }
    }

    /**
     * "Newest first" for windows: slices first used in a later epoch of the job are newer (slices never used yet count
     * as first used by the epoch being planned); among slices first used in the same epoch, the later in
     * {@link SliceRecord#ORDER} is newer. Reproducible: it depends only on the job's history and the slice records.
     */
    static Comparator<SliceRecord> newestFirst(Map<String, Integer> firstUsed, int next) {
        Comparator<SliceRecord> byEpoch = Comparator.comparingInt(s -> firstUsed.getOrDefault(s.sliceId(), next));
        return byEpoch.reversed().thenComparing(SliceRecord.ORDER.reversed());
    }

    /**
     * Epoch 1: once the job's streams have at least {@code minSamples} samples in complete slices, take whole slices in
     * {@link SliceRecord#ORDER} until the count reaches {@code minSamples}. Empty while there are too few.
     */
    public static Optional<Selection> firstEpoch(JobSpec job, Collection<SliceRecord> available) {
        List<SliceRecord> candidates = ofJob(job, available);
        long total = candidates.stream().mapToLong(SliceRecord::samples).sum();
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
     * Epoch {@code h.epoch() + 1} of a re-pruning job ({@code refreshEvery = R > 0}); empty for one-epoch jobs and until
     * the job's streams hold at least R samples in slices new to the job (used by none of its epochs, folded into none
     * of its bases). All new slices present are then marked used, and:
     * <ul>
     *   <li>{@code window = 0}: the epoch is the job's base plus every slice the job used but has not folded yet plus
     *       the new ones, listed in {@link SliceRecord#ORDER}. Empty if one of the unfolded used slices is missing
     *       (the planner never retires those).</li>
     *   <li>{@code window = W}: whole slices newest first ({@link #newestFirst}) among the new ones and those the job
     *       used before, until at least W samples; listed in {@link SliceRecord#ORDER}.</li>
     * </ul>
     */
    public static Optional<Selection> nextEpoch(JobSpec job, Collection<SliceRecord> available, History h) {
        if (job.refreshEvery() <= 0) {
            return Optional.empty();
        }
        int next = h.epoch() + 1;
        List<SliceRecord> mine = ofJob(job, available);
        Set<String> fresh = new TreeSet<>();
        long freshSamples = 0;
        for (SliceRecord s : mine) {
            if (!h.firstUsed().containsKey(s.sliceId()) && !h.folded(s.sliceId())) {
                fresh.add(s.sliceId());
                freshSamples += s.samples();
            }
        }
        if (freshSamples < job.refreshEvery()) {
            return Optional.empty();
        }
        List<SliceRecord> listed = new ArrayList<>();
        long samples = 0;
        long tokens = 0;
        if (job.window() == 0) {
            Set<String> unfolded = new HashSet<>();
            h.firstUsed().keySet().stream().filter(id -> !h.folded(id)).forEach(unfolded::add);
            for (SliceRecord s : mine) {
                if (unfolded.remove(s.sliceId()) || fresh.contains(s.sliceId())) {
                    listed.add(s);
                    samples += s.samples();
                    tokens += s.tokens();
                }
            }
            if (!unfolded.isEmpty()) {
                return Optional.empty();
            }
            listed.sort(SliceRecord.ORDER);
            EpochBase base = h.base();
            if (base != null) {
                samples += base.samples();
                tokens += base.tokens();
            }
            return Optional.of(new Selection(List.copyOf(listed), samples, tokens, base, List.copyOf(fresh)));
        }
        List<SliceRecord> ranked = new ArrayList<>();
        for (SliceRecord s : mine) {
            if (h.firstUsed().containsKey(s.sliceId()) || fresh.contains(s.sliceId())) {
                ranked.add(s);
            }
        }
        ranked.sort(newestFirst(h.firstUsed(), next));
        for (SliceRecord s : ranked) {
            if (samples >= job.window()) {
                break;
            }
            listed.add(s);
            samples += s.samples();
            tokens += s.tokens();
        }
        listed.sort(SliceRecord.ORDER);
        return Optional.of(new Selection(List.copyOf(listed), samples, tokens, null, List.copyOf(fresh)));
    }

    /**
     * After epoch {@code h.epoch()} of a window-0 re-pruning job is finalized: its new base, the fold of the previous
     * base's slices and then the epoch's listed ones, equal to the epoch's statistics ({@code samples}, {@code tokens}
     * are the epoch's totals). Empty for other jobs and when the base is already that version.
     */
    public static Optional<EpochBase> fold(JobSpec job, History h, long samples, long tokens) {
        if (job.refreshEvery() <= 0 || job.window() != 0 || h.base() != null && h.base().epoch() >= h.epoch()) {
            return Optional.empty();
        }
        List<String> ids = new ArrayList<>(h.base() == null ? List.of() : h.base().sliceIds());
        ids.addAll(h.sliceIds());
        return Optional.of(new EpochBase(job.id(), h.epoch(), ids, samples, tokens));
    }

    /**
     * Whether epochs after {@code declared} may follow for {@code now}: a job's later epochs build on its earlier ones
     * (which slices are new, its base), so the profile, the streams, refreshEvery and window must not change; method,
     * sparsity and pattern may.
     */
    public static boolean canContinue(JobSpec declared, JobSpec now) {
        return declared == null || declared.profile().equals(now.profile())
                && Set.copyOf(declared.streams()).equals(Set.copyOf(now.streams()))
                && declared.refreshEvery() == now.refreshEvery() && declared.window() == now.window();
    }

    /**
     * Whether the live job {@code j} (history {@code h}, null = no epoch declared) still needs slice {@code s}: every
     * slice of its profile and streams until its first epoch; none after that if it does not re-prune; with
     * {@code window = 0} every slice not folded into its base; with {@code window = W} the slices new to it and those
     * of its last epoch (a later window takes newest first from exactly these, see {@link #newestFirst}: the last
     * epoch already held W samples or every slice the job had used).
     */
    static boolean needs(JobSpec j, History h, SliceRecord s) {
        if (!j.profile().equals(s.profile()) || !j.streams().contains(s.stream())) {
            return false;
        }
        if (h == null) {
            return true;
        }
        if (j.refreshEvery() <= 0) {
            return false;
        }
        if (j.window() == 0) {
            return !h.folded(s.sliceId());
        }
        return !h.firstUsed().containsKey(s.sliceId()) || h.sliceIds().contains(s.sliceId());
    }

    /**
     * Slices that can be dropped: needed by no live job ({@link #needs}) and either (a) used by some declared epoch or
     * folded into a base, or (b) older than {@code retentionMs} (then the statistics topic's retention has dropped its
     * records anyway). The planner also keeps every slice of an epoch still in flight.
     *
     * @param used      slice ids that appear in any declared epoch or base (of any job, live or deleted)
     * @param histories job id → its history (absent = no epoch declared)
     */
    public static Set<String> retirable(Collection<SliceRecord> slices, Collection<JobSpec> liveJobs, Set<String> used,
            Map<String, History> histories, long nowMs, long retentionMs) {
        Set<String> out = new HashSet<>();
        for (SliceRecord s : slices) {
            boolean needed = false;
            for (JobSpec j : liveJobs) {
                if (needs(j, histories.get(j.id()), s)) {
                    needed = true;
                    break;
                }
            }
            if (!needed && (used.contains(s.sliceId()) || nowMs - s.lastSampleTimestamp() > retentionMs)) {
                out.add(s.sliceId());
            }
        }
        return out;
    }

    private static List<SliceRecord> ofJob(JobSpec job, Collection<SliceRecord> available) {
        List<SliceRecord> out = new ArrayList<>();
        for (SliceRecord s : available) {
            if (s.profile().equals(job.profile()) && job.streams().contains(s.stream())) {
                out.add(s);
            }
        }
        return out;
    }
}
