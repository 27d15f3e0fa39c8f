package dev.gblm.stream.finalizer;

import dev.gblm.GblmException;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.Health;
import dev.gblm.ops.Service;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The finalizer service: ensures its topics, checks the co-partitioning invariants, and runs the
 * {@link FinalizerTopology} as a Kafka Streams application with exactly_once_v2 and persistent state.
 * Scale out by starting more instances with the same application id (tasks: one per partition of gblm.stats for
 * the block aggregator, one per partition of gblm.slices for the planner).
 */
public final class Finalizer implements Service {
    private static final Logger LOG = LoggerFactory.getLogger(Finalizer.class);
    /** How long an answer about a team's stream grants is reused: a revoked grant stops the next epoch after this. */
    static final Duration GRANTS_TTL = Duration.ofSeconds(10);

    private final FinalizerSettings settings;
    private final DenseWeights weights;
    private final GblmMetrics metrics;
    private final FinalizerMetrics meters;
    private final ThreadFailures failures = new ThreadFailures();
    private KafkaStreams streams;
    private StreamGrants grants = StreamGrants.notEnforced();

    public Finalizer(FinalizerSettings settings, DenseWeights weights, GblmMetrics metrics) {
        this.settings = settings;
        this.weights = weights;
        this.metrics = metrics;
        this.meters = new FinalizerMetrics(metrics.meters());
        metrics.register(this);
    }

    @Override
    public String name() {
        return "finalizer";
    }

    /**
     * UP while the application runs (or rebalances) and its stream threads are not failing repeatedly: a failed
     * thread is replaced and the state stays RUNNING, so the state alone would report UP through a failure loop.
     * The detail names the state, the recent failures and the last one.
     */
    @Override
    public Health health() {
        KafkaStreams s = streams();
        return failures.health(s == null ? null : s.state(), System.currentTimeMillis());
    }

    /** The uncaught-exception handler: count, remember for {@link #health()}, replace the thread. */
    StreamThreadExceptionResponse onStreamThreadFailure(Throwable e) {
        meters.threadFailures.increment();
        failures.record(e, System.currentTimeMillis());
        LOG.error("finalizer stream thread failed; replacing it ({} failures since start)", failures.total(), e);
        return StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    public Topology topology() {
        return FinalizerTopology.build(new Topology(), weights, settings, meters, grants);
    }

    /** The application's properties, with {@code replication} for its internal topics. */
    public Properties streamsProperties(InternalReplication replication) {
        Properties p = settings.kafka().streams(settings.applicationId());
        replication.applyTo(p);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATE_DIR_CONFIG, settings.stateDir().toAbsolutePath().toString());
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class);
        p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, SkipTooLargeHandler.class);
        p.put(SkipTooLargeHandler.METRICS_CONFIG, meters);
        // statistics blocks are up to the broker's limit; fetch them whole
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), 8 * 1024 * 1024);
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), 8 * 1024 * 1024);
        // the team job topics are read by pattern: a team onboarded while the finalizer runs is seen within seconds
        p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.METADATA_MAX_AGE_CONFIG), 5000);
        return p;
    }

    /**
     * Creates missing topics, verifies co-partitioning, starts the application; returns once it is RUNNING (within
     * the settings' start timeout).
     */
    @Override
    public synchronized Finalizer start() {
        Duration timeout = settings.startTimeout();
        if (streams != null) {
            throw new IllegalStateException("already started");
        }
        TopicCatalog catalog = TopicCatalog.fromClasspath();
        try (TopicAdmin admin = TopicAdmin.connect(settings.kafka(), TopicAdmin.SERVICE_CLUSTER_WAIT)) {
            for (TopicReport r : admin.apply(catalog)) {
                if (r.status() == TopicReport.Status.MISMATCH) {
                    LOG.warn("{}", r.describe());
                }
            }
        }
        int brokers = checkCoPartitioned();
        InternalReplication replication = InternalReplication.of(settings.internalReplicationFactor(),
                catalog.get(Topics.STATS.name()), brokers);
        if (settings.internalReplicationFactor() > replication.replicationFactor()) {
            LOG.warn("internal topics get replication factor {}, not {}: the cluster has {} broker(s)",
                    replication.replicationFactor(), settings.internalReplicationFactor(), brokers);
        }
        grants = AclStreamGrants.connect(settings.kafka(), GRANTS_TTL);
        streams = new KafkaStreams(topology(), streamsProperties(replication));
        streams.setUncaughtExceptionHandler(this::onStreamThreadFailure);
        metrics.bind(streams);
        streams.start();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (streams.state() != KafkaStreams.State.RUNNING) {
            if (streams.state() == KafkaStreams.State.ERROR || streams.state() == KafkaStreams.State.NOT_RUNNING
                    || System.nanoTime() > deadline) {
                KafkaStreams.State st = streams.state();
                stop();
                throw new GblmException("the finalizer did not reach RUNNING (state " + st + ")");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new GblmException("interrupted while starting the finalizer", e);
            }
        }
        return this;
    }

    /** Refuses to run unless both topic pairs are co-partitioned; returns the number of brokers. */
    private int checkCoPartitioned() {
        try (Admin admin = Admin.create(settings.kafka().admin("gblm-finalizer-check"))) {
            Map<String, TopicDescription> d = null;
            Exception last = null;
            // just-created topics take a moment to reach the metadata cache: retry briefly
            for (int attempt = 0; attempt < 50 && d == null; attempt++) {
                try {
                    d = admin.describeTopics(List.of(Topics.STATS.name(), Topics.FINALIZE.name(), Topics.SLICES.name(), Topics.ACKS.name()))
                            .allTopicNames().get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    last = e;
                    Thread.sleep(200);
                }
            }
            if (d == null) {
                throw new GblmException("cannot describe the finalizer's topics at " + settings.kafka() + ": "
                        + (last == null ? "" : last.getCause().getMessage()));
            }
            requireSame(d, Topics.STATS.name(), Topics.FINALIZE.name());
            requireSame(d, Topics.SLICES.name(), Topics.ACKS.name());
            return admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size();
        } catch (GblmException e) {
            throw e;
        } catch (Exception e) {
            throw new GblmException("cannot describe the finalizer's topics at " + settings.kafka() + ": " + e.getMessage(), e);
        }
    }

    private static void requireSame(Map<String, TopicDescription> d, String a, String b) {
        int pa = d.get(a).partitions().size();
        int pb = d.get(b).partitions().size();
        if (pa != pb) {
            throw new GblmException(b + " has " + pb + " partitions but " + a + " has " + pa
                    + ": they must be equal (co-partitioned by key); recreate " + b + " with " + pa + " partitions");
        }
    }

    public synchronized KafkaStreams.State state() {
        return streams == null ? KafkaStreams.State.NOT_RUNNING : streams.state();
    }

    public FinalizerMetrics meters() {
        return meters;
    }

    /** The running application (for interactive queries in tests and tools); null when stopped. */
    public synchronized KafkaStreams streams() {
        return streams;
    }

    public synchronized void stop() {
        if (streams != null) {
            streams.close(Duration.ofSeconds(60));
            streams = null;
        }
        grants.close();
        grants = StreamGrants.notEnforced();
    }

    @Override
    public void close() {
        stop();
    }
}
