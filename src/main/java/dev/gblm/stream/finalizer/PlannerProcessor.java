package dev.gblm.stream.finalizer;

import dev.gblm.GblmException;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.MagnitudeThreshold;
import dev.gblm.stream.BlockAck;
import dev.gblm.stream.BlockInstruction;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
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
 * enough samples (on every slice and on a wall-clock punctuator, since jobs arrive through the global store), fans
 * out one FINALIZE instruction per block, counts acks to know when the epoch is finalized, and then retires the slices
 * no job needs any more.
 *
 * <p>A slice is planned only if it is accepted (valid, this model, block count of the layout) and no block task has
 * reported one of its statistics blocks as rejected ({@link Topics#HEADER_BAD_SLICE} notices on gblm.finalize-acks,
 * kept in {@code gblm-planner-bad-slices}): a bad slice is dropped and never enters an epoch. Accepting a slice
 * CLAIMs its blocks so the block tasks' orphan sweep keeps them.
 */
final class PlannerProcessor implements Processor<String, byte[], String, byte[]> {
    private static final Logger LOG = LoggerFactory.getLogger(PlannerProcessor.class);

    private final DenseWeights weights;
    private final FinalizerSettings settings;
    private final FinalizerMetrics metrics;
    private final Map<String, List<ModuleLayout>> layouts = new HashMap<>();
    private final Set<String> warnedJobs = new HashSet<>();
    private ProcessorContext<String, byte[]> ctx;
    private KeyValueStore<String, byte[]> slices;
    private KeyValueStore<String, byte[]> progress;
    private KeyValueStore<String, byte[]> bad;
    private ReadOnlyKeyValueStore<String, byte[]> jobs;

    PlannerProcessor(DenseWeights weights, FinalizerSettings settings, FinalizerMetrics metrics) {
        this.weights = weights;
        this.settings = settings;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
        ctx = context;
        slices = context.getStateStore(FinalizerTopology.SLICES_STORE);
        progress = context.getStateStore(FinalizerTopology.PROGRESS_STORE);
        bad = context.getStateStore(FinalizerTopology.BAD_SLICES_STORE);
        jobs = context.getStateStore(FinalizerTopology.JOBS_STORE);
        context.schedule(settings.plannerInterval(), PunctuationType.WALL_CLOCK_TIME, this::evaluateAll);
    }

    @Override
    public void process(Record<String, byte[]> rec) {
        String topic = ctx.recordMetadata().map(m -> m.topic()).orElse(Topics.SLICES.name());
        if (topic.equals(Topics.ACKS.name())) {
            onAck(rec);
        } else {
            onSlice(rec);
        }
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
        if (bad.get(key) != null) {
            // its blocks stay unclaimed: the orphan sweep deletes them
            LOG.warn("slice {} of profile {} has a rejected statistics block ({}): not planned", s.sliceId(), s.profile(),
                    new String(bad.get(key), StandardCharsets.UTF_8));
            return;
        }
        slices.put(key, rec.value());
        metrics.slicesAccepted.increment();
        sendToBlocks(layout, s.profile(), Json.write(BlockInstruction.claim(List.of(s.sliceId()))), rec.timestamp());
        evaluate(s.profile(), rec.timestamp());
    }

    private void onAck(Record<String, byte[]> rec) {
        Header notice = rec.headers().lastHeader(Topics.HEADER_BAD_SLICE);
        if (notice != null) {
            Header reason = rec.headers().lastHeader(Topics.HEADER_REASON);
            onBadSlice(rec.key(), new String(notice.value(), StandardCharsets.UTF_8),
                    reason == null ? "?" : new String(reason.value(), StandardCharsets.UTF_8), rec.timestamp());
            return;
        }
        BlockAck a;
        try {
            a = Json.read(rec.value(), BlockAck.class);
        } catch (RecordFormatException e) {
            DeadLetters.send(ctx, metrics, rec, "invalid-ack", e.getMessage());
            return;
        }
        byte[] raw = progress.get(a.job());
        if (raw == null) {
            return;
        }
        JobProgress p = Json.read(raw, JobProgress.class);
        if (p.epoch() != a.epoch() || p.finalized()) {
            return;
        }
        JobProgress next = p.ack();
        progress.put(a.job(), Json.write(next));
        if (next.finalized()) {
            metrics.epochsFinalized.increment();
            LOG.info("job {} epoch {} finalized ({} mask blocks)", a.job(), a.epoch(), next.blockCount());
            retire(p.profile(), rec.timestamp());
        }
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
        for (JobSpec j : liveJobs()) {
            profiles.add(j.profile());
        }
        for (String p : profiles) {
            evaluate(p, now);
        }
    }

    private void evaluate(String profile, long timestamp) {
        List<SliceRecord> available = new ArrayList<>(slicesOf(profile));
        available.removeIf(s -> bad.get(profile + "|" + s.sliceId()) != null); // bad yet kept: used by an epoch in flight
        if (available.isEmpty()) {
            return; // another task owns this profile, or nothing has arrived yet
        }
        Profile spec = available.get(0).profileSpec();
        boolean declared = false;
        for (JobSpec job : liveJobs()) {
            if (!job.profile().equals(profile) || progress.get(job.id()) != null) {
                continue;
            }
            try {
                job.requireKinds(spec.kinds());
            } catch (RecordFormatException e) {
                if (warnedJobs.add(job.id())) {
                    LOG.warn("job {} cannot be served: {}", job.id(), e.getMessage());
                }
                continue;
            }
            Optional<EpochPlanner.Selection> sel = EpochPlanner.firstEpoch(job, available);
            if (sel.isPresent()) {
                declare(job, spec, sel.get(), timestamp);
                declared = true;
            }
        }
        if (declared) {
            retire(profile, timestamp); // slices of jobs nobody wants and past retention
        }
    }

    private void declare(JobSpec job, Profile profile, EpochPlanner.Selection sel, long timestamp) {
        int epoch = 1;
        List<ModuleLayout> layout = layout(profile);
        Map<String, Float> thresholds = job.needsMatrixThreshold() ? thresholds(layout, job.sparsity()) : null;
        List<String> streams = sel.slices().stream().map(SliceRecord::stream).distinct().sorted().toList();
        EpochRecord e = new EpochRecord(job.id(), epoch, profile.id(), job, sel.sliceIds(), sel.samples(), sel.tokens(),
                streams, layout, System.currentTimeMillis(), thresholds,
                sel.slices().stream().mapToLong(SliceRecord::lastSampleTimestamp).max().orElse(0), ctx.applicationId());
        ctx.forward(new Record<>(job.id(), Json.write(e), timestamp), FinalizerTopology.EPOCHS_SINK);
        for (ModuleLayout m : layout) {
            for (int b = 0; b < m.rowStarts().size(); b++) {
                int start = m.rowStarts().get(b);
                Float t = thresholds == null ? null : thresholds.get(m.layer() + "/" + m.module());
                BlockInstruction c = new BlockInstruction(BlockInstruction.Type.FINALIZE, job.id(), epoch, job, m.rowEnd(b), m.in(),
                        sel.sliceIds(), t);
                String key = new BlockKey(profile.id(), m.layer(), m.kind(), start).toString();
                ctx.forward(new Record<>(key, Json.write(c), timestamp), FinalizerTopology.FINALIZE_SINK);
            }
        }
        progress.put(job.id(), Json.write(new JobProgress(job.id(), profile.id(), epoch, sel.sliceIds(),
                e.blockCount(), 0, false, e.declaredAt())));
        metrics.epochsDeclared.increment();
        LOG.info("job {} epoch {} declared: {} slices, {} samples, {} blocks", job.id(), epoch, sel.slices().size(),
                sel.samples(), e.blockCount());
    }

    private Map<String, Float> thresholds(List<ModuleLayout> layout, double sparsity) {
        Map<String, Float> t = new TreeMap<>();
        for (ModuleLayout m : layout) {
            LinearKind k = m.kind();
            t.put(m.layer() + "/" + m.module(), MagnitudeThreshold.of(weights.rows(m.layer(), k, 0, m.out()), sparsity));
        }
        return t;
    }

    /** Drops slices no live job needs once every epoch that used them is finalized; tells the block tasks. */
    private void retire(String profile, long timestamp) {
        List<SliceRecord> all = slicesOf(profile);
        if (all.isEmpty()) {
            return;
        }
        Set<String> used = new HashSet<>();
        Set<String> inFlight = new HashSet<>();
        Map<String, Integer> declared = new HashMap<>();
        try (KeyValueIterator<String, byte[]> it = progress.all()) {
            while (it.hasNext()) {
                JobProgress p = Json.read(it.next().value, JobProgress.class);
                declared.put(p.job(), p.epoch());
                (p.finalized() ? used : inFlight).addAll(p.sliceIds());
            }
        }
        Set<String> gone = EpochPlanner.retirable(all, liveJobs(), used, declared, System.currentTimeMillis(),
                settings.sliceRetention().toMillis());
        gone.removeAll(inFlight);
        if (gone.isEmpty()) {
            return;
        }
        List<String> ids = new ArrayList<>(new java.util.TreeSet<>(gone));
        sendToBlocks(layout(all.get(0).profileSpec()), profile, Json.write(BlockInstruction.retire(ids)), timestamp);
        for (String id : ids) {
            slices.delete(profile + "|" + id);
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
