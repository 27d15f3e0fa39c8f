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
 */
public record FinalizerSettings(String bootstrapServers, String applicationId, Path stateDir, String modelFingerprint,
        Duration plannerInterval, Duration sliceRetention) {
    public static final String DEFAULT_APPLICATION_ID = "gblm-finalizer";

    public static FinalizerSettings defaults(String bootstrapServers, Path stateDir, String modelFingerprint) {
        return new FinalizerSettings(bootstrapServers, DEFAULT_APPLICATION_ID, stateDir, modelFingerprint,
                Duration.ofSeconds(1), Duration.ofDays(7));
    }

    public FinalizerSettings withApplicationId(String id) {
        return new FinalizerSettings(bootstrapServers, id, stateDir, modelFingerprint, plannerInterval, sliceRetention);
    }
}
