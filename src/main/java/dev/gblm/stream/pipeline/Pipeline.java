package dev.gblm.stream.pipeline;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.MetricsServer;
import dev.gblm.ops.ScramUsers;
import dev.gblm.ops.Service;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.Profile;
import dev.gblm.stream.Topics;
import dev.gblm.stream.exporter.Exporter;
import dev.gblm.stream.exporter.ExporterSettings;
import dev.gblm.stream.finalizer.CheckpointWeights;
import dev.gblm.stream.finalizer.Finalizer;
import dev.gblm.stream.finalizer.FinalizerSettings;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.ingest.IngestSummary;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.ingest.TopicKeys;
import dev.gblm.stream.job.JobClient;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import dev.gblm.stream.worker.Worker;
import dev.gblm.stream.worker.WorkerSettings;
import dev.gblm.teams.AclApplier;
import dev.gblm.teams.AclSet;
import dev.gblm.teams.Quota;
import dev.gblm.teams.ServiceAcls;
import dev.gblm.teams.TeamAcls;
import dev.gblm.teams.TeamTopics;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.search.Search;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;

/**
 * {@code gblm run} as a library: everything on one machine in one process — an embedded broker (or an existing
 * cluster), the topics from the catalog, worker(s), the finalizer and the exporter, sharing one {@link GblmMetrics}
 * (component {@code run}) and one {@link MetricsServer}; plus shortcuts to ingest files and submit jobs.
 */
public final class Pipeline implements AutoCloseable {
    private final PipelineSettings opt;
    private final Checkpoint checkpoint;
    private final Tokenizer tokenizer;
    private final GblmMetrics metrics = new GblmMetrics("run");
    private final Map<String, ModelReady> exported = new ConcurrentHashMap<>();
    private final Set<String> submitted = new LinkedHashSet<>();
    /** Started services, in start order; closed in reverse. */
    private final List<Service> services = new ArrayList<>();
    private EmbeddedKafka broker;
    /** The administrator's settings: topics, ACLs, and everything when the broker is open. */
    private KafkaSettings kafka;
    /** Who ingests and submits: the team when there is one, else the administrator. */
    private KafkaSettings client;
    private MetricsServer server;
    private Finalizer finalizer;
    private final List<Worker> workers = new ArrayList<>();
    private Exporter exporter;
    private Path tempState;
    private Thread progressThread;
    private volatile boolean closed;

    public Pipeline(PipelineSettings opt) {
        this.opt = opt;
        this.checkpoint = Checkpoints.load(opt.model());
        Tokenizer t;
        try {
            t = Tokenizers.load(opt.model(), opt.tokenizer());
        } catch (GblmException e) {
            if (opt.tokenizer() != null) {
                throw e;
            }
            t = null; // token-id samples only
        }
        this.tokenizer = t;
    }

    public GblmMetrics metrics() {
        return metrics;
    }

    public String bootstrapServers() {
        return kafka == null ? null : kafka.bootstrapServers();
    }

    /** How this pipeline's clients reach the cluster; null before {@link #start}. */
    public KafkaSettings kafka() {
        return kafka;
    }

    public MetricsServer metricsServer() {
        return server;
    }

    public Checkpoint checkpoint() {
        return checkpoint;
    }

    public List<Worker> workers() {
        return workers;
    }

    public Finalizer finalizer() {
        return finalizer;
    }

    /** The profile every worker of this pipeline serves (jobs submitted here use it). */
    public Profile profile() {
        return Profile.forCheckpoint(checkpoint, opt.seqLen(), Profile.DEFAULT_GRAD_SCALE,
                dev.gblm.stats.RowBlockPlanner.DEFAULT_MAX_BYTES, opt.holdout());
    }

    public synchronized Pipeline start() throws IOException {
        Map<String, String> passwords = new LinkedHashMap<>();
        ServiceAcls.Names names = serviceNames();
        if (opt.kafka() == null) {
            EmbeddedKafka.Builder b = EmbeddedKafka.builder();
            if (opt.dataDir() != null) {
                b.dataDir(opt.dataDir().resolve("kafka"));
            }
            if (opt.users() != null) {
                passwords.putAll(opt.users().users());
                for (String service : List.of(names.worker(), names.finalizer(), names.exporter())) {
                    passwords.computeIfAbsent(service, u -> generatedPassword());
                }
                b.scramUsers(new ScramUsers(opt.users().source() + " and generated service users", passwords));
            }
            broker = startService(b.build());
            metrics.register(broker);
            kafka = broker.clientSettings();
            say("embedded Kafka broker at " + kafka.bootstrapServers() + (broker.secured()
                    ? " (secured: SASL/SCRAM, ACLs; services run as " + names.worker() + ", " + names.finalizer() + ", "
                            + names.exporter() + ")" : ""));
        } else {
            kafka = opt.kafka();
        }
        try (TopicAdmin admin = TopicAdmin.connect(kafka, TopicAdmin.SERVICE_CLUSTER_WAIT)) {
            for (TopicReport r : admin.apply(TopicCatalog.fromClasspath())) {
                if (!r.healthy()) {
                    say("warning: " + r.describe());
                }
            }
        }
        KafkaSettings workerKafka = kafka;
        KafkaSettings finalizerKafka = kafka;
        KafkaSettings exporterKafka = kafka;
        client = kafka;
        if (opt.users() != null) {
            try (AclApplier acls = AclApplier.connect(kafka)) {
                for (AclSet set : ServiceAcls.all(names)) {
                    acls.apply(set);
                }
                if (opt.team() != null) {
                    acls.apply(TeamAcls.of(opt.team(), List.of(), Quota.NONE));
                    acls.ensureTopic(TeamTopics.jobsTopic(opt.team(), TopicCatalog.fromClasspath()));
                }
            }
            workerKafka = broker.clientSettings(names.worker(), passwords.get(names.worker()));
            finalizerKafka = broker.clientSettings(names.finalizer(), passwords.get(names.finalizer()));
            exporterKafka = broker.clientSettings(names.exporter(), passwords.get(names.exporter()));
            if (opt.team() != null) {
                client = broker.clientSettings(opt.team(), passwords.get(opt.team()));
                say("team " + opt.team() + " onboarded: ingests and jobs run as User:" + opt.team());
            }
        }
        if (opt.metricsPort() >= 0) {
            server = new MetricsServer(metrics, opt.metricsHost(), opt.metricsPort()).start();
            say("metrics: " + server.url() + "/metrics, health: " + server.url() + "/health");
        }
        Path state;
        if (opt.dataDir() != null) {
            state = opt.dataDir().resolve("finalizer-state");
        } else {
            tempState = Files.createTempDirectory("gblm-run-state");
            state = tempState;
        }
        finalizer = startService(new Finalizer(FinalizerSettings.builder(finalizerKafka, state, checkpoint.fingerprint())
                .applicationId(names.finalizerApplicationId()).build(), new CheckpointWeights(checkpoint), metrics));
        for (int i = 0; i < opt.workers(); i++) {
            WorkerSettings wc = WorkerSettings.builder(workerKafka, opt.instance() + "-w" + i).seqLen(opt.seqLen())
                    .samplesPerSlice(opt.samplesPerSlice()).maxSliceAge(opt.maxSliceAge())
                    .groupId(names.workerGroupPrefix() + "-" + opt.instance()).holdout(opt.holdout()).build();
            workers.add(startService(new Worker(wc, checkpoint, tokenizer, metrics)));
        }
        exporter = new Exporter(ExporterSettings.builder(exporterKafka, opt.out()).groupId(names.exporterGroup()).keep(opt.keep())
                .tokenizer(opt.tokenizer()).build(), checkpoint, metrics);
        exporter.onModelReady(m -> {
            exported.put(m.job() + "/" + m.epoch(), m);
            say(String.format("exported job %s epoch %d: %d samples, sparsity %.4f -> %s", m.job(), m.epoch(),
                    m.samples(), m.sparsity(), m.path()));
        });
        startService(exporter);
        say("pipeline running: profile " + profile().id() + " (seqLen " + profile().seqLen() + "), " + workers.size()
                + " worker(s), finalizer, exporter -> " + opt.out());
        progressThread = new Thread(this::progressLoop, "gblm-run-progress");
        progressThread.setDaemon(true);
        progressThread.start();
        return this;
    }

    /** With --team, a stream the team owns: it may create and write no other. */
    private void requireOwnStream(String stream) {
        if (opt.team() != null && !opt.team().equals(Topics.teamOfStream(stream))) {
            throw new GblmException("stream '" + stream + "' is not team " + opt.team() + "'s: its streams are named "
                    + Topics.teamStreamPrefix(opt.team()) + "NAME");
        }
    }

    /** The services' principals and client ids; their ACLs are granted on exactly these names. */
    private ServiceAcls.Names serviceNames() {
        return new ServiceAcls.Names("gblm-worker", "gblm-finalizer", "gblm-exporter", "gblm-worker",
                "gblm-finalizer-" + opt.instance(), "gblm-exporter-" + opt.instance());
    }

    /** A password for a service user the users file does not name: it lives only as long as this process. */
    private static String generatedPassword() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Starts {@code s} and remembers it, so that {@link #close} stops it (services close in reverse order). */
    private <S extends Service> S startService(S s) {
        s.start();
        services.add(s);
        return s;
    }

    /**
     * Publishes a file's documents to {@code calib.<stream>} (creating the topic from the catalog's template); documents
     * whose key the stream already holds are skipped, so re-ingesting a file publishes nothing new.
     */
    public IngestSummary ingest(Path file, String stream, DocumentReader.Format format) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new GblmException("input file not found: " + file);
        }
        requireOwnStream(stream);
        try (TopicAdmin admin = TopicAdmin.connect(client)) {
            admin.ensure(TopicCatalog.fromClasspath().calibrationTopic(stream));
        }
        try (Producer<byte[], byte[]> producer = new KafkaProducer<>(Ingestor.producerProperties(client));
                InputStream in = Files.newInputStream(file)) {
            // like `gblm ingest`: documents already in the stream (by key) are not published again
            TopicKeys present = TopicKeys.read(client, Topics.calibrationTopic(stream), Duration.ofMinutes(5));
            IngestSummary s = new Ingestor(producer, stream, metrics.meters(), null, present).ingest(in, format);
            say("ingested " + file + " into stream " + stream + ": " + s.describe().replace('\n', ' '));
            return s;
        }
    }

    /**
     * Validates and submits a job for this pipeline's profile. Refused (GblmException) when it is invalid or names a
     * stream without a topic: here the streams come from this run's ingests or an existing cluster.
     */
    public JobSpec submit(JobSpec job) {
        JobSpec withProfile = new JobSpec(job.id(), profile().id(), job.streams(), job.method(), job.sparsity(),
                job.pattern(), job.tailRule(), job.gradNorm(), job.minSamples(), job.refreshEvery(), job.window(),
                opt.team(), job.alpha(), job.normalization(), job.holdout(), job.alphaGrid());
        JobSpec spec;
        try {
            spec = withProfile.validated();
            try (TopicAdmin admin = TopicAdmin.connect(client)) {
                Set<String> topics = admin.listTopics();
                for (String s : spec.streams()) {
                    if (!topics.contains(Topics.calibrationTopic(s)) && opt.team() != null
                            && !opt.team().equals(Topics.teamOfStream(s))) {
                        // another team's stream is invisible until shared: the finalizer decides, with a reason
                        say("warning: job " + spec.id() + " names stream '" + s + "', which team " + opt.team()
                                + " cannot see: the job waits until its owner grants it (gblm job status " + spec.id() + ")");
                    } else if (!topics.contains(Topics.calibrationTopic(s))) {
                        throw new GblmException("job " + spec.id() + " names unknown stream '" + s + "' (no topic "
                                + Topics.calibrationTopic(s) + "; ingest into it first)");
                    }
                }
            }
        } catch (GblmException e) {
            String reason = e.getMessage().contains("unknown stream") ? "unknown-stream" : "invalid";
            Counter.builder("gblm.run.jobs.rejected").tag("reason", reason).description("jobs refused at submit")
                    .register(metrics.meters()).increment();
            throw e;
        }
        JobSpec s = new JobClient(client).submit(spec).spec();
        synchronized (submitted) {
            submitted.add(s.id());
        }
        say("submitted job " + s.id() + ": " + s.method() + " " + s.pattern() + " sparsity " + s.sparsity() + ", streams "
                + String.join(",", s.streams()) + ", minSamples " + s.minSamples());
        return s;
    }

    public Map<String, ModelReady> exported() {
        return Map.copyOf(exported);
    }

    /** Waits until epoch 1 of every submitted job is exported; fails fast when a component died. */
    public boolean awaitFirstEpochs(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Set<String> jobs;
            synchronized (submitted) {
                jobs = Set.copyOf(submitted);
            }
            if (jobs.stream().allMatch(j -> exported.containsKey(j + "/1"))) {
                return true;
            }
            checkAlive();
            Thread.sleep(100);
        }
        return false;
    }

    private void checkAlive() {
        for (Worker w : workers) {
            if (w.failure() != null) {
                throw new GblmException("worker failed: " + w.failure());
            }
        }
        if (exporter.failure() != null) {
            throw new GblmException("exporter failed: " + exporter.failure());
        }
    }

    private double count(String name) {
        return Search.in(metrics.meters()).name(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    private void progressLoop() {
        String last = "";
        while (!closed) {
            try {
                Thread.sleep(2000);
            } catch (InterruptedException e) {
                return;
            }
            String line = String.format("progress: %d samples consumed, %d rejected, %d slices committed, epochs %d declared"
                    + " / %d finalized, %d exported", (long) count("gblm.worker.samples.consumed"),
                    (long) count("gblm.worker.samples.rejected"), (long) count("gblm.worker.slices.committed"),
                    (long) count("gblm.finalizer.epochs.declared"), (long) count("gblm.finalizer.epochs.finalized"),
                    (long) count("gblm.exporter.epochs.exported"));
            if (!line.equals(last)) {
                say(line);
                last = line;
            }
        }
    }

    private void say(String s) {
        if (opt.progress() != null) {
            opt.progress().println(s);
            opt.progress().flush();
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (progressThread != null) {
            progressThread.interrupt();
        }
        for (int i = services.size() - 1; i >= 0; i--) {
            services.get(i).close();
        }
        if (server != null) {
            server.close();
        }
        metrics.close();
        if (tempState != null) {
            deleteTree(tempState);
        }
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temp directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
