package dev.gblm.stream.finalizer;

import dev.gblm.GblmException;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.MagnitudeThreshold;
import dev.gblm.stream.BlockAck;
import dev.gblm.stream.BlockInstruction;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.EpochBase;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModuleLayout;
import dev.gblm.stream.Profile;
import dev.gblm.stream.RecordFormatException;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The planner, partitioned by profile (sources {@code gblm.slices} and {@code gblm.finalize-acks}, both keyed by
 * profile id and equally partitioned). It stores accepted slices, declares a job's epoch when the job's streams have
 * enough samples (on every slice and on a wall-clock punctuator, since jobs arrive through the global store) — epoch 1,
 * then for re-pruning jobs epoch e+1 once e is finalized and refreshEvery new samples arrived ({@link EpochPlanner}) —,
 * fans out one FINALIZE instruction per block, counts acks to know when the epoch is finalized, folds a finalized
 * window-0 epoch into the job's base sum (FOLD per block), and then retires the slices no job needs any more.
 *
 * <p>A slice is planned only if it is accepted (valid, this model, streaming kinds, block count of the layout) and no
 * block task has reported one of its statistics blocks as rejected ({@link Topics#HEADER_BAD_SLICE} notices on
 * gblm.finalize-acks, kept in {@code gblm-planner-bad-slices}): a bad slice is dropped and never enters an epoch.
 * Accepting a slice CLAIMs its blocks.
 *
 * <p>Deleting an unclaimed block is the planner's decision, not the block task's: a block task reports a block still
 * unclaimed after {@code orphanRetention} ({@link FinalizerTopology#HEADER_UNCLAIMED} notice, keyed by profile like
 * gblm.slices, so it reaches this task). If the planner has accepted the slice by then it claims the block again;
 * otherwise it expires the slice — recorded in the bad-slice store, so a slice record arriving later is never planned
 * — and RETIREs the block. Either way no epoch can list a slice whose blocks were deleted.
 *
 * <p>Retirement runs after a declaration, after a finalization and on a wall-clock punctuator over every profile
 * with stored slices, so slices nobody plans do not stay in state forever.
 */
final class PlannerProcessor implements Processor<String, byte[], String, byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(PlannerProcessor.class);

    /** Bad-slice store value of a slice expired because one of its blocks was reported unclaimed first. */
    static final String EXPIRED = "expired";

    private final DenseWeights weights;
    private final FinalizerSettings settings;
    private final FinalizerMetrics metrics;
    private final Map<String, List<ModuleLayout>> layouts = new HashMap<>();
    /** profile id → block key → index in the layout order (EpochRecord.blockKeys), for the acked-blocks bit set. */
    private final Map<String, Map<String, Integer>> blockIndexes = new HashMap<>();
    private final Set<String> warnedJobs = new HashSet<>();
    private ProcessorContext<String, byte[]> ctx;
    private KeyValueStore<String, byte[]> slices;
    private KeyValueStore<String, byte[]> progress;
    private KeyValueStore<String, byte[]> bad;
    private ReadOnlyKeyValueStore<String, byte[]> jobs;

    private final StreamGrants grants;
    /** Job id → why it is refused now (streams not granted, statistics the profile lacks); cleared when it is not. */
    private final Map<String, String> refusals = new HashMap<>();
    /** Job id → the last status forwarded, without its time: a status is written when it changes. */
    private final Map<String, JobStatus> lastStatus = new HashMap<>();

    PlannerProcessor(DenseWeights weights, FinalizerSettings settings, FinalizerMetrics metrics, StreamGrants grants) {
        this.weights = weights;
        this.settings = settings;
        this.metrics = metrics;
        this.grants = grants;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        ctx = context;
        slices = context.getStateStore(FinalizerTopology.SLICES_STORE);
        progress = context.getStateStore(FinalizerTopology.PROGRESS_STORE);
        bad = context.getStateStore(FinalizerTopology.BAD_SLICES_STORE);
        jobs = context.getStateStore(FinalizerTopology.JOBS_STORE);
        context.schedule(settings.plannerInterval(), PunctuationType.WALL_CLOCK_TIME,
                DeadLetters.guarded("planner round", metrics, this::evaluateAll));
        context.schedule(settings.retirementInterval(), PunctuationType.WALL_CLOCK_TIME,
                DeadLetters.guarded("retirement", metrics, this::retireAll));
    }

    @Override
    public void process(Record<String, byte[]> rec) {
        DeadLetters.processOrDeadLetter(ctx, metrics, rec, r -> {
            String topic = ctx.recordMetadata().map(m -> m.topic()).orElse(Topics.SLICES.name());
            if (topic.equals(Topics.ACKS.name())) {
                onAckTopic(r);
            } else {
                onSlice(r);
            }
        });
    }

    private void onSlice(Record<String, byte[]> rec) {
        SliceRecord s;
        try {
            s = Json.read(rec.value(), SliceRecord.class).validate();
        } catch (RecordFormatException | GblmException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-slice", e.getMessage());
            return;
        }
        if (!s.profile().equals(rec.key())) {
            DeadLetters.send(ctx, metrics, rec, "key-mismatch", "slice " + s.sliceId() + " of profile " + s.profile() + " keyed " + rec.key());
            return;
        }
        if (settings.modelFingerprint() != null && !settings.modelFingerprint().equals(s.profileSpec().model())) {
            DeadLetters.send(ctx, metrics, rec, "wrong-profile", "slice " + s.sliceId() + " is for model " + s.profileSpec().model()
                    + ", this finalizer serves " + settings.modelFingerprint());
            return;
        }
        if (!s.profileSpec().kinds().equals(Profile.STREAMING_KINDS)) {
            // workers collect exactly these; the block tasks reject statistics of other kinds on arrival
            DeadLetters.send(ctx, metrics, rec, "wrong-kinds", "slice " + s.sliceId() + " has statistics " + s.profileSpec().kinds()
                    + ", the finalizer serves " + Profile.STREAMING_KINDS);
            return;
        }
        List<ModuleLayout> layout;
        try {
            layout = layout(s.profileSpec());
        } catch (RuntimeException e) {
            DeadLetters.send(ctx, metrics, rec, "bad-layout", e.getMessage());
            return;
        }
        int expected = ModuleLayout.blockCount(layout);
        if (s.blockCount() != expected) {
            DeadLetters.send(ctx, metrics, rec, "wrong-layout", "slice " + s.sliceId() + " wrote " + s.blockCount()
                    + " statistics blocks, the profile's layout has " + expected);
            return;
        }
        String key = s.profile() + "|" + s.sliceId();
        if (slices.get(key) != null) {
            return; // the same slice twice (a replayed producer): idempotent
        }
        byte[] badReason = bad.get(key);
        if (badReason != null) {
            // its blocks stay unclaimed: once reported, the planner retires them
            LOG.warn("slice {} of profile {} is {}: not planned", s.sliceId(), s.profile(),
                    EXPIRED.equals(new String(badReason, StandardCharsets.UTF_8))
                            ? "expired (a block of it was reported unclaimed before this record arrived; raise orphanRetention above the planner's lag)"
                            : "bad (a statistics block was rejected: " + new String(badReason, StandardCharsets.UTF_8) + ")");
            return;
        }
        slices.put(key, rec.value());
        metrics.slicesAccepted.increment();
        sendToBlocks(layout, s.profile(), Json.write(BlockInstruction.claim(List.of(s.sliceId()))), rec.timestamp());
        evaluate(s.profile(), rec.timestamp());
    }

    /** gblm.finalize-acks carries acks, bad-slice notices and unclaimed-block notices. */
    private void onAckTopic(Record<String, byte[]> rec) {
        Header badSlice = rec.headers().lastHeader(Topics.HEADER_BAD_SLICE);
        Header unclaimed = rec.headers().lastHeader(FinalizerTopology.HEADER_UNCLAIMED);
        if (badSlice == null && unclaimed == null) {
            onAck(rec);
            return;
        }
        String profile = rec.key();
        Header h = badSlice != null ? badSlice : unclaimed;
        String slice = h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
        if (!Profile.isValidId(profile) || slice.isEmpty() || slice.indexOf('|') >= 0) {
            DeadLetters.send(ctx, metrics, rec, "invalid-ack", "notice keyed '" + profile + "' about slice '" + slice
                    + "': needs a profile id key and a slice id without '|'");
            return;
        }
        if (badSlice != null) {
            Header reason = rec.headers().lastHeader(Topics.HEADER_REASON);
            onBadSlice(profile, slice, reason == null || reason.value() == null ? "?" : new String(reason.value(), StandardCharsets.UTF_8),
                    rec.timestamp());
            return;
        }
        BlockKey block;
        try {
            block = BlockKey.parse(Json.read(rec.value(), BlockAck.class).block());
        } catch (RecordFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-ack", "unclaimed-block notice: " + e.getMessage());
            return;
        }
        if (!block.profile().equals(profile)) {
            DeadLetters.send(ctx, metrics, rec, "invalid-ack", "unclaimed-block notice keyed " + profile + " names block " + block);
            return;
        }
        onUnclaimed(profile, slice, block, rec.timestamp());
    }

    private void onAck(Record<String, byte[]> rec) {
        BlockAck a;
        try {
            a = Json.read(rec.value(), BlockAck.class).validate();
        } catch (RecordFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-ack", e.getMessage());
            return;
        }
        byte[] raw = progress.get(a.job());
        if (raw == null) {
            return; // not a job this task declared
        }
        JobProgress p = Json.read(raw, JobProgress.class);
        if (p.epoch() != a.epoch()) {
            return; // an earlier epoch's
        }
        if (p.finalized()) {
            metrics.acksDuplicate.increment(); // every block was acknowledged already
            return;
        }
        Map<String, Integer> index = blockIndex(p);
        JobProgress next;
        if (index == null) {
            next = p.ackUntracked();
        } else {
            Integer i = index.get(a.block());
            if (i == null) {
                DeadLetters.send(ctx, metrics, rec, "invalid-ack", "block " + a.block() + " is not in the layout of job " + a.job()
                        + " epoch " + a.epoch());
                return;
            }
            next = p.ack(i);
        }
        if (next == p) {
            metrics.acksDuplicate.increment(); // a replay: the block was counted already
            return;
        }
        if (next.finalized()) {
            next = fold(next, rec.timestamp());
        }
        progress.put(a.job(), Json.write(next));
        if (next.finalized()) {
            metrics.epochsFinalized.increment();
            LOG.info("job {} epoch {} finalized ({} mask blocks)", a.job(), a.epoch(), next.blockCount());
            for (JobSpec job : liveJobs()) {
                if (job.id().equals(a.job())) {
                    reportStatus(job, slicesOf(p.profile()), rec.timestamp());
                }
            }
            retire(p.profile(), rec.timestamp(), ctx.currentSystemTimeMs());
        }
    }

    /**
     * A finalized epoch of a live window-0 re-pruning job becomes the job's base sum: one FOLD per block (before any
     * RETIRE of its slices, which the caller sends next, on the same partitions), so its slices can go. A replayed FOLD
     * is harmless: the block's base already has that version.
     */
    private JobProgress fold(JobProgress p, long timestamp) {
        JobSpec job = liveJobs().stream().filter(j -> j.id().equals(p.job())).findFirst().orElse(null);
        if (job == null || p.profileSpec() == null || p.samples() <= 0 || !EpochPlanner.canContinue(p.spec(), job)) {
            // deleted, changed, or a record from before re-pruning: the next epoch then lists every slice it needs
            return p;
        }
        Optional<EpochBase> next = EpochPlanner.fold(job, p.history(), p.samples(), p.tokens());
        if (next.isEmpty()) {
            return p;
        }
        EpochBase from = p.base() == null ? null : p.base().reference();
        sendToBlocks(layout(p.profileSpec()), p.profile(),
                Json.write(BlockInstruction.fold(p.job(), next.get().epoch(), from, p.sliceIds())), timestamp);
        metrics.basesFolded.increment();
        LOG.info("job {}: epoch {} folded into its base ({} slices, {} samples)", p.job(), p.epoch(),
                next.get().sliceIds().size(), next.get().samples());
        return p.folded(next.get());
    }

    /** Block key → index in layout order for the job's profile; null for progress written before per-block tracking. */
    private Map<String, Integer> blockIndex(JobProgress p) {
        Profile spec = p.profileSpec();
        if (spec == null) {
            // older records: the epoch's slices are kept while it is in flight and name the profile
            List<SliceRecord> some = slicesOf(p.profile());
            if (some.isEmpty()) {
                return null;
            }
            spec = some.get(0).profileSpec();
        }
        Profile profile = spec;
        return blockIndexes.computeIfAbsent(profile.id(), id -> {
            Map<String, Integer> m = new HashMap<>();
            for (ModuleLayout ml : layout(profile)) {
                for (int start : ml.rowStarts()) {
                    m.put(new BlockKey(id, ml.layer(), ml.kind(), start).toString(), m.size());
                }
            }
            return m;
        });
    }

    /**
     * A block task reports a block of {@code sliceId} still unclaimed after orphanRetention. Either this task has
     * accepted the slice (its CLAIM and the report crossed: claim the block again) or it has not, and then the slice
     * expires: never planned, even if its record comes later, and the block goes. The report carries the time it was
     * sent and Kafka Streams feeds this task gblm.slices and gblm.finalize-acks in timestamp order, so a slice record
     * the worker wrote before the report is normally processed first; when it is not, the slice is lost to the
     * planner, but no epoch ever lists deleted blocks.
     */
    private void onUnclaimed(String profile, String sliceId, BlockKey block, long timestamp) {
        String key = profile + "|" + sliceId;
        if (slices.get(key) != null) {
            ctx.forward(new Record<>(block.toString(), Json.write(BlockInstruction.claim(List.of(sliceId))), timestamp),
                    FinalizerTopology.FINALIZE_SINK);
            metrics.orphansReclaimed.increment();
            LOG.info("block {} of accepted slice {} was reported unclaimed: claimed again", block, sliceId);
            return;
        }
        if (bad.get(key) == null) {
            bad.put(key, EXPIRED.getBytes(StandardCharsets.UTF_8));
            metrics.slicesExpired.increment();
            LOG.warn("slice {} of profile {}: block {} is unclaimed after orphanRetention and no slice record was accepted; "
                    + "the slice expires (never planned) and its blocks are retired as reported", sliceId, profile, block);
        }
        ctx.forward(new Record<>(block.toString(), Json.write(BlockInstruction.retire(List.of(sliceId))), timestamp),
                FinalizerTopology.FINALIZE_SINK);
        metrics.orphansDeleted.increment();
    }

    /**
     * A block task rejected one of the slice's statistics blocks. Remember it (the slice record may come later), and
     * drop the slice unless an epoch in flight already uses it — that epoch cannot complete, which is logged.
     */
    private void onBadSlice(String profile, String sliceId, String reason, long timestamp) {
        String key = profile + "|" + sliceId;
        if (bad.get(key) != null) {
            return;
        }
        bad.put(key, reason.getBytes(StandardCharsets.UTF_8));
        metrics.slicesBad.increment();
        byte[] raw = slices.get(key);
        if (raw == null) {
            LOG.warn("slice {} of profile {} has a rejected statistics block ({}): it will not be planned", sliceId, profile, reason);
            return;
        }
        try (KeyValueIterator<String, byte[]> it = progress.all()) {
            while (it.hasNext()) {
                JobProgress p = Json.read(it.next().value, JobProgress.class);
                if (!p.finalized() && p.sliceIds().contains(sliceId)) {
                    LOG.error("slice {} has a rejected statistics block ({}) but job {} epoch {} already uses it: "
                            + "that epoch cannot complete", sliceId, reason, p.job(), p.epoch());
                    return;
                }
            }
        }
        SliceRecord s = Json.read(raw, SliceRecord.class);
        slices.delete(key);
        sendToBlocks(layout(s.profileSpec()), profile, Json.write(BlockInstruction.retire(List.of(sliceId))), timestamp);
        LOG.warn("slice {} of profile {} dropped: a statistics block was rejected ({})", sliceId, profile, reason);
    }

    /** One instruction per block of the layout, keyed like the statistics so the owning block task receives it. */
    private void sendToBlocks(List<ModuleLayout> layout, String profile, byte[] cmd, long timestamp) {
        for (ModuleLayout m : layout) {
            for (int start : m.rowStarts()) {
                ctx.forward(new Record<>(new BlockKey(profile, m.layer(), m.kind(), start).toString(), cmd, timestamp),
                        FinalizerTopology.FINALIZE_SINK);
            }
        }
    }

    private List<ModuleLayout> layout(Profile profile) {
        return layouts.computeIfAbsent(profile.id(), id -> weights.layout(profile));
    }

    /** Punctuator: a job submitted after its slices arrived is declared here. */
    private void evaluateAll(long now) {
        Set<String> profiles = new HashSet<>();
        Set<String> live = new HashSet<>();
        for (JobSpec j : liveJobs()) {
            profiles.add(j.profile());
            live.add(j.id());
        }
        metrics.retainJobs(live);
        for (String p : profiles) {
            evaluate(p, now);
        }
    }

    /**
     * Punctuator: retirement for every profile this task stores slices of, with or without live jobs, so a slice that
     * no job will ever use (its profile has no job, or it came after its jobs' epochs) leaves state after
     * sliceRetention even when nothing is declared or finalized any more.
     */
    private void retireAll(long now) {
        Set<String> profiles = new TreeSet<>();
        try (KeyValueIterator<String, byte[]> it = slices.all()) {
            while (it.hasNext()) {
                String k = it.next().key;
                profiles.add(k.substring(0, k.indexOf('|')));
            }
        }
        for (String p : profiles) {
            retire(p, now, now);
        }
    }

    private void evaluate(String profile, long timestamp) {
        List<SliceRecord> available = new ArrayList<>(slicesOf(profile));
        available.removeIf(s -> bad.get(profile + "|" + s.sliceId()) != null); // bad yet kept: used by an epoch in flight
        List<JobSpec> live = liveJobs(); // parsed once per evaluation, not once per use
        jobGauges(profile, available, live);
        if (available.isEmpty()) {
            return; // another task owns this profile, or nothing has arrived yet
        }
        Profile spec = available.get(0).profileSpec();
        boolean declared = false;
        for (JobSpec job : live) {
            byte[] raw = progress.get(job.id());
            JobProgress prev = raw == null ? null : Json.read(raw, JobProgress.class);
            if (!job.profile().equals(profile) || !mayDeclare(job, prev)) {
                continue;
            }
            try {
                job.requireProfile(spec);
            } catch (RecordFormatException e) {
                if (warnedJobs.add(job.id())) {
                    LOG.warn("job {} cannot be served: {}", job.id(), e.getMessage());
                }
                refusals.put(job.id(), e.getMessage());
                continue;
            }
            if (!streamsGranted(job, timestamp)) {
                continue;
            }
            Optional<EpochPlanner.Selection> sel = prev == null ? EpochPlanner.firstEpoch(job, available)
                    : EpochPlanner.nextEpoch(job, available, prev.history());
            if (sel.isPresent()) {
                try {
                    declare(job, spec, sel.get(), prev, timestamp);
                    declared = true;
                } catch (KafkaException e) {
                    throw e;
                } catch (RuntimeException e) {
                    // nothing was forwarded or stored (declare builds everything first); retried every round, logged once
                    if (warnedJobs.add(job.id())) {
                        LOG.error("job {} cannot be declared: {}", job.id(), DeadLetters.describe(e), e);
                    }
                }
            }
        }
        if (declared) {
            retire(profile, timestamp, ctx.currentSystemTimeMs()); // slices of jobs nobody wants and past retention
        }
        for (JobSpec job : live) {
            if (job.profile().equals(profile)) {
                reportStatus(job, available, timestamp);
            }
        }
    }

    /**
     * Whether a team job may use its streams now (always, for jobs without a team). A refusal is recorded for the
     * job's status and sent to the DLQ once per distinct reason; a cluster that cannot answer now only defers the
     * epoch to a later round.
     */
    private boolean streamsGranted(JobSpec job, long timestamp) {
        if (job.team() == null) {
            return true;
        }
        List<String> denied;
        try {
            denied = grants.refused(job.team(), job.streams());
        } catch (GblmException e) {
            if (warnedJobs.add(job.id() + "|grants")) {
                LOG.warn("job {}: cannot check the stream grants of team {} now ({}); retried every round", job.id(),
                        job.team(), e.getMessage());
            }
            return false;
        }
        warnedJobs.remove(job.id() + "|grants");
        if (denied.isEmpty()) {
            refusals.remove(job.id());
            return true;
        }
        String reason = "team " + job.team() + " may not read stream" + (denied.size() > 1 ? "s " : " ")
                + String.join(", ", denied) + " (its owner must grant it: gblm team grant --stream " + denied.get(0)
                + " --to " + job.team() + ")";
        if (!reason.equals(refusals.put(job.id(), reason))) {
            LOG.warn("job {} refused: {}", job.id(), reason);
            DeadLetters.sendUnsourced(ctx, metrics, job.id(), Json.write(job), "stream-not-granted", reason,
                    Topics.JOBS.name() + "/" + job.id(), timestamp);
        }
        return false;
    }

    private static long samplesOf(JobSpec job, List<SliceRecord> available) {
        long samples = 0;
        for (SliceRecord s : available) {
            if (job.streams().contains(s.stream())) {
                samples += s.samples();
            }
        }
        return samples;
    }

    /** Samples of the job's streams in {@code available} that no epoch of the job has used (its base included). */
    private static long newSamplesOf(JobSpec job, JobProgress p, List<SliceRecord> available) {
        Set<String> used = new HashSet<>();
        if (p != null) {
            used.addAll(p.sliceIds());
            if (p.firstUsed() != null) {
                used.addAll(p.firstUsed().keySet());
            }
            if (p.base() != null) {
                used.addAll(p.base().sliceIds()); // a window-0 base lists every folded slice: look it up, not scan it
            }
        }
        long samples = 0;
        for (SliceRecord s : available) {
            if (job.streams().contains(s.stream()) && !used.contains(s.sliceId())) {
                samples += s.samples();
            }
        }
        return samples;
    }

    /**
     * Forwards the job's status to gblm.job-status when it differs from the last one forwarded: its state, the samples
     * no epoch of it has used yet, and how many the next epoch needs (minSamples, then refreshEvery; 0 = none planned).
     */
    private void reportStatus(JobSpec job, List<SliceRecord> available, long timestamp) {
        byte[] raw = progress.get(job.id());
        JobProgress p = raw == null ? null : Json.read(raw, JobProgress.class);
        reportStatus(job, p, newSamplesOf(job, p, available), timestamp);
    }

    private void reportStatus(JobSpec job, JobProgress p, long newSamples, long timestamp) {
        String refusal = refusals.get(job.id());
        JobStatus.State state = refusal != null ? JobStatus.State.REFUSED
                : p == null ? JobStatus.State.WAITING
                : p.finalized() ? JobStatus.State.FINALIZED : JobStatus.State.FINALIZING;
        long nextEpochAt = p == null ? job.minSamples() : job.refreshEvery() > 0 ? job.refreshEvery() : 0;
        JobStatus status = new JobStatus(job.id(), job.team(), state, refusal, newSamples, job.minSamples(),
                p == null ? 0 : p.epoch(), p != null && p.finalized(), nextEpochAt, ctx.currentSystemTimeMs());
        if (status.withoutTime().equals(lastStatus.get(job.id()))) {
            return;
        }
        lastStatus.put(job.id(), status.withoutTime());
        ctx.forward(new Record<>(job.id(), Json.write(status), timestamp), FinalizerTopology.JOB_STATUS_SINK);
    }

    /**
     * Whether {@code job} may get an epoch now: its first, or the next one of a re-pruning job whose last epoch is
     * finalized (one epoch in flight per job) and whose streams, window and refresh are those it was declared with.
     */
    private boolean mayDeclare(JobSpec job, JobProgress prev) {
        if (prev == null) {
            return true;
        }
        if (job.refreshEvery() <= 0 || !prev.finalized() || prev.profileSpec() == null) {
            return false;
        }
        if (!EpochPlanner.canContinue(prev.spec(), job)) {
            if (warnedJobs.add(job.id())) {
                LOG.warn("job {} changed its profile, streams, refreshEvery or window after epoch {}: no further epochs "
                        + "(submit it under a new id)", job.id(), prev.epoch());
            }
            return false;
        }
        return true;
    }

    /**
     * Per-job gauges for the jobs of {@code profile}: samples of the job's streams in {@code available} against its
     * minSamples, and its declared epoch. Set only where this task owns the job (it holds slices of the profile or has
     * declared the job), so tasks of other profiles do not overwrite them with zeros.
     */
    private void jobGauges(String profile, List<SliceRecord> available, List<JobSpec> live) {
        for (JobSpec job : live) {
            if (!job.profile().equals(profile)) {
                continue;
            }
            long samples = samplesOf(job, available);
            byte[] raw = progress.get(job.id());
            if (available.isEmpty() && raw == null) {
                continue;
            }
            int epoch = raw == null ? 0 : Json.read(raw, JobProgress.class).epoch();
            metrics.job(job.id(), samples, job.minSamples(), epoch);
        }
    }

    private void declare(JobSpec job, Profile profile, EpochPlanner.Selection sel, JobProgress prev, long timestamp) {
        int epoch = prev == null ? 1 : prev.epoch() + 1;
        List<ModuleLayout> layout = layout(profile);
        Map<String, Float> thresholds = job.needsMatrixThreshold() ? thresholds(layout, job.sparsity()) : null;
        List<String> streams = sel.slices().stream().map(SliceRecord::stream).distinct().sorted().toList();
        EpochRecord e = new EpochRecord(job.id(), epoch, profile.id(), job, sel.sliceIds(), sel.samples(), sel.tokens(),
                streams, layout, System.currentTimeMillis(), thresholds,
                sel.slices().stream().mapToLong(SliceRecord::lastSampleTimestamp).max().orElse(0), ctx.applicationId(),
                sel.base(), job.holdout() > 0 ? profile : null);
        EpochBase baseRef = sel.base() == null ? null : sel.base().reference();
        // only an explicit alpha or a grid needs s in the block tasks; the default instruction stays as it was on the wire
        Float gradScale = job.needsGradScale() ? profile.gradScale() : null;
        // everything is built before anything is forwarded, so a failure leaves no half-declared epoch
        List<Record<String, byte[]>> instructions = new ArrayList<>(e.blockCount());
        for (ModuleLayout m : layout) {
            for (int b = 0; b < m.rowStarts().size(); b++) {
                int start = m.rowStarts().get(b);
                Float t = thresholds == null ? null : thresholds.get(m.layer() + "/" + m.module());
                BlockInstruction c = new BlockInstruction(BlockInstruction.Type.FINALIZE, job.id(), epoch, job, m.rowEnd(b), m.in(),
                        sel.sliceIds(), t, baseRef, gradScale);
                String key = new BlockKey(profile.id(), m.layer(), m.kind(), start).toString();
                instructions.add(new Record<>(key, Json.write(c), timestamp));
            }
        }
        Map<String, Integer> firstUsed = null;
        if (job.refreshEvery() > 0) {
            firstUsed = new TreeMap<>(prev == null || prev.firstUsed() == null ? Map.of() : prev.firstUsed());
            for (String id : sel.newlyUsed()) {
                firstUsed.put(id, epoch);
            }
        }
        byte[] progressValue = Json.write(new JobProgress(job.id(), profile.id(), epoch, sel.sliceIds(), e.blockCount(), 0, false,
                e.declaredAt(), profile, new byte[0], job, e.samples(), e.tokens(), sel.base(), firstUsed));
        ctx.forward(new Record<>(job.id(), Json.write(e), timestamp), FinalizerTopology.EPOCHS_SINK);
        for (Record<String, byte[]> r : instructions) {
            ctx.forward(r, FinalizerTopology.FINALIZE_SINK);
        }
        progress.put(job.id(), progressValue);
        metrics.epochsDeclared.increment();
        metrics.jobEpoch(job.id(), epoch);
        LOG.info("job {} epoch {} declared: {} slices{}, {} samples, {} blocks", job.id(), epoch, sel.slices().size(),
                sel.base() == null ? "" : " on base " + sel.base().epoch(), sel.samples(), e.blockCount());
    }

    private Map<String, Float> thresholds(List<ModuleLayout> layout, double sparsity) {
        Map<String, Float> t = new TreeMap<>();
        for (ModuleLayout m : layout) {
            LinearKind k = m.kind();
            t.put(m.layer() + "/" + m.module(), MagnitudeThreshold.of(weights.rows(m.layer(), k, 0, m.out()), sparsity));
        }
        return t;
    }

    /**
     * Drops slices no live job needs once every epoch that used them is finalized, and unused ones older than
     * sliceRetention at {@code nowMs}; tells the block tasks.
     */
    private void retire(String profile, long timestamp, long nowMs) {
        List<SliceRecord> all = slicesOf(profile);
        if (all.isEmpty()) {
            return;
        }
        Set<String> used = new HashSet<>();
        Set<String> inFlight = new HashSet<>();
        Map<String, EpochPlanner.History> histories = new HashMap<>();
        List<JobProgress> progresses = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = progress.all()) {
            while (it.hasNext()) {
                JobProgress p = Json.read(it.next().value, JobProgress.class);
                progresses.add(p);
                histories.put(p.job(), p.history());
                (p.finalized() ? used : inFlight).addAll(p.sliceIds());
                if (p.firstUsed() != null) {
                    used.addAll(p.firstUsed().keySet());
                }
                if (p.base() != null) {
                    used.addAll(p.base().sliceIds());
                }
            }
        }
        Set<String> gone = EpochPlanner.retirable(all, liveJobs(), used, histories, nowMs, settings.sliceRetention().toMillis());
        gone.removeAll(inFlight);
        if (gone.isEmpty()) {
            return;
        }
        List<String> ids = new ArrayList<>(new TreeSet<>(gone));
        sendToBlocks(layout(all.get(0).profileSpec()), profile, Json.write(BlockInstruction.retire(ids)), timestamp);
        for (String id : ids) {
            slices.delete(profile + "|" + id);
        }
        for (JobProgress p : progresses) {
            JobProgress kept = p.forget(gone);
            if (kept != p) {
                progress.put(p.job(), Json.write(kept));
            }
        }
        metrics.slicesRetired.increment(ids.size());
        LOG.info("profile {}: retired {} slices", profile, ids.size());
    }

    private List<SliceRecord> slicesOf(String profile) {
        List<SliceRecord> out = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = slices.prefixScan(profile + "|", new StringSerializer())) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                out.add(Json.read(kv.value, SliceRecord.class));
            }
        }
        return out;
    }

    private List<JobSpec> liveJobs() {
        Map<String, JobSpec> out = new LinkedHashMap<>();
        try (KeyValueIterator<String, byte[]> it = jobs.all()) {
            while (it.hasNext()) {
                KeyValue<String, byte[]> kv = it.next();
                try {
                    JobSpec j = Json.read(kv.value, JobSpec.class).validated();
                    if (j.id().equals(kv.key)) {
                        out.put(j.id(), j);
                    } else if (warnedJobs.add(kv.key)) {
                        LOG.warn("job record keyed {} names id {}: skipped", kv.key, j.id());
                    }
                } catch (RuntimeException e) {
                    if (warnedJobs.add(kv.key)) {
                        LOG.warn("job {} is invalid and skipped: {}", kv.key, e.getMessage());
                    }
                }
            }
        }
        return new ArrayList<>(out.values());
    }

}
