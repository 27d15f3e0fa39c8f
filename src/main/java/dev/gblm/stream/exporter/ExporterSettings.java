package dev.gblm.stream.exporter;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of one {@link Exporter}; build with {@link #builder}.
 *
 * @param kafka     how to reach the cluster
 * @param outDir    where {@code <job>/epoch-<n>/} directories are written
 * @param groupId   consumer group; also the suffix of the transactional id, so a second instance of the same group
 *                  fences the first
 * @param tokenizer tokenizer file copied into the outputs instead of the model's (null: the model's); also the one
 *                  that decodes held-out text samples
 * @param holdoutMaxSamples held-out samples evaluated per epoch of a job with hold-out (the first ones, see
 *                  {@link HeldOutEvaluator})
 * @param keep      complete epochs kept per job, the newest; 0 = all (older ones are deleted once a newer one is
 *                  exported and announced)
 */
public record ExporterSettings(KafkaSettings kafka, Path outDir, String groupId, Path tokenizer, int holdoutMaxSamples,
        int keep) {
    public static final String DEFAULT_GROUP = "gblm-exporter";
    public static final int DEFAULT_HOLDOUT_MAX_SAMPLES = 64;

    public ExporterSettings {
        Objects.requireNonNull(kafka, "kafka");
        Objects.requireNonNull(outDir, "outDir");
        if (groupId == null || !groupId.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new GblmException("invalid exporter group id '" + groupId + "': use 1-200 of a-z A-Z 0-9 . _ -");
        }
        if (keep < 0) {
            throw new GblmException("--keep must be >= 0 (0 = keep every epoch), got " + keep);
        }
        if (holdoutMaxSamples < 1) {
            throw new GblmException("--holdout-max-samples must be >= 1, got " + holdoutMaxSamples);
        }
    }

    public static Builder builder(KafkaSettings kafka, Path outDir) {
        return new Builder(kafka, outDir);
    }

    public Builder toBuilder() {
        return new Builder(kafka, outDir).groupId(groupId).tokenizer(tokenizer).holdoutMaxSamples(holdoutMaxSamples).keep(keep);
    }

    public static final class Builder {
        private final KafkaSettings kafka;
        private final Path outDir;
        private String groupId = DEFAULT_GROUP;
        private Path tokenizer;
        private int keep;
        private int holdoutMaxSamples = DEFAULT_HOLDOUT_MAX_SAMPLES;

        private Builder(KafkaSettings kafka, Path outDir) {
            this.kafka = kafka;
            this.outDir = outDir;
        }

        public Builder groupId(String g) {
            this.groupId = g;
            return this;
        }

        public Builder tokenizer(Path t) {
            this.tokenizer = t;
            return this;
        }

        public Builder keep(int k) {
            this.keep = k;
            return this;
        }

        public Builder holdoutMaxSamples(int n) {
            this.holdoutMaxSamples = n;
            return this;
        }

        public ExporterSettings build() {
            return new ExporterSettings(kafka, outDir, groupId, tokenizer, holdoutMaxSamples, keep);
        }
    }
}
