package dev.gblm.stream.finalizer;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of one {@link Finalizer} instance; build with {@link #builder}.
 *
 * @param kafka            how to reach the cluster
 * @param applicationId    Kafka Streams application id (consumer group, changelog and state-dir prefix)
 * @param stateDir         RocksDB state directory
 * @param modelFingerprint slices of another model go to the DLQ ("wrong-profile"); null = accept any
 * @param plannerInterval  wall-clock period of the planner's re-evaluation (jobs arriving after their slices)
 * @param sliceRetention   slices no job used nor needs are dropped after this long (match gblm.stats retention)
 * @param orphanRetention  statistics blocks of a slice the planner never accepted (no slice record, or a rejected
 *                         one) are deleted from the block store after this long; must exceed the planner's worst lag
 *                         behind gblm.stats, since a block stays unclaimed until its slice record is processed
 * @param startTimeout     how long {@link Finalizer#start()} waits for the application to reach RUNNING
 */
public record FinalizerSettings(KafkaSettings kafka, String applicationId, Path stateDir, String modelFingerprint,
        Duration plannerInterval, Duration sliceRetention, Duration orphanRetention, Duration startTimeout) {
    public static final String DEFAULT_APPLICATION_ID = "gblm-finalizer";
    public static final Duration DEFAULT_PLANNER_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_SLICE_RETENTION = Duration.ofDays(7);
    public static final Duration DEFAULT_ORPHAN_RETENTION = Duration.ofHours(1);
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofMinutes(5);

    public FinalizerSettings {
        Objects.requireNonNull(kafka, "kafka");
        Objects.requireNonNull(stateDir, "stateDir");
        if (applicationId == null || !applicationId.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new GblmException("invalid finalizer application id '" + applicationId + "': use 1-200 of a-z A-Z 0-9 . _ -");
        }
        requirePositive(plannerInterval, "plannerInterval");
        requirePositive(sliceRetention, "sliceRetention");
        requirePositive(orphanRetention, "orphanRetention");
        requirePositive(startTimeout, "startTimeout");
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, got " + d);
        }
    }

    /** Period of the block tasks' orphan sweep: often enough that an orphan outlives its retention by at most half. */
    public Duration orphanSweepInterval() {
        Duration half = orphanRetention.dividedBy(2);
        Duration max = Duration.ofMinutes(5);
        Duration min = Duration.ofMillis(100);
        return half.compareTo(max) > 0 ? max : half.compareTo(min) < 0 ? min : half;
    }

    /** Defaults for everything but the cluster, the state directory and the model. */
    public static Builder builder(KafkaSettings kafka, Path stateDir, String modelFingerprint) {
        return new Builder(kafka, stateDir, modelFingerprint);
    }

    public Builder toBuilder() {
        return new Builder(kafka, stateDir, modelFingerprint).applicationId(applicationId).plannerInterval(plannerInterval)
                .sliceRetention(sliceRetention).orphanRetention(orphanRetention).startTimeout(startTimeout);
    }

    public static final class Builder {
        private final KafkaSettings kafka;
        private final Path stateDir;
        private final String modelFingerprint;
        private String applicationId = DEFAULT_APPLICATION_ID;
        private Duration plannerInterval = DEFAULT_PLANNER_INTERVAL;
        private Duration sliceRetention = DEFAULT_SLICE_RETENTION;
        private Duration orphanRetention = DEFAULT_ORPHAN_RETENTION;
        private Duration startTimeout = DEFAULT_START_TIMEOUT;

        private Builder(KafkaSettings kafka, Path stateDir, String modelFingerprint) {
            this.kafka = kafka;
            this.stateDir = stateDir;
            this.modelFingerprint = modelFingerprint;
        }

        public Builder applicationId(String id) {
            this.applicationId = id;
            return this;
        }

        public Builder plannerInterval(Duration d) {
            this.plannerInterval = d;
            return this;
        }

        public Builder sliceRetention(Duration d) {
            this.sliceRetention = d;
            return this;
        }

        public Builder orphanRetention(Duration d) {
            this.orphanRetention = d;
            return this;
        }

        public Builder startTimeout(Duration d) {
            this.startTimeout = d;
            return this;
        }

        public FinalizerSettings build() {
            return new FinalizerSettings(kafka, applicationId, stateDir, modelFingerprint, plannerInterval, sliceRetention,
                    orphanRetention, startTimeout);
        }
    }
}
