package dev.gblm.stream.finalizer;

import dev.gblm.ops.GblmMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The finalizer's own meters (see docs/metrics.md); shared by every task, thread-safe. Per-job gauges, tagged
 * {@link GblmMetrics#JOB_TAG} and set by the planner task that owns the job's profile: samples available to the job
 * ({@code gblm.finalizer.job.samples}: its streams' samples in accepted slices the planner holds), the samples its
 * epoch needs ({@code gblm.finalizer.job.min.samples}) and its declared epoch ({@code gblm.finalizer.job.epoch}, 0
 * before the first).
 */
public final class FinalizerMetrics {
    private final MeterRegistry registry;
    final Counter epochsDeclared;
    final Counter epochsFinalized;
    final Counter maskBlocks;
    final Counter statsMerged;
    final Counter bytesMerged;
    final Counter statsStored;
    final Counter slicesAccepted;
    final Counter slicesRetired;
    final Counter basesFolded;
    final Counter foldsReplayed;
    final Counter orphansDeleted;
    final Counter slicesBad;
    final Counter slicesExpired;
    final Counter orphansReported;
    final Counter orphansReclaimed;
    final Counter acksDuplicate;
    final Counter threadFailures;
    final Counter punctuatorFailures;
    final AtomicLong pendingBlocks = new AtomicLong();
    /** job id → {samples, minSamples, epoch} and its three gauges */
    private final Map<String, JobGauges> jobs = new ConcurrentHashMap<>();

    private record JobGauges(AtomicLong samples, AtomicLong minSamples, AtomicLong epoch, List<Meter> meters) {}

    public FinalizerMetrics(MeterRegistry registry) {
        this.registry = registry;
        epochsDeclared = Counter.builder("gblm.finalizer.epochs.declared").description("epochs declared by the planner").register(registry);
        epochsFinalized = Counter.builder("gblm.finalizer.epochs.finalized").description("epochs whose every mask block was emitted").register(registry);
        maskBlocks = Counter.builder("gblm.finalizer.mask.blocks").description("mask blocks emitted").register(registry);
        statsMerged = Counter.builder("gblm.finalizer.stats.merged").description("per-slice statistics records merged into epochs").register(registry);
        bytesMerged = Counter.builder("gblm.finalizer.stats.merged.bytes").description("bytes of statistics records merged").baseUnit("bytes").register(registry);
        statsStored = Counter.builder("gblm.finalizer.stats.stored").description("statistics records accepted into the block store").register(registry);
        slicesAccepted = Counter.builder("gblm.finalizer.slices.accepted").description("slice records accepted by the planner").register(registry);
        slicesRetired = Counter.builder("gblm.finalizer.slices.retired").description("slices dropped from state (no epoch needs them)").register(registry);
        basesFolded = Counter.builder("gblm.finalizer.bases.folded")
                .description("finalized epochs of window-0 re-pruning jobs folded into the job's base sum").register(registry);
        foldsReplayed = Counter.builder("gblm.finalizer.folds.replayed")
                .description("FOLD instructions a block's base already had (replays, ignored)").register(registry);
        orphansDeleted = Counter.builder("gblm.finalizer.orphans.deleted")
                .description("unclaimed statistics blocks the planner retired (their slice was never accepted)").register(registry);
        orphansReported = Counter.builder("gblm.finalizer.orphans.reported")
                .description("statistics blocks still unclaimed after orphanRetention, reported to the planner").register(registry);
        orphansReclaimed = Counter.builder("gblm.finalizer.orphans.reclaimed")
                .description("reported blocks the planner claimed again (it had accepted their slice meanwhile)").register(registry);
        slicesExpired = Counter.builder("gblm.finalizer.slices.expired")
                .description("slices never planned because one of their blocks was reported unclaimed first").register(registry);
        acksDuplicate = Counter.builder("gblm.finalizer.acks.duplicate")
                .description("acks of a mask block that was already acknowledged (ignored)").register(registry);
        threadFailures = Counter.builder("gblm.finalizer.thread.failures")
                .description("stream threads that failed and were replaced").register(registry);
        punctuatorFailures = Counter.builder("gblm.finalizer.punctuator.failures")
                .description("wall-clock punctuations (planner round, retirement, orphan report) that failed and were skipped")
                .register(registry);
        slicesBad = Counter.builder("gblm.finalizer.slices.bad")
                .description("slices excluded from epochs because one of their statistics blocks was rejected").register(registry);
        Gauge.builder("gblm.finalizer.blocks.pending", pendingBlocks, AtomicLong::get)
                .description("FINALIZE instructions waiting for statistics blocks").register(registry);
    }

    /** The planner's view of a live job: samples available toward its next epoch, samples needed, declared epoch. */
    void job(String job, long samples, long minSamples, int epoch) {
        JobGauges g = jobs.computeIfAbsent(job, j -> {
            AtomicLong s = new AtomicLong();
            AtomicLong m = new AtomicLong();
            AtomicLong e = new AtomicLong();
            return new JobGauges(s, m, e, List.of(
                    Gauge.builder("gblm.finalizer.job.samples", s, AtomicLong::get).tag(GblmMetrics.JOB_TAG, j)
                            .description("samples of the job's streams in accepted slices the planner holds").register(registry),
                    Gauge.builder("gblm.finalizer.job.min.samples", m, AtomicLong::get).tag(GblmMetrics.JOB_TAG, j)
                            .description("samples the job's epoch needs (minSamples)").register(registry),
                    Gauge.builder("gblm.finalizer.job.epoch", e, AtomicLong::get).tag(GblmMetrics.JOB_TAG, j)
                            .description("the job's last declared epoch (0: none yet)").register(registry)));
        });
        g.samples().set(samples);
        g.minSamples().set(minSamples);
        g.epoch().set(epoch);
    }

    /** A job's epoch was declared: its epoch gauge, at once (the other two follow at the next evaluation). */
    void jobEpoch(String job, int epoch) {
        JobGauges g = jobs.get(job);
        if (g != null) {
            g.epoch().set(epoch);
        }
    }

    /** Drops the per-job gauges of jobs no longer live (deleted from gblm.jobs). */
    void retainJobs(Set<String> live) {
        jobs.keySet().removeIf(j -> {
            if (live.contains(j)) {
                return false;
            }
            jobs.get(j).meters().forEach(registry::remove);
            return true;
        });
    }

    void dlq(String reason) {
        Counter.builder("gblm.finalizer.dlq").tag("reason", reason).description("records sent to gblm.dlq").register(registry).increment();
    }

    public MeterRegistry registry() {
        return registry;
    }
}
