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
 * @param orphanRetention  a statistics block still unclaimed this long after it arrived is reported to the planner,
 *                         which claims it again if it has accepted the slice by then and otherwise expires the slice
 *                         and deletes the block. Should exceed the planner's usual lag behind gblm.stats: a slice
 *                         whose record the planner reaches only after its block was reported is expired (never
 *                         planned), which loses that slice's samples but never stalls an epoch
 * @param startTimeout     how long {@link Finalizer#start()} waits for the application to reach RUNNING
 * @param internalReplicationFactor replication factor of the application's changelog topics; 0 = that of the
 *                         gblm.stats definition in the topic catalog, in both cases capped by the brokers found at
 *                         start ({@link InternalReplication})
 */
public record FinalizerSettings(KafkaSettings kafka, String applicationId, Path stateDir, String modelFingerprint,
        Duration plannerInterval, Duration sliceRetention, Duration orphanRetention, Duration startTimeout,
        int internalReplicationFactor) {
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
        if (internalReplicationFactor < 0 || internalReplicationFactor > Short.MAX_VALUE) {
            throw new IllegalArgumentException("internalReplicationFactor must be 0 (from the topic catalog) or positive, got "
                    + internalReplicationFactor);
        }
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

    /**
     * Period of the planner's retirement pass over every profile's slices: like the orphan sweep, half the retention
     * between 100 ms and 5 min, so a slice nobody needs outlives {@code sliceRetention} by at most that.
     */
    public Duration retirementInterval() {
        Duration half = sliceRetention.dividedBy(2);
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
                .sliceRetention(sliceRetention).orphanRetention(orphanRetention).startTimeout(startTimeout)
                .internalReplicationFactor(internalReplicationFactor);
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
        private int internalReplicationFactor;

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

        /** 0 (the default): from the gblm.stats definition; either way capped by the number of brokers. */
        public Builder internalReplicationFactor(int rf) {
            this.internalReplicationFactor = rf;
            return this;
        }

        public FinalizerSettings build() {
            return new FinalizerSettings(kafka, applicationId, stateDir, modelFingerprint, plannerInterval, sliceRetention,
                    orphanRetention, startTimeout, internalReplicationFactor);
        }
    }
}
