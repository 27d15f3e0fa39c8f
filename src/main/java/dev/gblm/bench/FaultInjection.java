package dev.gblm.bench;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LlamaConfig;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.Profile;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.job.JobClient;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * The fault-injection suite: the streaming services as separate OS processes against an embedded broker, killed with
 * SIGKILL at random moments while one calibration run goes through, then checked for exactly-once results.
 *
 * <p><b>What runs.</b> An embedded KRaft broker ({@link EmbeddedKafka}, a child JVM of this process) on a kept data
 * directory and a fixed port, so it can be stopped and started again on the same data; {@code --workers} worker
 * JVMs ({@code gblm worker --threads 1}, fixed {@code --worker-id fi-w<i>} per slot so that a restarted worker fences
 * its killed predecessor's transaction), one finalizer JVM ({@code gblm finalizer}, fixed {@code --state-dir} and
 * application id, so a restart resumes from its state directory, or, when exactly-once finds it unusable after the
 * crash, from the changelogs) and one exporter JVM ({@code gblm exporter}, fixed {@code --out} and {@code --group}).
 * Children get small heaps, {@code OMP_NUM_THREADS=1} and {@code OMP_WAIT_POLICY=PASSIVE}, a {@code --kafka-config}
 * file with a short group session timeout (6 s by default, so a killed member's partitions move in seconds rather
 * than Kafka's default 45 s), and run {@code dev.gblm.cli.Main} from this process's class path.
 *
 * <p><b>What happens.</b> Two jobs (wanda and gblm, 50% unstructured) are submitted for two streams with
 * {@code minSamples} = every valid sample, so epoch 1 of each job is declared only when every sample is committed.
 * The samples (random token documents plus a few poison records) are ingested in batches spread over the first
 * three quarters of the planned kill window ({@code kills} times the mean kill interval), so the epoch completes while
 * the kills go on. Meanwhile {@code kills} times, after a random delay, a child chosen at random among the live
 * ones is SIGKILLed ({@link Process#destroyForcibly()}) and restarted after a short random delay; one kill is saved
 * for the moment the first epoch is declared and hits the finalizer or the exporter while the masks are computed and
 * exported. The broker is stopped and started again {@code brokerRestarts} times at random moments. A child that
 * exits on its own is recorded as an unexpected exit and restarted like a killed one. Then the harness waits (bounded)
 * until every job's epoch 1 is exported, lets every child run for a settle period, stops them and checks:
 * <ol>
 *   <li>(a) exactly once: the committed slices ({@code gblm.slices}, read_committed) and the dead letters tile every
 *       calibration offset exactly once: each valid sample in exactly one slice, each poison record in exactly one
 *       dead letter; every slice's counts agree with its ranges;</li>
 *   <li>(b) every job's epoch 1 has exactly one epoch record, each of its mask blocks exactly once, exactly one
 *       {@code gblm.models} event and exactly one output directory, which lists exactly the committed slices;</li>
 *   <li>(c) the exported masks equal {@code BatchPruner} one-shot on exactly the epoch's samples (read back at the
 *       epoch's slice offsets): wanda bit for bit, gblm within the documented float32 near-tie bound (1e-3 of the
 *       bits; docs/architecture.md), pruned counts equal per module;</li>
 *   <li>(d) no {@code .tmp-*} (or other hidden) directory is left under the output directory;</li>
 *   <li>(e) the harness's working directory is deleted (unless kept);</li>
 *   <li>(f) no service exited on its own.</li>
 * </ol>
 *
 * <p><b>Reproducible.</b> Everything the harness decides comes from the seed: the documents and where the poison
 * records go, the ingest times, the kill delays, the kill targets' draws, the restart delays, the broker restart
 * times and downtimes. What the services do in between depends on timing, as it would in production.
 */
public final class FaultInjection {
    public static final String STREAM_A = "fi-a";
    public static final String STREAM_B = "fi-b";
    public static final String JOB_WANDA = "fi-wanda";
    public static final String JOB_GBLM = "fi-gblm";
    static final String WORKER_GROUP = "gblm-worker-fi";
    static final String FINALIZER_APP = "gblm-finalizer-fi";
    static final String EXPORTER_GROUP = "fi";
    /** Ingest batches, spread over {@link #INGEST_SHARE} of the planned kill window. */
    static final int INGEST_BATCHES = 10;
    static final double INGEST_SHARE = 0.75;

    /** The services the harness runs as child JVMs. */
    public enum Role {
        WORKER, FINALIZER, EXPORTER;

        String cli() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How one run is set up; build with {@link #builder()}. */
    public record Settings(long seed, int samples, int badSamples, int kills, int brokerRestarts, int workers,
            Duration timeout, boolean keepDir, Path workDir, Path model, LlamaConfig randomModel, int samplesPerSlice,
            Duration meanKillInterval, Duration maxRestartDelay, Duration maxBrokerDowntime, Duration sessionTimeout,
            Duration settle, int childHeapMb, PrintStream out) {
        public Settings {
            if (samples < 1 || badSamples < 0 || kills < 0 || brokerRestarts < 0 || workers < 1 || samplesPerSlice < 1
                    || childHeapMb < 128) {
                throw new GblmException("need --samples >= 1, --bad-samples >= 0, --kills >= 0, --broker-restarts >= 0, "
                        + "--workers >= 1, --samples-per-slice >= 1 and a child heap of at least 128 MiB");
            }
            for (Duration d : List.of(timeout, meanKillInterval, maxRestartDelay, maxBrokerDowntime, sessionTimeout, settle)) {
                if (d == null || d.isNegative()) {
                    throw new GblmException("durations must be >= 0");
                }
            }
            if (timeout.isZero() || meanKillInterval.isZero()) {
                throw new GblmException("--timeout-seconds and the kill interval must be > 0");
            }
            if (!sessionTimeout.isZero() && sessionTimeout.toMillis() < 6000) {
                throw new GblmException("the session timeout must be 0 (Kafka's default) or at least 6000 ms, the broker's"
                        + " group.min.session.timeout.ms");
            }
            if (model == null && randomModel == null) {
                throw new GblmException("give a model or a random model shape");
            }
            out = out == null ? System.out : out;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults: the soak profile of {@code gblm bench faults}. */
    public static final class Builder {
        private long seed = 1;
        private int samples = 600;
        private int badSamples = 6;
        private int kills = 60;
        private int brokerRestarts = 3;
        private int workers = 2;
        private Duration timeout = Duration.ofMinutes(30);
        private boolean keepDir;
        private Path workDir;
        private Path model;
        private LlamaConfig randomModel = new RandomModelOptions(64, 2, 4, 172, 256).config(64);
        private int samplesPerSlice = 8;
        private Duration meanKillInterval = Duration.ofSeconds(5);
        private Duration maxRestartDelay = Duration.ofSeconds(3);
        private Duration maxBrokerDowntime = Duration.ofSeconds(4);
        private Duration sessionTimeout = Duration.ofSeconds(6);
        private Duration settle = Duration.ofSeconds(10);
        private int childHeapMb = 384;
        private PrintStream out = System.out;

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder samples(int v) {
            samples = v;
            return this;
        }

        public Builder badSamples(int v) {
            badSamples = v;
            return this;
        }

        public Builder kills(int v) {
            kills = v;
            return this;
        }

        public Builder brokerRestarts(int v) {
            brokerRestarts = v;
            return this;
        }

        public Builder workers(int v) {
            workers = v;
            return this;
        }

        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        public Builder keepDir(boolean v) {
            keepDir = v;
            return this;
        }

        /** Parent of the run's temporary working directory (default: the system's temp dir). */
        public Builder workDir(Path v) {
            workDir = v;
            return this;
        }

        /** An existing model instead of a generated one. */
        public Builder model(Path v) {
            model = v;
            return this;
        }

        /** The shape of the generated random model (when no model is given). */
        public Builder randomModel(LlamaConfig v) {
            randomModel = v;
            return this;
        }

        public Builder samplesPerSlice(int v) {
            samplesPerSlice = v;
            return this;
        }

        public Builder meanKillInterval(Duration v) {
            meanKillInterval = v;
            return this;
        }

        public Builder maxRestartDelay(Duration v) {
            maxRestartDelay = v;
            return this;
        }

        /** Each broker restart keeps the broker down for 1 s up to this long (beyond the stop and start themselves). */
        public Builder maxBrokerDowntime(Duration v) {
            maxBrokerDowntime = v;
            return this;
        }

        /**
         * The consumer group session timeout of the workers and the finalizer ({@code session.timeout.ms} through
         * {@code --kafka-config}): how long a killed member keeps its partitions. Zero: Kafka's default (45 s).
         */
        public Builder sessionTimeout(Duration v) {
            sessionTimeout = v;
            return this;
        }

        public Builder settle(Duration v) {
            settle = v;
            return this;
        }

        public Builder childHeapMb(int v) {
            childHeapMb = v;
            return this;
        }

        public Builder out(PrintStream v) {
            out = v;
            return this;
        }

        public Settings build() {
            return new Settings(seed, samples, badSamples, kills, brokerRestarts, workers, timeout, keepDir, workDir,
                    model, randomModel, samplesPerSlice, meanKillInterval, maxRestartDelay, maxBrokerDowntime,
                    sessionTimeout, settle, childHeapMb, out);
        }
    }

    /** Runs the suite once and reports; never throws for a failed check (see {@link FaultInjectionReport#passed()}). */
    public static FaultInjectionReport run(Settings settings) throws IOException {
        return new FaultInjection(settings).execute();
    }

    // ------------------------------------------------------------------ state of one run

    private final Settings s;
    private final PrintStream out;
    private final long t0 = System.nanoTime();
    private final long deadline;
    private Path work;
    private Path logs;
    private Path outDir;
    private Path modelDir;
    private Path clientConfig;
    private Checkpoint checkpoint;
    private int brokerPort;
    private volatile EmbeddedKafka broker;
    private final List<Child> children = new ArrayList<>();
    private final Object lock = new Object();
    private volatile boolean stopping;
    private ScheduledExecutorService scheduler;
    private final Random restartRnd;
    private final Map<String, Integer> killsPerRole = new LinkedHashMap<>();
    private final List<Double> brokerDowntimes = Collections.synchronizedList(new ArrayList<>());
    private final List<FaultInjectionReport.UnexpectedExit> unexpected = Collections.synchronizedList(new ArrayList<>());
    private final AtomicReference<Throwable> backgroundFailure = new AtomicReference<>();
    private volatile long firstIngestNanos = -1;
    private long firstKillNanos = -1;
    private long lastKillNanos = -1;
    private Monitor monitor;
    private Thread ingest;
    private Thread brokerLoop;

    private FaultInjection(Settings s) {
        this.s = s;
        this.out = s.out();
        this.deadline = t0 + s.timeout().toNanos();
        this.restartRnd = new Random(s.seed() * 1_000_003L + 7);
        for (Role r : Role.values()) {
            killsPerRole.put(r.cli(), 0);
        }
    }

    /** One child service slot: its command line never changes, its process does (one per incarnation). */
    private static final class Child {
        final Role role;
        final int index;
        final String name;
        final Path log;
        List<String> command;
        Process process;
        int incarnation;
        long startedNanos;
        ScheduledFuture<?> pendingRestart;

        Child(Role role, int index, String name, Path log) {
            this.role = role;
            this.index = index;
            this.name = name;
            this.log = log;
        }
    }

    private FaultInjectionReport execute() throws IOException {
        work = s.workDir() != null ? Files.createTempDirectory(Files.createDirectories(s.workDir()), "gblm-faults-")
                : Files.createTempDirectory("gblm-faults-");
        logs = Files.createDirectories(work.resolve("logs"));
        outDir = work.resolve("out");
        List<FaultInjectionReport.Check> checks = new ArrayList<>();
        Thread hook = new Thread(this::killEverything, "gblm-faults-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        Double toExport = null;
        String modelDescription = "?";
        try {
            modelDescription = prepareModel();
            say("work dir %s; model %s", work, modelDescription);
            startBroker();
            setUpTopicsAndJobs();
            scheduler = Executors.newScheduledThreadPool(2, r -> {
                Thread t = new Thread(r, "gblm-faults-scheduler");
                t.setDaemon(true);
                return t;
            });
            monitor = new Monitor();
            monitor.start();
            startChildren();
            scheduler.scheduleWithFixedDelay(this::watchChildren, 250, 250, TimeUnit.MILLISECONDS);
            boolean exported = false;
            Throwable error = null;
            try {
                ingest = background("gblm-faults-ingest", this::ingestLoop);
                brokerLoop = background("gblm-faults-broker", this::brokerLoop);
                killLoop();
                join(ingest);
                join(brokerLoop);
                exported = monitor.awaitExported(List.of(JOB_WANDA, JOB_GBLM), deadline);
            } catch (Exception | AssertionError e) {
                error = e;
                say("harness error: %s", e);
            }
            if (exported && firstIngestNanos > 0) {
                toExport = (monitor.lastExportNanos() - firstIngestNanos) / 1e9;
            }
            checks.add(exportedCheck(exported));
            if (error != null) {
                checks.add(new FaultInjectionReport.Check("harness", false, "the fault schedule stopped early: " + error));
            }
            if (exported) {
                settle();
            }
            stopChildren();
            monitor.close();
            if (backgroundFailure.get() != null && error == null) {
                checks.add(new FaultInjectionReport.Check("harness", false, "background task failed: "
                        + backgroundFailure.get()));
            }
            if (error == null && broker.isRunning()) { // also when not exported in time: what was committed is checked
                checks.addAll(new FaultInjectionChecks(bootstrap(), checkpoint, modelDir, outDir, s.samples(),
                        s.badSamples(), List.of(STREAM_A, STREAM_B), List.of(JOB_WANDA, JOB_GBLM), out).run());
            }
        } catch (Exception | AssertionError e) {
            checks.add(new FaultInjectionReport.Check("harness", false, "the run stopped early: " + e));
            say("harness error: %s", e);
            e.printStackTrace(out);
        } finally {
            stopping = true;
            for (Thread t : new Thread[] {ingest, brokerLoop}) { // after an error they may still run
                if (t != null && t.isAlive()) {
                    t.interrupt();
                    try {
                        t.join(60_000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            killEverything();
            if (monitor != null) {
                monitor.close();
            }
            if (scheduler != null) {
                scheduler.shutdownNow();
            }
            EmbeddedKafka b = broker;
            if (b != null) {
                b.stop();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is shutting down: the hook runs anyway
            }
        }
        if (!s.keepDir()) {
            deleteTree(work);
            boolean gone = !Files.exists(work);
            checks.add(new FaultInjectionReport.Check("(e) harness temp dirs", gone, gone ? "deleted (" + work + ")"
                    : "left behind: " + work));
        } else {
            checks.add(new FaultInjectionReport.Check("(e) harness temp dirs", true, "kept on request: " + work));
        }
        checks.add(new FaultInjectionReport.Check("(f) no unexpected exits", unexpected.isEmpty(), unexpected.isEmpty()
                ? "every service stayed up until killed"
                : unexpected.size() + " exit(s): " + String.join("; ", unexpected.stream().map(u -> String.format(
                        Locale.ROOT, "%s exit %d at t+%.0fs", u.child(), u.exitCode(), u.atSeconds())).toList())));
        double window = firstKillNanos < 0 ? 0 : (lastKillNanos - firstKillNanos) / 1e9;
        return new FaultInjectionReport(s.seed(), s.samples(), s.badSamples(), s.workers(), modelDescription,
                new LinkedHashMap<>(killsPerRole), List.copyOf(brokerDowntimes), List.copyOf(unexpected), toExport,
                window, seconds(System.nanoTime()), checks, work, s.keepDir());
    }

    private FaultInjectionReport.Check exportedCheck(boolean exported) {
        String state = monitor.describe();
        if (exported) {
            return new FaultInjectionReport.Check("epochs exported in time", true, state);
        }
        StringBuilder sb = new StringBuilder("not every job's epoch 1 was exported within " + s.timeout().toSeconds()
                + " s: " + state);
        synchronized (lock) {
            for (Child c : children) {
                sb.append("\n    ").append(c.name).append(": ").append(lastProblem(c.log));
            }
        }
        return new FaultInjectionReport.Check("epochs exported in time", false, sb.toString());
    }

    // ------------------------------------------------------------------ set-up

    private String prepareModel() {
        if (s.model() != null) {
            modelDir = s.model().toAbsolutePath();
            checkpoint = Checkpoints.load(modelDir);
            LlamaConfig c = checkpoint.config();
            return String.format(Locale.ROOT, "%s (hidden %d, %d layers, vocab %d, context %d)", s.model(),
                    c.hiddenSize(), c.numLayers(), c.vocabSize(), c.maxPositionEmbeddings());
        }
        LlamaConfig c = s.randomModel();
        modelDir = work.resolve("model");
        Checkpoints.saveHf(RandomCheckpoints.uniform(c, s.seed()), modelDir);
        checkpoint = Checkpoints.load(modelDir);
        return String.format(Locale.ROOT, "random LLaMA (hidden %d, %d layers, %d heads, intermediate %d, vocab %d, "
                + "context %d)", c.hiddenSize(), c.numLayers(), c.numHeads(), c.intermediateSize(), c.vocabSize(),
                c.maxPositionEmbeddings());
    }

    private EmbeddedKafka newBroker() {
        return EmbeddedKafka.builder().dataDir(work.resolve("kafka")).port(brokerPort).heapMb(512)
                .startTimeout(Duration.ofSeconds(120)).build();
    }

    private void startBroker() {
        EmbeddedKafka first = EmbeddedKafka.builder().dataDir(work.resolve("kafka")).heapMb(512)
                .startTimeout(Duration.ofSeconds(120)).build().start();
        brokerPort = first.port();
        broker = first;
        say("broker up at %s (data %s)", first.bootstrapServers(), first.dataDir());
    }

    private String bootstrap() {
        return "127.0.0.1:" + brokerPort;
    }

    private void setUpTopicsAndJobs() {
        KafkaSettings kafka = KafkaSettings.of(bootstrap());
        TopicCatalog catalog = TopicCatalog.fromClasspath();
        try (TopicAdmin admin = TopicAdmin.connect(kafka)) {
            for (TopicReport r : admin.apply(catalog)) {
                if (!r.healthy()) {
                    say("warning: %s", r.describe());
                }
            }
            admin.ensure(catalog.calibrationTopic(STREAM_A));
            admin.ensure(catalog.calibrationTopic(STREAM_B));
        }
        // the profile `gblm worker` and `gblm job submit --model` derive with their defaults (ProfileConsistencyTest)
        String profile = Profile.forCheckpoint(checkpoint, null, Profile.DEFAULT_GRAD_SCALE,
                RowBlockPlanner.DEFAULT_MAX_BYTES).id();
        JobClient jobs = new JobClient(kafka);
        for (String[] j : new String[][] {{JOB_WANDA, "wanda"}, {JOB_GBLM, "gblm"}}) {
            jobs.submit(new JobSpec(j[0], profile, List.of(STREAM_A, STREAM_B), j[1], 0.5, "unstructured", null, "l1",
                    s.samples(), 0, 0));
        }
        say("jobs %s (wanda) and %s (gblm), 50%% unstructured, profile %s, min-samples %d, streams %s + %s",
                JOB_WANDA, JOB_GBLM, profile, s.samples(), STREAM_A, STREAM_B);
    }

    private void startChildren() throws IOException {
        clientConfig = work.resolve("client.properties");
        StringBuilder props = new StringBuilder("# Kafka client properties of every child service (gblm bench faults)\n");
        if (!s.sessionTimeout().isZero()) {
            long ms = s.sessionTimeout().toMillis();
            props.append("session.timeout.ms=").append(ms).append('\n')
                    .append("heartbeat.interval.ms=").append(Math.max(100, ms / 6)).append('\n');
        }
        Files.writeString(clientConfig, props, StandardCharsets.UTF_8);
        synchronized (lock) {
            for (int i = 0; i < s.workers(); i++) {
                children.add(new Child(Role.WORKER, i, "worker-" + i, logs.resolve("worker-" + i + ".log")));
            }
            children.add(new Child(Role.FINALIZER, 0, "finalizer", logs.resolve("finalizer.log")));
            children.add(new Child(Role.EXPORTER, 0, "exporter", logs.resolve("exporter.log")));
            for (Child c : children) {
                c.command = command(c);
                launch(c);
            }
        }
        say("started %d worker(s), the finalizer and the exporter as child JVMs (logs in %s; group session timeout %s)",
                s.workers(), logs, s.sessionTimeout().isZero() ? "Kafka's default" : s.sessionTimeout().toMillis() + " ms");
    }

    /** The child's command line: {@code java ... dev.gblm.cli.Main <role> ...} on this process's class path. */
    private List<String> command(Child c) {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xms32m", "-Xmx" + s.childHeapMb() + "m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), "dev.gblm.cli.Main", c.role.cli(),
                "--model", modelDir.toString(), "--bootstrap-servers", bootstrap(),
                "--kafka-config", clientConfig.toString()));
        switch (c.role) {
            case WORKER -> cmd.addAll(List.of("--threads", "1", "--samples-per-slice", Integer.toString(s.samplesPerSlice()),
                    "--max-slice-seconds", "2", "--worker-id", "fi-w" + c.index, "--group", WORKER_GROUP,
                    "--streams", "calib\\.fi-.*"));
            case FINALIZER -> cmd.addAll(List.of("--state-dir", work.resolve("finalizer-state").toString(),
                    "--application-id", FINALIZER_APP));
            case EXPORTER -> cmd.addAll(List.of("--out", outDir.toString(), "--group", EXPORTER_GROUP));
            default -> throw new IllegalStateException();
        }
        return cmd;
    }

    /** Starts a new incarnation of {@code c} (caller holds the lock). */
    private void launch(Child c) throws IOException {
        c.incarnation++;
        Files.writeString(c.log, String.format(Locale.ROOT, "==== %s incarnation %d started at t+%.1f s%n", c.name,
                c.incarnation, seconds(System.nanoTime())), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        ProcessBuilder pb = new ProcessBuilder(c.command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(c.log.toFile()));
        Map<String, String> env = pb.environment();
        // hermetic: the client properties come from the harness's --kafka-config file only
        env.keySet().removeIf(k -> k.startsWith(KafkaSettings.ENV_PREFIX) || k.equals(KafkaSettings.ENV_BOOTSTRAP));
        env.put("OMP_NUM_THREADS", "1");
        env.put("OMP_WAIT_POLICY", "PASSIVE");
        env.put("MKL_NUM_THREADS", "1");
        Process p = pb.start();
        p.getOutputStream().close();
        c.process = p;
        c.startedNanos = System.nanoTime();
        c.pendingRestart = null;
    }

    // ------------------------------------------------------------------ faults

    private void killLoop() throws InterruptedException {
        Random rnd = new Random(s.seed() * 1_000_003L + 1);
        double mean = s.meanKillInterval().toMillis();
        int done = 0;
        boolean triggered = false;
        while (done < s.kills()) {
            checkDeadline("the kill schedule (" + done + " of " + s.kills() + " kills done)");
            if (!triggered && monitor.firstDeclaredNanos() > 0) {
                // the saved kill: into the finalization and export of the first declared epoch
                long delay = rnd.nextInt(600);
                Thread.sleep(delay);
                String why = delay + " ms after the first epoch record was seen";
                if (killOne(rnd, Set.of(Role.FINALIZER, Role.EXPORTER), why, 0)) {
                    triggered = true;
                    done++;
                }
                continue;
            }
            if (!triggered && done == s.kills() - 1) {
                Thread.sleep(200); // the last kill waits for the first epoch declaration
                continue;
            }
            long gap = (long) (mean * (0.4 + 1.2 * rnd.nextDouble()));
            if (!triggered && monitor.awaitDeclared(gap)) {
                continue;
            }
            if (triggered) {
                Thread.sleep(gap);
            }
            if (killOne(rnd, null, null, s.kills() - done - (triggered ? 0 : 1))) {
                done++;
            }
        }
        say("kill schedule done: %d kills", done);
    }

    /**
     * SIGKILLs one live child, drawn with {@code rnd} among {@code roles} (null: any role; but once the random kills
     * left are as few as the roles never killed, among those, so every service is hit) and schedules its restart.
     * False when no candidate is alive.
     */
    private boolean killOne(Random rnd, Set<Role> roles, String why, int randomKillsLeft) throws InterruptedException {
        Child victim;
        Process p;
        long upNanos;
        synchronized (lock) {
            List<Child> live = children.stream().filter(c -> c.process != null && c.process.isAlive()).toList();
            List<Child> pool = live;
            if (roles != null) {
                List<Child> preferred = live.stream().filter(c -> roles.contains(c.role)).toList();
                pool = preferred.isEmpty() ? live : preferred;
            } else {
                List<Child> never = live.stream().filter(c -> killsPerRole.get(c.role.cli()) == 0).toList();
                long neverRoles = never.stream().map(c -> c.role).distinct().count();
                if (!never.isEmpty() && randomKillsLeft <= neverRoles) {
                    pool = never;
                }
            }
            if (pool.isEmpty()) {
                return false;
            }
            victim = pool.get(rnd.nextInt(pool.size()));
            p = victim.process;
            victim.process = null; // from now on the watcher ignores this incarnation
            upNanos = System.nanoTime() - victim.startedNanos;
        }
        p.destroyForcibly();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            throw new GblmException("child " + victim.name + " survived SIGKILL for 20 s");
        }
        long delay = s.maxRestartDelay().toMillis() <= 500 ? s.maxRestartDelay().toMillis()
                : 500 + (long) (restartRnd.nextDouble() * (s.maxRestartDelay().toMillis() - 500));
        synchronized (lock) {
            killsPerRole.merge(victim.role.cli(), 1, Integer::sum);
            long now = System.nanoTime();
            if (firstKillNanos < 0) {
                firstKillNanos = now;
            }
            lastKillNanos = now;
            say("kill %2d: SIGKILL %s (incarnation %d, up %.1f s)%s; restart in %.1f s", totalKills(), victim.name,
                    victim.incarnation, upNanos / 1e9, why == null ? "" : ", " + why, delay / 1e3);
            scheduleRestart(victim, delay);
        }
        return true;
    }

    private int totalKills() {
        return killsPerRole.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** Caller holds the lock. */
    private void scheduleRestart(Child c, long delayMillis) {
        c.pendingRestart = scheduler.schedule(() -> {
            synchronized (lock) {
                if (stopping || c.process != null) {
                    return;
                }
                try {
                    launch(c);
                } catch (IOException e) {
                    backgroundFailure.compareAndSet(null, e);
                }
            }
        }, delayMillis, TimeUnit.MILLISECONDS);
    }

    /** A child that exited although nobody killed it: recorded, then restarted like a killed one. */
    private void watchChildren() {
        synchronized (lock) {
            if (stopping) {
                return;
            }
            for (Child c : children) {
                if (c.process != null && !c.process.isAlive()) {
                    int code = c.process.exitValue();
                    double at = seconds(System.nanoTime());
                    unexpected.add(new FaultInjectionReport.UnexpectedExit(c.name, c.incarnation, at, code,
                            incarnationTail(c.log, 25)));
                    say("UNEXPECTED: %s (incarnation %d) exited with code %d: %s", c.name, c.incarnation, code,
                            lastProblem(c.log));
                    c.process = null;
                    scheduleRestart(c, 1000);
                }
            }
        }
    }

    private void brokerLoop() throws Exception {
        Random rnd = new Random(s.seed() * 1_000_003L + 2);
        double window = s.kills() * (double) s.meanKillInterval().toMillis();
        List<Long> at = new ArrayList<>();
        for (int i = 0; i < s.brokerRestarts(); i++) {
            at.add((long) (window * (0.15 + 0.7 * rnd.nextDouble())));
        }
        Collections.sort(at);
        long start = System.nanoTime();
        for (int i = 0; i < at.size(); i++) {
            long wait = at.get(i) - (System.nanoTime() - start) / 1_000_000;
            if (wait > 0) {
                Thread.sleep(wait);
            }
            long max = s.maxBrokerDowntime().toMillis();
            long down = max <= 1000 ? max : 1000 + (long) (rnd.nextDouble() * (max - 1000));
            restartBroker(i + 1, down);
        }
    }

    private void restartBroker(int n, long downMillis) throws InterruptedException, IOException {
        long t = System.nanoTime();
        say("broker restart %d/%d: stopping", n, s.brokerRestarts());
        EmbeddedKafka old = broker;
        old.stop();
        Path log = old.dataDir().resolve("broker.log");
        if (Files.exists(log)) {
            Files.copy(log, logs.resolve("broker-" + n + ".log"), StandardCopyOption.REPLACE_EXISTING);
        }
        double stopped = (System.nanoTime() - t) / 1e9;
        Thread.sleep(downMillis);
        EmbeddedKafka next = null;
        GblmException last = null;
        for (int attempt = 0; attempt < 30 && next == null; attempt++) {
            try {
                next = newBroker().start();
            } catch (GblmException e) { // the port may still be held for a moment
                last = e;
                Thread.sleep(1000);
            }
        }
        if (next == null) {
            throw new GblmException("the broker did not restart on port " + brokerPort + ": " + last.getMessage(), last);
        }
        broker = next;
        if (stopping) { // the run ended meanwhile: the caller stops the broker it sees, which is this one
            return;
        }
        double total = (System.nanoTime() - t) / 1e9;
        brokerDowntimes.add(total);
        say("broker restart %d/%d: stopped in %.1f s, down %.1f s, answering again after %.1f s in all", n,
                s.brokerRestarts(), stopped, downMillis / 1e3, total);
    }

    // ------------------------------------------------------------------ input

    /** One calibration record as ingested. */
    record Doc(String topic, int partition, byte[] key, byte[] value, String format) {}

    /** The seeded input: valid token documents and poison records, spread round-robin over streams and partitions. */
    static List<Doc> documents(long seed, int samples, int bad, int vocab, int seqLen, int partitions) {
        SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + 3);
        int total = samples + bad;
        Set<Integer> badAt = new java.util.TreeSet<>();
        while (badAt.size() < bad) {
            badAt.add(rnd.nextInt(total));
        }
        List<Doc> docs = new ArrayList<>();
        int badIndex = 0;
        for (int i = 0; i < total; i++) {
            String topic = Topics.calibrationTopic(i % 2 == 0 ? STREAM_A : STREAM_B);
            int partition = (i / 2) % partitions;
            String key = "fi-" + i;
            if (badAt.contains(i)) {
                docs.add(poison(badIndex++, topic, partition, key, vocab));
                continue;
            }
            int len = Math.min(seqLen, 8 + rnd.nextInt(Math.max(1, seqLen - 7)));
            int[] t = new int[len];
            t[0] = 1;
            for (int j = 1; j < len; j++) {
                t[j] = 3 + rnd.nextInt(vocab - 3);
            }
            SampleRecord r = SampleRecord.ofTokens(key, t);
            docs.add(new Doc(topic, partition, r.key(), r.value(), r.format()));
        }
        return docs;
    }

    private static Doc poison(int kind, String topic, int partition, String key, int vocab) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        return switch (kind % 4) {
            case 0 -> new Doc(topic, partition, k, "{\"tokens\": [1, 5".getBytes(StandardCharsets.UTF_8),
                    SampleRecord.FORMAT_TOKENS); // malformed-json
            case 1 -> new Doc(topic, partition, k, ("{\"tokens\": [1, " + (vocab + 5) + ", 7]}")
                    .getBytes(StandardCharsets.UTF_8), SampleRecord.FORMAT_TOKENS); // token-out-of-range
            case 2 -> new Doc(topic, partition, k, "{\"tokens\": [1]}".getBytes(StandardCharsets.UTF_8),
                    SampleRecord.FORMAT_TOKENS); // too-few-tokens
            default -> new Doc(topic, partition, k, "{\"text\": \"  \"}".getBytes(StandardCharsets.UTF_8),
                    SampleRecord.FORMAT_TEXT); // empty-text
        };
    }

    private void ingestLoop() throws Exception {
        int partitions = TopicCatalog.fromClasspath().calibrationTopic(STREAM_A).partitions();
        List<Doc> docs = documents(s.seed(), s.samples(), s.badSamples(), checkpoint.config().vocabSize(),
                checkpoint.config().maxPositionEmbeddings(), partitions);
        Random rnd = new Random(s.seed() * 1_000_003L + 4);
        double window = s.kills() * (double) s.meanKillInterval().toMillis() * INGEST_SHARE;
        int batches = Math.min(INGEST_BATCHES, docs.size());
        List<Long> at = new ArrayList<>();
        at.add(0L);
        for (int i = 1; i < batches; i++) {
            at.add((long) (window * rnd.nextDouble()));
        }
        Collections.sort(at);
        long start = System.nanoTime();
        int from = 0;
        for (int b = 0; b < batches; b++) {
            long wait = at.get(b) - (System.nanoTime() - start) / 1_000_000;
            if (wait > 0) {
                Thread.sleep(wait);
            }
            int to = (int) ((long) docs.size() * (b + 1) / batches);
            if (firstIngestNanos < 0) {
                firstIngestNanos = System.nanoTime();
            }
            produce(docs.subList(from, to));
            say("ingest %2d/%d: records %d..%d of %d committed to calib.%s/%s", b + 1, batches, from, to - 1,
                    docs.size(), STREAM_A, STREAM_B);
            from = to;
        }
    }

    /** Idempotent producer (as gblm ingest): retries across a broker restart without duplicates. */
    private void produce(List<Doc> docs) throws Exception {
        Properties p = Ingestor.producerProperties(KafkaSettings.of(bootstrap()));
        // ride out a broker restart of any length the run allows: block and retry instead of failing the send
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "300000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
            for (Doc d : docs) {
                ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(d.topic(), d.partition(), d.key(), d.value());
                r.headers().add(new RecordHeader(Topics.HEADER_FORMAT, d.format().getBytes(StandardCharsets.UTF_8)));
                sent.add(producer.send(r));
            }
            producer.flush();
            for (var f : sent) {
                f.get(); // a failed send fails the run: the input itself must be exactly once
            }
        }
    }

    // ------------------------------------------------------------------ the end of the run

    /** Every child alive and up for the settle period, so that the last restarted ones finish their replay. */
    private void settle() throws InterruptedException {
        long settle = s.settle().toNanos();
        while (System.nanoTime() < deadline) {
            boolean settled;
            synchronized (lock) {
                settled = children.stream().allMatch(c -> c.process != null && c.process.isAlive()
                        && System.nanoTime() - c.startedNanos >= settle);
            }
            if (settled) {
                return;
            }
            Thread.sleep(200);
        }
        say("settle: deadline reached before every child ran %d s", s.settle().toSeconds());
    }

    /** SIGTERM (each service's shutdown hook closes it cleanly), then SIGKILL after 30 s. */
    private void stopChildren() throws InterruptedException {
        List<Process> running = new ArrayList<>();
        synchronized (lock) {
            stopping = true;
            for (Child c : children) {
                if (c.pendingRestart != null) {
                    c.pendingRestart.cancel(false);
                }
                if (c.process != null) {
                    running.add(c.process);
                    c.process.destroy();
                }
            }
        }
        int forced = 0;
        for (Process p : running) {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                forced++;
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        say("stopped every child (SIGTERM)%s", forced == 0 ? "" : "; " + forced + " did not exit within 30 s and were killed");
    }

    /** Last resort (errors, JVM shutdown): no child may outlive the harness. */
    private void killEverything() {
        stopping = true;
        List<Process> all = new ArrayList<>();
        synchronized (lock) {
            for (Child c : children) {
                if (c.process != null) {
                    all.add(c.process);
                }
            }
        }
        for (Process p : all) {
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ------------------------------------------------------------------ progress

    /**
     * Follows gblm.slices, gblm.epochs and gblm.models (read_committed) during the run: progress lines, the first
     * declaration (which triggers the saved kill) and the exports.
     */
    private final class Monitor implements AutoCloseable {
        private final KafkaConsumer<byte[], byte[]> consumer;
        private final Thread thread;
        private volatile boolean running = true;
        private volatile long samples;
        private volatile long slices;
        private final Map<String, Long> declared = new ConcurrentHashMap<>();
        private final Map<String, Long> exported = new ConcurrentHashMap<>();
        private volatile long firstDeclared = -1;
        private volatile long lastExport = -1;
        private final Object signal = new Object();

        Monitor() {
            Properties p = KafkaSettings.of(bootstrap()).consumer("gblm-faults-monitor");
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            consumer = new KafkaConsumer<>(p);
            List<TopicPartition> tps = new ArrayList<>();
            for (String t : List.of(Topics.SLICES.name(), Topics.EPOCHS.name(), Topics.MODELS.name())) {
                consumer.partitionsFor(t, Duration.ofSeconds(30)).forEach(i -> tps.add(new TopicPartition(t, i.partition())));
            }
            consumer.assign(tps);
            consumer.seekToBeginning(tps);
            thread = new Thread(this::loop, "gblm-faults-monitor");
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        private void loop() {
            long nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            try {
                while (running) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        handle(r);
                    }
                    if (System.nanoTime() > nextReport) {
                        say("progress: %s; live: %s", describe(), live());
                        nextReport = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                    }
                }
            } catch (WakeupException e) {
                // closing
            } catch (RuntimeException e) {
                backgroundFailure.compareAndSet(null, e);
            }
        }

        private void handle(ConsumerRecord<byte[], byte[]> r) {
            try {
                if (r.topic().equals(Topics.SLICES.name())) {
                    SliceRecord sr = Json.read(r.value(), SliceRecord.class);
                    if (STREAM_A.equals(sr.stream()) || STREAM_B.equals(sr.stream())) {
                        samples += sr.samples();
                        slices++;
                    }
                } else if (r.topic().equals(Topics.EPOCHS.name())) {
                    EpochRecord e = Json.read(r.value(), EpochRecord.class);
                    if (declared.putIfAbsent(e.job() + "/" + e.epoch(), System.nanoTime()) == null) {
                        say("epoch declared: %s epoch %d, %d samples in %d slices", e.job(), e.epoch(), e.samples(),
                                e.sliceIds().size());
                        if (firstDeclared < 0) {
                            firstDeclared = System.nanoTime();
                        }
                        synchronized (signal) {
                            signal.notifyAll();
                        }
                    }
                } else {
                    ModelReady m = Json.read(r.value(), ModelReady.class);
                    if (exported.putIfAbsent(m.job() + "/" + m.epoch(), System.nanoTime()) == null) {
                        lastExport = System.nanoTime();
                        say("exported: %s epoch %d, %d samples, sparsity %.4f", m.job(), m.epoch(), m.samples(),
                                m.sparsity());
                    } else {
                        say("DUPLICATE gblm.models event: %s epoch %d", m.job(), m.epoch());
                    }
                }
            } catch (RuntimeException e) {
                say("monitor: unreadable %s record at offset %d: %s", r.topic(), r.offset(), e.getMessage());
            }
        }

        long firstDeclaredNanos() {
            return firstDeclared;
        }

        long lastExportNanos() {
            return lastExport;
        }

        /** Waits up to {@code millis} for the first declaration; true if there is one. */
        boolean awaitDeclared(long millis) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
            synchronized (signal) {
                while (firstDeclared < 0) {
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    TimeUnit.NANOSECONDS.timedWait(signal, left);
                }
            }
            return true;
        }

        boolean awaitExported(List<String> jobs, long deadlineNanos) throws InterruptedException {
            while (System.nanoTime() < deadlineNanos) {
                if (jobs.stream().allMatch(j -> exported.containsKey(j + "/1"))) {
                    return true;
                }
                Thread.sleep(200);
            }
            return false;
        }

        String describe() {
            return String.format(Locale.ROOT, "committed %d of %d samples in %d slices, epochs declared %d of 2, "
                    + "exported %d of 2", samples, s.samples(), slices, declared.size(), exported.size());
        }

        @Override
        public void close() {
            if (!running) {
                return;
            }
            running = false;
            consumer.wakeup();
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private String live() {
        synchronized (lock) {
            List<String> names = new ArrayList<>();
            for (Child c : children) {
                names.add(c.name + (c.process != null && c.process.isAlive() ? "" : " (down)"));
            }
            return String.join(", ", names) + (broker.isRunning() ? ", broker" : ", broker (down)");
        }
    }

    // ------------------------------------------------------------------ helpers

    private interface Task {
        void run() throws Exception;
    }

    private Thread background(String name, Task task) {
        Thread t = new Thread(() -> {
            try {
                task.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (Exception e) {
                backgroundFailure.compareAndSet(null, e);
                say("%s failed: %s", name, e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void join(Thread t) throws InterruptedException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        t.join(Math.max(1, left));
        if (t.isAlive()) {
            throw new GblmException(t.getName() + " did not finish before the deadline");
        }
        if (backgroundFailure.get() != null) {
            throw new GblmException(t.getName() + ": " + backgroundFailure.get(), backgroundFailure.get());
        }
    }

    private void checkDeadline(String what) {
        if (System.nanoTime() > deadline) {
            throw new GblmException("timed out (" + s.timeout().toSeconds() + " s) during " + what + "; "
                    + (monitor == null ? "" : monitor.describe()));
        }
        if (backgroundFailure.get() != null) {
            throw new GblmException("background task failed: " + backgroundFailure.get(), backgroundFailure.get());
        }
    }

    private double seconds(long nanos) {
        return (nanos - t0) / 1e9;
    }

    private void say(String format, Object... args) {
        String line = String.format(Locale.ROOT, "t+%6.1fs  ", seconds(System.nanoTime()))
                + String.format(Locale.ROOT, format, args);
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }

    /** The last line of the current incarnation's log that looks like a problem (ERROR, Exception, gblm:), or its last line. */
    static String lastProblem(Path log) {
        List<String> lines = incarnationLines(log);
        for (int i = lines.size() - 1; i >= 0; i--) {
            String l = lines.get(i);
            if (l.contains("ERROR") || l.contains("Exception") || l.startsWith("gblm:")) {
                return l.length() > 300 ? l.substring(0, 300) + "..." : l;
            }
        }
        return lines.isEmpty() ? "(empty log)" : lines.get(lines.size() - 1);
    }

    static String incarnationTail(Path log, int n) {
        List<String> lines = incarnationLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    }

    private static List<String> incarnationLines(Path log) {
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            int from = 0;
            for (int i = all.size() - 1; i >= 0; i--) {
                if (all.get(i).startsWith("==== ")) {
                    from = i;
                    break;
                }
            }
            return all.subList(from, all.size());
        } catch (IOException | RuntimeException e) {
            return List.of("(no log: " + e.getMessage() + ")");
        }
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // reported by the caller's existence check
                }
            });
        } catch (IOException | RuntimeException ignored) {
            // reported by the caller's existence check
        }
    }
}
