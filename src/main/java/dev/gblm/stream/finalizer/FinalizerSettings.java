package dev.gblm.stream.finalizer;

import java.nio.file.Path;
import java.time.Duration;

/**
 * @param bootstrapServers Kafka bootstrap servers
 * @param applicationId    Kafka Streams application id (consumer group, changelog and state-dir prefix)
 * @param stateDir         RocksDB state directory
 * @param modelFingerprint slices of another model go to the DLQ ("wrong-profile"); null = accept any
 * @param plannerInterval  wall-clock period of the planner's re-evaluation (jobs arriving after their slices)
 * @param sliceRetention   slices no job used nor needs are dropped after this long (match gblm.stats retention)
 * @param orphanRetention  statistics blocks of a slice the planner never accepted (no slice record, or a rejected
 *                         one) are deleted from the block store after this long; must exceed the planner's worst lag
 *                         behind gblm.stats, since a block stays unclaimed until its slice record is processed
 */
public record FinalizerSettings(String bootstrapServers, String applicationId, Path stateDir, String modelFingerprint,
        Duration plannerInterval, Duration sliceRetention, Duration orphanRetention) {
    public static final String DEFAULT_APPLICATION_ID = "gblm-finalizer";
    public static final Duration DEFAULT_ORPHAN_RETENTION = Duration.ofHours(1);

    public FinalizerSettings {
        if (orphanRetention == null || orphanRetention.isNegative() || orphanRetention.isZero()) {
            throw new IllegalArgumentException("orphanRetention must be positive, got " + orphanRetention);
        }
    }

    /** With the default {@link #DEFAULT_ORPHAN_RETENTION}. */
    public FinalizerSettings(String bootstrapServers, String applicationId, Path stateDir, String modelFingerprint,
            Duration plannerInterval, Duration sliceRetention) {
        this(bootstrapServers, applicationId, stateDir, modelFingerprint, plannerInterval, sliceRetention, DEFAULT_ORPHAN_RETENTION);
    }

    /** Period of the block tasks' orphan sweep: often enough that an orphan outlives its retention by at most half. */
    public Duration orphanSweepInterval() {
        Duration half = orphanRetention.dividedBy(2);
        Duration max = Duration.ofMinutes(5);
        Duration min = Duration.ofMillis(100);
        return half.compareTo(max) > 0 ? max : half.compareTo(min) < 0 ? min : half;
    }

    public static FinalizerSettings defaults(String bootstrapServers, Path stateDir, String modelFingerprint) {
        return new FinalizerSettings(bootstrapServers, DEFAULT_APPLICATION_ID, stateDir, modelFingerprint,
                Duration.ofSeconds(1), Duration.ofDays(7), DEFAULT_ORPHAN_RETENTION);
    }

    public FinalizerSettings withApplicationId(String id) {
        return new FinalizerSettings(bootstrapServers, id, stateDir, modelFingerprint, plannerInterval, sliceRetention, orphanRetention);
    }
}
