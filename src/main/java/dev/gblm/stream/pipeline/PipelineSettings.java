package dev.gblm.stream.pipeline;

import dev.gblm.GblmException;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.ScramUsers;
import dev.gblm.stream.Topics;
import dev.gblm.stream.worker.WorkerSettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link Pipeline}; build with {@link #builder}.
 *
 * @param model           model directory or file
 * @param tokenizer       tokenizer override (null = the model's own, or none: token-id samples only)
 * @param out             export directory
 * @param dataDir         broker data and finalizer state (null = temporary, deleted at close)
 * @param kafka           an existing cluster; null = start an embedded broker
 * @param metricsPort     -1 = no HTTP endpoint, 0 = any free port
 * @param metricsHost     address the HTTP endpoint binds to (default loopback)
 * @param seqLen          0 = the model's context
 * @param samplesPerSlice records after which a worker closes its slice
 * @param maxSliceAge     time after which a worker closes its slice
 * @param workers         worker instances in this process (each its own consumer and transactional id)
 * @param instance        distinguishes consumer groups, application and transactional ids of pipelines sharing a cluster
 * @param progress        where progress lines go (null = nowhere)
 * @param users           secured embedded broker (SASL/SCRAM, authorizer) with these users, the services each under
 *                        its own principal with only its ACLs; null = an open broker. Needs the broker user
 *                        ({@code admin}); service users missing from it get generated passwords
 * @param team            ingest and submit as this team (its user must be in {@code users}): its streams are
 *                        {@code <team>.*}, its jobs {@code <team>.*} on gblm.jobs.&lt;team&gt;; null = as the admin
 * @param holdout         fraction of the calibration records the workers hold out of the statistics (part of the
 *                        profile; jobs may hold out up to this much for their held-out perplexity); 0 = none
 * @param keep            the exporter's {@code --keep}: complete epochs kept per job (0 = all)
 */
public record PipelineSettings(Path model, Path tokenizer, Path out, Path dataDir, KafkaSettings kafka, int metricsPort,
        String metricsHost, int seqLen, int samplesPerSlice, Duration maxSliceAge, int workers, String instance, PrintStream progress,
        ScramUsers users, String team, double holdout, int keep) {
    public static final Duration DEFAULT_MAX_SLICE_AGE = Duration.ofSeconds(5);
    public static final String DEFAULT_INSTANCE = "run";
    public static final String DEFAULT_METRICS_HOST = "127.0.0.1";

    public PipelineSettings {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(out, "out");
        metricsHost = metricsHost == null ? DEFAULT_METRICS_HOST : metricsHost;
        if (workers < 0) {
            throw new GblmException("--workers must be >= 0, got " + workers);
        }
        if (instance == null || !instance.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new GblmException("invalid instance name '" + instance + "': use 1-100 of a-z A-Z 0-9 . _ -");
        }
        if (users != null && kafka != null) {
            throw new GblmException("--users secures the embedded broker: it cannot be combined with an existing cluster "
                    + "(give that cluster's credentials with --kafka-config instead)");
        }
        if (users != null && !users.users().containsKey(EmbeddedKafka.DEFAULT_BROKER_USER)) {
            throw new GblmException("users " + users.source() + " has no line for the broker user "
                    + EmbeddedKafka.DEFAULT_BROKER_USER + " (add '" + EmbeddedKafka.DEFAULT_BROKER_USER + ":PASSWORD')");
        }
        if (!(holdout >= 0 && holdout < 1)) {
            throw new GblmException("--holdout must be a fraction in [0, 1), got " + holdout);
        }
        if (team != null) {
            Topics.requireTeam(team);
            if (users == null) {
                throw new GblmException("--team needs --users: a team is a user of the secured broker");
            }
            if (!users.users().containsKey(team)) {
                throw new GblmException("users " + users.source() + " has no line for team " + team + " (add '" + team
                        + ":PASSWORD')");
            }
        }
    }

    public static Builder builder(Path model, Path out) {
        return new Builder(model, out);
    }

    public Builder toBuilder() {
        return new Builder(model, out).tokenizer(tokenizer).dataDir(dataDir).kafka(kafka).metricsPort(metricsPort)
                .metricsHost(metricsHost).seqLen(seqLen).samplesPerSlice(samplesPerSlice).maxSliceAge(maxSliceAge).workers(workers)
                .instance(instance).progress(progress).users(users).team(team).holdout(holdout).keep(keep);
    }

    public static final class Builder {
        private final Path model;
        private final Path out;
        private Path tokenizer;
        private Path dataDir;
        private KafkaSettings kafka;
        private ScramUsers users;
        private String team;
        private int keep;
        private int metricsPort = -1;
        private String metricsHost = DEFAULT_METRICS_HOST;
        private int seqLen;
        private int samplesPerSlice = WorkerSettings.DEFAULT_SAMPLES_PER_SLICE;
        private Duration maxSliceAge = DEFAULT_MAX_SLICE_AGE;
        private int workers = 1;
        private String instance = DEFAULT_INSTANCE;
        private PrintStream progress = System.err;
        private double holdout;

        private Builder(Path model, Path out) {
            this.model = model;
            this.out = out;
        }

        public Builder tokenizer(Path t) {
            this.tokenizer = t;
            return this;
        }

        public Builder dataDir(Path d) {
            this.dataDir = d;
            return this;
        }

        /** An existing cluster; null (the default) starts an embedded broker. */
        public Builder kafka(KafkaSettings k) {
            this.kafka = k;
            return this;
        }

        public Builder metricsPort(int p) {
            this.metricsPort = p;
            return this;
        }

        public Builder metricsHost(String h) {
            this.metricsHost = h;
            return this;
        }

        public Builder seqLen(int n) {
            this.seqLen = n;
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

        public Builder workers(int n) {
            this.workers = n;
            return this;
        }

        public Builder instance(String i) {
            this.instance = i;
            return this;
        }

        public Builder progress(PrintStream p) {
            this.progress = p;
            return this;
        }

        public Builder users(ScramUsers u) {
            this.users = u;
            return this;
        }

        public Builder team(String t) {
            this.team = t;
            return this;
        }

        public Builder keep(int k) {
            this.keep = k;
            return this;
        }

        public Builder holdout(double h) {
            this.holdout = h;
            return this;
        }

        public PipelineSettings build() {
            return new PipelineSettings(model, tokenizer, out, dataDir, kafka, metricsPort, metricsHost, seqLen, samplesPerSlice,
                    maxSliceAge, workers, instance, progress, users, team, holdout, keep);
        }
    }
}
