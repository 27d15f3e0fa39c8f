package dev.gblm.stream.worker;

import dev.gblm.GblmException;
import dev.gblm.engine.StatsPass;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stream.Profile;
import dev.gblm.stream.Topics;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Settings of one {@link Worker}; build with {@link #builder}.
 *
 * @param kafka             how to reach the cluster
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
 * @param holdout           fraction of the records held out of the statistics ({@link dev.gblm.stream.HoldOut}); part
 *                          of the profile, so a non-zero value makes a new profile id
 * @param statsPass         how statistics are computed (the same statistics either way): {@link StatsPass#MODEL}
 *                          sample by sample over the whole network, {@link StatsPass#LAYER} a slice at a time, layer
 *                          by layer, when it closes (see {@link Worker}); null = auto: layer for a model whose
 *                          weights are kept lazily (large), else model, which skips the layer-major pass's
 *                          recomputed forward (+14% time per sample measured, docs/engine.md)
 */
public record WorkerSettings(KafkaSettings kafka, String workerId, int seqLen, float gradScale, int samplesPerSlice,
        Duration maxSliceAge, long maxRecordBytes, int threads, String groupId, Map<String, String> consumerOverrides,
        Pattern topics, double holdout, StatsPass statsPass) {

    public static final int DEFAULT_SAMPLES_PER_SLICE = 32;
    public static final Duration DEFAULT_MAX_SLICE_AGE = Duration.ofSeconds(30);

    public WorkerSettings {
        Objects.requireNonNull(kafka, "kafka");
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
        if (!(holdout >= 0 && holdout < 1)) {
            throw new GblmException("--holdout must be a fraction in [0, 1), got " + holdout);
        }
    }

    /** Defaults for everything but the cluster and the worker id. */
    public static Builder builder(KafkaSettings kafka, String workerId) {
        return new Builder(kafka, workerId);
    }

    public Builder toBuilder() {
        return new Builder(kafka, workerId).seqLen(seqLen).gradScale(gradScale).samplesPerSlice(samplesPerSlice)
                .maxSliceAge(maxSliceAge).maxRecordBytes(maxRecordBytes).threads(threads).groupId(groupId)
                .consumerOverrides(consumerOverrides).topics(topics).holdout(holdout).statsPass(statsPass);
    }

    public static final class Builder {
        private KafkaSettings kafka;
        private String workerId;
        private int seqLen;
        private float gradScale = Profile.DEFAULT_GRAD_SCALE;
        private int samplesPerSlice = DEFAULT_SAMPLES_PER_SLICE;
        private Duration maxSliceAge = DEFAULT_MAX_SLICE_AGE;
        private long maxRecordBytes = RowBlockPlanner.DEFAULT_MAX_BYTES;
        private int threads;
        private String groupId;
        private Map<String, String> consumerOverrides = Map.of();
        private Pattern topics;
        private double holdout;
        private StatsPass statsPass;

        private Builder(KafkaSettings kafka, String workerId) {
            this.kafka = kafka;
            this.workerId = workerId;
        }

        public Builder workerId(String id) {
            this.workerId = id;
            return this;
        }

        public Builder seqLen(int n) {
            this.seqLen = n;
            return this;
        }

        public Builder gradScale(float s) {
            this.gradScale = s;
            return this;
        }

        public Builder samplesPerSlice(int n) {
            this.samplesPerSlice = n;
            return this;
        }

        public Builder maxSliceAge(Duration d) {
            this.maxSliceAge = d;
            return this;
        }

        public Builder maxRecordBytes(long bytes) {
            this.maxRecordBytes = bytes;
            return this;
        }

        public Builder threads(int n) {
            this.threads = n;
            return this;
        }

        public Builder groupId(String g) {
            this.groupId = g;
            return this;
        }

        public Builder consumerOverrides(Map<String, String> o) {
            this.consumerOverrides = o;
            return this;
        }

        public Builder topics(Pattern p) {
            this.topics = p;
            return this;
        }

        public Builder holdout(double h) {
            this.holdout = h;
            return this;
        }

        public Builder statsPass(StatsPass p) {
            this.statsPass = p;
            return this;
        }

        public WorkerSettings build() {
            return new WorkerSettings(kafka, workerId, seqLen, gradScale, samplesPerSlice, maxSliceAge, maxRecordBytes,
                    threads, groupId, consumerOverrides, topics, holdout, statsPass);
        }
    }
}
