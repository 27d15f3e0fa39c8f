package dev.gblm.stream.worker;

import dev.gblm.ops.GblmMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * The worker's meters (Prometheus names in brackets): samples consumed per stream
 * ({@code gblm_worker_samples_consumed_total}), rejected per stream and reason
 * ({@code gblm_worker_samples_rejected_total}), tokens ({@code gblm_worker_tokens_total}), per-sample forward +
 * backward time ({@code gblm_worker_sample_seconds}; with {@code --stats-pass layer} a slice's compute time divided
 * equally among its samples), slice size in samples and bytes
 * ({@code gblm_worker_slice_samples}, {@code gblm_worker_slice_bytes}), flush time
 * ({@code gblm_worker_slice_flush_seconds}), bytes published ({@code gblm_worker_published_bytes_total}),
 * slices committed and aborted ({@code gblm_worker_slices_committed_total}, {@code ..._aborted_total}); and, tagged
 * {@code worker} (one process may run several), whether the worker is healthy ({@code gblm_worker_up}: 1 while
 * {@code /health} says UP, else 0) and the slice transactions aborted since the last commit
 * ({@code gblm_worker_slices_aborted_consecutive}; the worker is DOWN from {@link Worker#UNHEALTHY_AFTER_ABORTS}),
 * and the owned partitions it cannot read yet because a crashed worker's open transaction still holds their committed
 * offsets ({@code gblm_worker_partitions_waiting}).
 *
 * <p>The two timers are Prometheus histograms ({@code _bucket} series with the fixed bounds of
 * {@link GblmMetrics#SAMPLE_BUCKETS} and {@link GblmMetrics#COMMIT_BUCKETS}), so dashboards can aggregate
 * {@code histogram_quantile} over workers and processes.
 */
final class WorkerMetrics {
    private final MeterRegistry r;
    private final Timer sampleTime;
    private final Timer flushTime;
    private final DistributionSummary sliceSamples;
    private final DistributionSummary sliceBytes;
    private final Counter published;
    private final Counter committed;
    private final Counter aborted;

    /**
     * @param up                 whether the worker is healthy (evaluated on each scrape)
     * @param consecutiveAborts  slice transactions aborted since the last commit
     * @param waitingPartitions  owned partitions whose committed offset is still pending (a crashed worker's
     *                           transaction holds them)
     */
    WorkerMetrics(MeterRegistry registry, String workerId, BooleanSupplier up, IntSupplier consecutiveAborts,
            IntSupplier waitingPartitions) {
        this.r = registry;
        // strong references: nothing else holds these lambdas; weakly held, they would be collected (gauge reads NaN)
        Gauge.builder("gblm.worker.up", up, u -> u.getAsBoolean() ? 1 : 0).tag("worker", workerId).strongReference(true)
                .description("1 while the worker is healthy (consuming and committing), 0 when it is down").register(r);
        Gauge.builder("gblm.worker.slices.aborted.consecutive", consecutiveAborts, IntSupplier::getAsInt)
                .tag("worker", workerId).strongReference(true)
                .description("slice transactions aborted since the last commit").register(r);
        Gauge.builder("gblm.worker.partitions.waiting", waitingPartitions, IntSupplier::getAsInt)
                .tag("worker", workerId).strongReference(true)
                .description("owned partitions not readable yet: their committed offset is held by a crashed worker's "
                        + "open transaction").register(r);
        sampleTime = Timer.builder("gblm.worker.sample").description("forward + backward time of one sample (a layer-major worker's slice time over its samples)")
                .serviceLevelObjectives(GblmMetrics.buckets(GblmMetrics.SAMPLE_BUCKETS)).register(r);
        flushTime = Timer.builder("gblm.worker.slice.flush").description("time to publish and commit one slice")
                .serviceLevelObjectives(GblmMetrics.buckets(GblmMetrics.COMMIT_BUCKETS)).register(r);
        sliceSamples = DistributionSummary.builder("gblm.worker.slice.samples").description("samples per committed slice")
                .register(r);
        sliceBytes = DistributionSummary.builder("gblm.worker.slice.bytes").baseUnit("bytes")
                .description("statistics bytes per committed slice").register(r);
        published = Counter.builder("gblm.worker.published").baseUnit("bytes")
                .description("record value bytes committed to gblm.stats, gblm.slices and gblm.dlq").register(r);
        committed = Counter.builder("gblm.worker.slices.committed").description("slice transactions committed").register(r);
        aborted = Counter.builder("gblm.worker.slices.aborted").description("slice transactions aborted").register(r);
    }

    void sample(String stream, int tokens) {
        Counter.builder("gblm.worker.samples.consumed").tag("stream", stream)
                .description("samples accumulated (rejects excluded)").register(r).increment();
        Counter.builder("gblm.worker.tokens").tag("stream", stream).description("tokens fed to the model")
                .register(r).increment(tokens);
    }

    /** One sample's forward + backward time ({@code samples} samples sharing {@code nanos} equally). */
    void computed(long samples, long nanos) {
        for (long i = 0; i < samples; i++) {
            sampleTime.record(Duration.ofNanos(nanos / samples));
        }
    }

    void heldOut(String stream) {
        Counter.builder("gblm.worker.samples.heldout").tag("stream", stream)
                .description("records held out of the statistics (the profile's hold-out fraction)").register(r).increment();
    }

    void rejected(String stream, String reason) {
        Counter.builder("gblm.worker.samples.rejected").tag("stream", stream).tag("reason", reason)
                .description("samples sent to the dead-letter topic, by reason").register(r).increment();
    }

    void committed(long samples, long statsBytes, long allBytes, long nanos) {
        committed.increment();
        sliceSamples.record(samples);
        sliceBytes.record(statsBytes);
        published.increment(allBytes);
        flushTime.record(Duration.ofNanos(nanos));
    }

    void aborted() {
        aborted.increment();
    }
}
