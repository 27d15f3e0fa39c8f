package dev.gblm.stream.worker;

import dev.gblm.stream.Topics;
import dev.gblm.GblmException;
import dev.gblm.stats.RowBlockPlanner;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of one {@link Worker}.
 *
 * @param bootstrapServers  Kafka bootstrap servers
 * @param workerId          stable id of this worker: its transactional id derives from it, so a restarted worker
 *                          with the same id fences its zombie predecessor
 * @param seqLen            tokens per sample (BOS included); 0 = the model's context length
 * @param gradScale         gradient scale {@code s}
 * @param samplesPerSlice   records (samples and rejects) after which a slice closes
 * @param maxSliceAge       time after a slice's first record at which it closes
 * @param maxRecordBytes    largest statistics record value (row-block layout of the profile)
 * @param threads           PyTorch intra-op threads of the worker thread; 0 = PyTorch's default
 * @param groupId           consumer group; null = {@code gblm-worker-<profile>}
 * @param consumerOverrides extra consumer properties (tests: short session timeouts)
 * @param topics            subscription pattern; default every calibration topic ({@code calib\..+})
 */
public record WorkerSettings(String bootstrapServers, String workerId, int seqLen, float gradScale, int samplesPerSlice,
        Duration maxSliceAge, long maxRecordBytes, int threads, String groupId, Map<String, String> consumerOverrides,
        Pattern topics) {

    public static final int DEFAULT_SAMPLES_PER_SLICE = 32;
    public static final Duration DEFAULT_MAX_SLICE_AGE = Duration.ofSeconds(30);

    public WorkerSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        if (workerId == null || !workerId.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new GblmException("invalid worker id '" + workerId + "': use 1-100 of a-z A-Z 0-9 . _ -");
        }
        if (seqLen < 0 || seqLen == 1) {
            throw new GblmException("--seq-len must be >= 2 (or 0 for the model's context), got " + seqLen);
        }
        if (!(gradScale > 0) || Float.isInfinite(gradScale)) {
            throw new GblmException("--grad-scale must be > 0, got " + gradScale);
        }
        if (samplesPerSlice < 1) {
            throw new GblmException("--samples-per-slice must be >= 1, got " + samplesPerSlice);
        }
        if (maxSliceAge == null || maxSliceAge.isNegative() || maxSliceAge.isZero()) {
            throw new GblmException("--max-slice-seconds must be > 0");
        }
        if (maxRecordBytes < 4096) {
            throw new GblmException("--max-record-bytes must be >= 4096, got " + maxRecordBytes);
        }
        if (threads < 0) {
            throw new GblmException("--threads must be >= 1");
        }
        consumerOverrides = consumerOverrides == null ? Map.of() : Map.copyOf(consumerOverrides);
        topics = topics == null ? Topics.CALIBRATION_TOPICS : topics;
    }

    /** Defaults for everything but the servers and the id. */
    public static WorkerSettings defaults(String bootstrapServers, String workerId) {
        return new WorkerSettings(bootstrapServers, workerId, 0, 100f, DEFAULT_SAMPLES_PER_SLICE, DEFAULT_MAX_SLICE_AGE,
                RowBlockPlanner.DEFAULT_MAX_BYTES, 0, null, Map.of(), null);
    }

    public WorkerSettings withSeqLen(int n) {
        return new WorkerSettings(bootstrapServers, workerId, n, gradScale, samplesPerSlice, maxSliceAge, maxRecordBytes,
                threads, groupId, consumerOverrides, topics);
    }

    public WorkerSettings withSlices(int samples, Duration maxAge) {
        return new WorkerSettings(bootstrapServers, workerId, seqLen, gradScale, samples, maxAge, maxRecordBytes,
                threads, groupId, consumerOverrides, topics);
    }

    public WorkerSettings withMaxRecordBytes(long bytes) {
        return new WorkerSettings(bootstrapServers, workerId, seqLen, gradScale, samplesPerSlice, maxSliceAge, bytes,
                threads, groupId, consumerOverrides, topics);
    }

    public WorkerSettings withThreads(int n) {
        return new WorkerSettings(bootstrapServers, workerId, seqLen, gradScale, samplesPerSlice, maxSliceAge,
                maxRecordBytes, n, groupId, consumerOverrides, topics);
    }

    public WorkerSettings withGroupId(String g) {
        return new WorkerSettings(bootstrapServers, workerId, seqLen, gradScale, samplesPerSlice, maxSliceAge,
                maxRecordBytes, threads, g, consumerOverrides, topics);
    }

    public WorkerSettings withWorkerId(String id) {
        return new WorkerSettings(bootstrapServers, id, seqLen, gradScale, samplesPerSlice, maxSliceAge, maxRecordBytes,
                threads, groupId, consumerOverrides, topics);
    }

    public WorkerSettings withTopics(Pattern p) {
        return new WorkerSettings(bootstrapServers, workerId, seqLen, gradScale, samplesPerSlice, maxSliceAge,
                maxRecordBytes, threads, groupId, consumerOverrides, p);
    }

    public WorkerSettings withConsumerOverrides(Map<String, String> o) {
        return new WorkerSettings(bootstrapServers, workerId, seqLen, gradScale, samplesPerSlice, maxSliceAge,
                maxRecordBytes, threads, groupId, o, topics);
    }
}
