package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.MetricsServer;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import dev.gblm.stream.worker.Worker;
import dev.gblm.stream.worker.WorkerIdLock;
import dev.gblm.stream.worker.WorkerSettings;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gblm worker}: the streaming statistics worker (runs until interrupted). */
@Command(name = "worker", mixinStandardHelpOptions = true,
        description = "Consumes calibration samples from every calib.<stream> topic, runs forward + backward per sample"
                + " and publishes partial statistics slice by slice, each slice in one Kafka transaction.")
final class WorkerCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "HF directory, llama2.c .bin, or a directory holding one")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer file (default: found next to the model; none: token-id samples only)")
    Path tokenizer;

    @Mixin
    KafkaOptions.Bootstrap kafka = new KafkaOptions.Bootstrap();

    @Option(names = "--seq-len", defaultValue = "0", description = "tokens per sample, BOS included (default ${DEFAULT-VALUE} = the model's context)")
    int seqLen;

    @Option(names = "--grad-scale", defaultValue = "100", description = "gradient scale s (default: ${DEFAULT-VALUE})")
    float gradScale;

    @Option(names = "--stats-pass", defaultValue = "auto", completionCandidates = Choices.WorkerStatsPasses.class,
            description = "how statistics are computed, ${COMPLETION-CANDIDATES}: model = sample by sample over the "
                    + "whole network (sums of the whole model held between samples); layer = a slice's samples "
                    + "together when it closes, one decoder layer at a time, each layer's records sent as soon as it "
                    + "is complete (memory of one layer; one more forward; a slice must compute within "
                    + "max.poll.interval.ms, 10 min); auto = layer for models too large to hold in float32 "
                    + "(lazy weights), else model. The same statistics either way (default: ${DEFAULT-VALUE})")
    String statsPass;

    @Option(names = "--samples-per-slice", defaultValue = "32",
            description = "samples per slice (default: ${DEFAULT-VALUE})")
    int samplesPerSlice;

    @Option(names = "--max-slice-seconds", defaultValue = "30",
            description = "close a slice this many seconds after its first record (default: ${DEFAULT-VALUE})")
    double maxSliceSeconds;

    @Option(names = "--max-record-bytes", defaultValue = "1048576",
            description = "largest statistics record value in bytes; sets the row-block layout, part of the profile (default: ${DEFAULT-VALUE})")
    long maxRecordBytes;

    @Option(names = "--holdout", defaultValue = "0", paramLabel = "FRACTION",
            description = "fraction of the calibration records held out of the statistics (chosen by a hash of topic and "
                    + "key; jobs measure held-out perplexity on them); part of the profile (default: ${DEFAULT-VALUE})")
    double holdout;

    @Option(names = "--threads", defaultValue = "0", description = "PyTorch intra-op compute threads; 0 = PyTorch's default (default: ${DEFAULT-VALUE})")
    int threads;

    @Mixin
    DeviceOption device = new DeviceOption();

    @Mixin
    KafkaOptions.Metrics metricsEndpoint = new KafkaOptions.Metrics();

    @Option(names = "--worker-id", description = "stable worker id; a restart with the same id fences the old instance"
            + " (default: the host name, or <host>_<n> for the n-th worker running on this host)")
    String workerId;

    @Option(names = "--worker-id-dir", paramLabel = "DIR",
            description = "where the default worker ids of this host are locked (default: <tmpdir>/gblm-worker-ids)")
    Path workerIdDir;

    /** Holds the default worker id's slot while the worker runs; null with --worker-id. */
    private WorkerIdLock idLock;

    @Option(names = "--group", description = "consumer group (default: gblm-worker-<profile>)")
    String group;

    @Option(names = "--streams", paramLabel = "REGEX",
            description = "topics to consume, as a regular expression (default: every calib.<stream> topic)")
    String streams;

    @Mixin
    TopicsCommand.CatalogOption topics = new TopicsCommand.CatalogOption();

    /**
     * The worker's settings from the options (validated; no Kafka). Without --worker-id this locks a default id slot
     * ({@link #defaultWorkerId}), released by {@link #releaseWorkerId}.
     */
    WorkerSettings config() {
        if (maxSliceSeconds <= 0) {
            throw new GblmException("--max-slice-seconds must be > 0");
        }
        return WorkerSettings.builder(kafka.settings(), workerId != null ? workerId : defaultWorkerId()).seqLen(seqLen)
                .gradScale(gradScale).holdout(holdout).samplesPerSlice(samplesPerSlice)
                .maxSliceAge(Duration.ofMillis((long) (maxSliceSeconds * 1000))).maxRecordBytes(maxRecordBytes)
                .threads(threads).statsPass(statsPass(statsPass)).groupId(group).topics(streams == null ? null : java.util.regex.Pattern.compile(streams))
                .build();
    }

    /** {@code auto} (null: the worker decides per model) or a {@link StatsPass}; one line naming all three otherwise. */
    static StatsPass statsPass(String s) {
        if ("auto".equalsIgnoreCase(s.trim())) {
            return null;
        }
        try {
            return StatsPass.parse(s);
        } catch (GblmException e) {
            throw new GblmException("unknown statistics pass '" + s + "' (expected one of "
                    + String.join(", ", new Choices.WorkerStatsPasses()) + ")");
        }
    }

    @Override
    public Integer call() throws Exception {
        try {
            return run();
        } finally {
            releaseWorkerId();
        }
    }

    private Integer run() throws Exception {
        WorkerSettings cfg = config();
        if (threads > 0) {
            dev.gblm.engine.LlamaModel.setComputeThreads(threads);
        }
        Checkpoint ckpt = Checkpoints.load(model);
        // settings that cannot fit the model are refused before any connection is made
        Worker.profileFor(cfg, ckpt);
        device.apply(spec.commandLine().getErr()); // the worker loads its model on the process default
        Tokenizer tok = loadTokenizer();
        TopicCatalog catalog = topics.catalog();
        try (TopicAdmin admin = TopicAdmin.connect(kafka.settings(), TopicAdmin.SERVICE_CLUSTER_WAIT)) {
            for (String t : new String[] {Topics.STATS.name(), Topics.SLICES.name(), Topics.DLQ.name()}) {
                TopicReport r = admin.ensure(catalog.get(t));
                if (!r.healthy() || r.status() == TopicReport.Status.CREATED) {
                    spec.commandLine().getErr().println(r.describe());
                }
            }
        }
        CountDownLatch done = new CountDownLatch(1);
        try (GblmMetrics metrics = new GblmMetrics("worker");
                MetricsServer server = metricsEndpoint.serve(metrics);
                Worker worker = new Worker(cfg, ckpt, tok, metrics)) {
            if (server != null) {
                spec.commandLine().getErr().println("metrics: " + server.url() + "/metrics");
            }
            Thread hook = new Thread(() -> {
                worker.stop();
                try {
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "gblm-worker-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            worker.start();
            spec.commandLine().getErr().println("worker " + cfg.workerId() + ": profile " + worker.profile().id()
                    + " (seqLen " + worker.profile().seqLen() + "), group " + worker.groupId()
                    + ", transactional id " + worker.transactionalId());
            while (worker.isRunning()) {
                Thread.sleep(200);
            }
            if (worker.failure() != null) {
                throw new GblmException("worker stopped: " + worker.failure());
            }
            spec.commandLine().getErr().println("worker " + cfg.workerId() + " stopped: " + worker.committedSamples()
                    + " samples in " + worker.committedSlices() + " slices");
            return 0;
        } finally {
            done.countDown();
        }
    }

    private Tokenizer loadTokenizer() {
        if (tokenizer != null) {
            return Tokenizers.load(model, tokenizer);
        }
        try {
            return Tokenizers.load(model, null);
        } catch (GblmException e) {
            spec.commandLine().getErr().println("no tokenizer (" + e.getMessage() + "): only token-id samples are usable");
            return null;
        }
    }

    /**
     * The host name plus the lowest free slot of this host ({@link WorkerIdLock}): two workers on one host get
     * different ids (and transactional ids) instead of fencing each other, and a restarted worker gets its old id
     * back, so it fences its predecessor's open transaction. The slot is held until {@link #releaseWorkerId} or the
     * process ends.
     */
    private String defaultWorkerId() {
        if (idLock == null) {
            idLock = WorkerIdLock.acquire(workerIdDir != null ? workerIdDir : WorkerIdLock.defaultDirectory(),
                    WorkerIdLock.hostName());
        }
        return idLock.workerId();
    }

    /** Frees the default id's slot (no-op with --worker-id); the process's end frees it too. */
    void releaseWorkerId() {
        if (idLock != null) {
            idLock.close();
            idLock = null;
        }
    }
}
