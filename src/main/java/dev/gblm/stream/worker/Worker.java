package dev.gblm.stream.worker;

import dev.gblm.GblmException;
import dev.gblm.engine.LayerBatchCollector;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.SampleStatistics;
import dev.gblm.engine.StatsCollector;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.Checkpoint;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.Health;
import dev.gblm.ops.KafkaRetry;
import dev.gblm.ops.PollingThreads;
import dev.gblm.ops.Service;
import dev.gblm.stats.StatKinds;
import dev.gblm.stream.HoldOut;
import dev.gblm.stream.Json;
import dev.gblm.stream.Profile;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming worker: consumes calibration samples from every {@code calib.<stream>} topic, runs forward +
 * backward per sample, and publishes the accumulated statistics slice by slice, each slice in ONE Kafka
 * transaction together with its slice record, its dead letters and its consumed offsets.
 *
 * <p><b>Layer-major slices</b> ({@code --stats-pass layer}, {@link LayerBatchCollector}). A slice's samples are
 * then only remembered while the slice is open and are run together, layer by layer, when it closes, inside the
 * slice's transaction: each layer's statistics are encoded and sent as soon as that layer is complete (top layer
 * first) and freed, so the worker never holds the whole model's sums, nor its encoded records (the per-sample mode
 * holds both: about 16 bytes per parameter). The price: a slice's compute happens between two polls and inside one
 * transaction, so it must stay well under {@code max.poll.interval.ms} (10 min here) and the transaction timeout
 * (15 min in this mode); size {@code --samples-per-slice} accordingly (the worker warns past half the poll interval).
 *
 * <p><b>Slices and streams.</b> A slice covers one stream; the worker keeps a single accumulator, written only through
 * the open {@link OpenSlice} (so the statistics always cover exactly the slice's offsets, and an aborted or lost
 * slice drops both together), and closes the slice when the next record belongs to another stream. Memory is
 * therefore one set of statistics (twice the model's linear weights), whatever the number of streams.
 *
 * <p><b>Polling.</b> A poll returns ONE record ({@code max.poll.records=1}): the consumer calls poll between any two
 * samples, so the time between polls is one sample's forward + backward (plus a slice commit), whatever the slice
 * size. Slices close on their own rules (count, age, stream change), independent of poll batches; a slice longer than
 * {@code max.poll.interval.ms} no longer gets the worker expelled from the group and its transaction fenced. The
 * consumer still fetches in bulk, so this costs no round trips.
 *
 * <p><b>Transaction flow.</b> Records are only polled once every previously polled record is processed, so a
 * slice's offsets always end at the consumer's position. Closing a slice (count, age, revocation, stop):
 * beginTransaction; statistics row blocks to {@code gblm.stats}; the {@link SliceRecord} to {@code gblm.slices};
 * dead letters to {@code gblm.dlq} (bounded in size: {@link DeadLetters}); sendOffsetsToTransaction(offsets,
 * groupMetadata); commitTransaction ({@link SliceTransaction}: timeouts are retried, as the producer requires). On an
 * abortable error the transaction is aborted and the partitions are rewound to the slice's start, so the samples
 * are recomputed; on fencing (a newer instance with the same worker id, or a group generation change) the worker
 * stops without committing and the new owner recomputes from the committed offsets.
 *
 * <p><b>Health.</b> {@link #health()} is DOWN when the loop ended with a failure, and while the last
 * {@value #UNHEALTHY_AFTER_ABORTS} or more slice transactions in a row were aborted (the worker runs but makes no
 * progress); the first commit after that makes it UP again.
 *
 * <p><b>Rebalances.</b> On revocation the whole current slice is committed before the partitions are given up (the
 * callback runs inside poll, where the group metadata is still valid); on partition loss it is discarded.
 *
 * <p>A slice record always carries statistics, so rejects wait in the open slice for a good sample (count and age
 * only close slices with samples). Only when rejects pile up ({@link OpenSlice#full}) or on revocation or stop with
 * no good sample are they committed as a dead-letter-only transaction (dead letters and offsets, no slice record);
 * their offsets are then covered by the dead letters' source headers rather than by a slice.
 */
public final class Worker implements Service {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** What the streaming pipeline collects: gradients and activations (magnitude, wanda, gradient, gblm). */
    public static final StatKinds KINDS = Profile.STREAMING_KINDS;

    /** Consecutive aborted slice transactions from which the worker reports itself DOWN. */
    public static final int UNHEALTHY_AFTER_ABORTS = 3;

    /** How long an owned partition may stay unreadable before the worker says why. */
    static final Duration WAIT_WARNING = Duration.ofSeconds(30);

    /** Test hooks. */
    interface Faults {
        /** Called after a slice's records are sent, before its commit. */
        void beforeCommit(long sliceSeq);

        /** Called after a sample reached the statistics (slow samples are simulated here). */
        default void afterSample(TopicPartition tp, long offset) {}
    }

    /** Thrown by a {@link Faults} hook to simulate a process dying mid-transaction. */
    static final class SimulatedCrash extends Error {
        SimulatedCrash(String m) {
            super(m);
        }
    }

    private record DeadLetter(ProducerRecord<byte[], byte[]> record, String reason) {}

    /** Records per poll (see the class comment). */
    private static final int MAX_POLL_RECORDS = 1;

    private final WorkerSettings cfg;
    private final LlamaModel model;
    /** The settings' pass, or the automatic choice for this model. */
    private final StatsPass statsPass;
    private final SampleDecoder decoder;
    private final Profile profile;
    private final String profileId;
    private final String groupId;
    private final GblmMetrics metrics;
    private final WorkerMetrics meters;
    private final AtomicLong committedSamples = new AtomicLong();
    private final AtomicLong committedSlices = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicInteger consecutiveAborts = new AtomicInteger();
    private volatile String lastAbort;
    private final CountDownLatch assigned = new CountDownLatch(1);
    private volatile boolean running;
    private volatile boolean killed;
    private boolean closed;
    /** Set before an abrupt close: the rebalance listener must then neither commit nor touch the producer. */
    private volatile boolean abandoned;
    private volatile Faults faults = seq -> {};
    private Thread thread;

    // loop-thread state
    private KafkaConsumer<byte[], byte[]> consumer;
    private KafkaProducer<byte[], byte[]> producer;
    private SampleStatistics statistics;
    private EngineSink sink;
    private OpenSlice<DeadLetter> slice;
    private final Map<TopicPartition, Long> nextOffset = new HashMap<>();
    /** Owned partitions whose position is not known yet, since when (nanos); read by a gauge from other threads. */
    private final Map<TopicPartition, Long> waitingSince = new ConcurrentHashMap<>();
    private final Set<TopicPartition> waitWarned = new HashSet<>();
    private long sliceSeq;
    private SliceTransaction transactions;
    private long maxPollIntervalMs;

    /**
     * @param tokenizer null for a model without one (token-id samples only)
     * @param metrics   where the worker's meters go; its Kafka clients are bound to it too
     * @throws GblmException when the settings do not fit the model ({@link #profileFor})
     */
    public Worker(WorkerSettings cfg, Checkpoint ckpt, Tokenizer tokenizer, GblmMetrics metrics) {
        this.cfg = cfg;
        this.profile = profileFor(cfg, ckpt);
        int seqLen = profile.seqLen();
        this.profileId = profile.id();
        this.groupId = cfg.groupId() != null ? cfg.groupId() : "gblm-worker-" + profileId;
        this.decoder = new SampleDecoder(tokenizer, ckpt.config().vocabSize(), seqLen);
        this.metrics = metrics;
        this.meters = new WorkerMetrics(metrics.meters(), cfg.workerId(), () -> health().up(), consecutiveAborts::get,
                waitingSince::size);
        this.model = LlamaModel.load(ckpt);
        this.statsPass = cfg.statsPass() != null ? cfg.statsPass() : model.isLazy() ? StatsPass.LAYER : StatsPass.MODEL;
        metrics.register(this);
    }

    /**
     * The profile a worker with these settings serves on this model, or a {@link GblmException} saying why the
     * settings cannot work. Checked before anything starts (the CLI calls it before connecting to Kafka): a sequence
     * length beyond the model's context would otherwise fail in the model on every long sample, and the worker would
     * die on the same record after each restart.
     */
    public static Profile profileFor(WorkerSettings cfg, Checkpoint ckpt) {
        int context = ckpt.config().maxPositionEmbeddings();
        if (cfg.seqLen() > context) {
            throw new GblmException("--seq-len " + cfg.seqLen() + " exceeds the model's context of " + context
                    + " tokens (max_position_embeddings): use at most " + context + ", or 0 for the model's context");
        }
        return Profile.forCheckpoint(ckpt, cfg.seqLen(), cfg.gradScale(), cfg.maxRecordBytes(), cfg.holdout());
    }

    /** {@code worker-<workerId>}: unique among the workers of one process. */
    @Override
    public String name() {
        return "worker-" + cfg.workerId();
    }

    @Override
    public Health health() {
        Throwable f = failure.get();
        if (f != null) {
            return Health.down("worker " + cfg.workerId() + " failed: " + f);
        }
        int aborts = consecutiveAborts.get();
        if (aborts >= UNHEALTHY_AFTER_ABORTS) {
            return Health.down("worker " + cfg.workerId() + " makes no progress: the last " + aborts
                    + " slice transactions were aborted; last cause: " + lastAbort);
        }
        return running ? Health.up("worker " + cfg.workerId() + ", profile " + profileId + ", "
                + committedSamples.get() + " samples committed") : Health.down("worker not running");
    }

    /** Slice transactions aborted since the last commit. */
    public int consecutiveAborts() {
        return consecutiveAborts.get();
    }

    public Profile profile() {
        return profile;
    }

    public String groupId() {
        return groupId;
    }

    public String transactionalId() {
        return "gblm-worker-" + profileId + "-" + cfg.workerId();
    }

    /** Samples in committed slices since start. */
    public long committedSamples() {
        return committedSamples.get();
    }

    public long committedSlices() {
        return committedSlices.get();
    }

    /** The error that ended the loop, if any. */
    public Throwable failure() {
        return failure.get();
    }

    public boolean isRunning() {
        return running && thread != null && thread.isAlive();
    }

    void setFaults(Faults f) {
        this.faults = f;
    }

    /** Starts the consume loop on its own thread. */
    @Override
    public synchronized Worker start() {
        if (thread != null) {
            throw new IllegalStateException("worker already started");
        }
        running = true;
        thread = new Thread(this::loop, "gblm-worker-" + cfg.workerId());
        thread.start();
        return this;
    }

    /** Waits until the group has assigned partitions to this worker (true) or the timeout passed. */
    public boolean awaitAssignment(Duration timeout) throws InterruptedException {
        return assigned.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Clean stop: commits the open slice, leaves the group, closes the clients. */
    public void stop() {
        running = false;
        join();
    }

    /**
     * Simulates a crash: the loop ends without committing or aborting anything; the clients are closed without
     * a clean shutdown. Samples of the open slice were never committed and are recomputed by the next owner.
     */
    void kill() {
        killed = true;
        running = false;
        join();
    }

    private void join() {
        PollingThreads.wakeAndJoin(thread, consumer);
    }

    /** Stops cleanly and frees the model; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stop();
        model.close();
    }

    // ------------------------------------------------------------------ the loop (one thread)

    private void loop() {
        boolean crashed = false;
        try {
            if (cfg.threads() > 0) {
                // per thread: PyTorch's OpenMP thread count is a property of the calling thread
                LlamaModel.setComputeThreads(cfg.threads());
            }
            statistics = statsPass == StatsPass.LAYER ? new LayerBatchCollector(model, KINDS, cfg.gradScale())
                    : new StatsCollector(model, KINDS, cfg.gradScale(), StatsPass.MODEL);
            sink = new EngineSink(statistics);
            producer = new KafkaProducer<>(producerProperties());
            metrics.bind(producer);
            KafkaProducer<byte[], byte[]> p = producer;
            KafkaRetry.onTimeout("initializing the worker's transactions", KafkaRetry.SERVICE_WAIT,
                    (Runnable) p::initTransactions);
            transactions = new SliceTransaction(producer, "worker " + cfg.workerId());
            Properties cp = consumerProperties();
            maxPollIntervalMs = Long.parseLong(cp.get(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG).toString());
            consumer = new KafkaConsumer<>(cp);
            metrics.bind(consumer);
            consumer.subscribe(cfg.topics(), new Rebalance());
            LOG.info("worker {} started: profile {} (seqLen {}, gradScale {}), group {}, statistics pass {}",
                    cfg.workerId(), profileId, profile.seqLen(), profile.gradScale(), groupId, statsPass.cliName());
            while (running) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(200));
                } catch (WakeupException e) {
                    break;
                }
                process(records);
                watchWaitingPartitions();
                if (slice != null && slice.samples() > 0
                        && slice.ageNanos(System.nanoTime()) >= cfg.maxSliceAge().toNanos()) {
                    closeSlice("age");
                }
            }
            if (!killed) {
                closeSlice("stop");
            }
        } catch (SimulatedCrash e) {
            crashed = true;
            LOG.warn("worker {}: simulated crash: {}", cfg.workerId(), e.getMessage());
        } catch (ProducerFencedException | InvalidProducerEpochException e) {
            failure.set(e);
            LOG.error("worker {} fenced by a newer instance or a group change; stopping without commit", cfg.workerId());
        } catch (WakeupException e) {
            if (!killed && running) {
                failure.set(e);
            }
        } catch (Throwable e) {
            failure.set(e);
            LOG.error("worker {} failed", cfg.workerId(), e);
        } finally {
            running = false;
            boolean abrupt = killed || crashed || failure.get() != null;
            abandoned = abrupt;
            closeClients(abrupt);
            if (statistics != null) {
                statistics.close();
            }
        }
    }

    private void closeClients(boolean abrupt) {
        Duration t = abrupt ? Duration.ZERO : Duration.ofSeconds(10);
        if (consumer != null) {
            try {
                consumer.close(t);
            } catch (RuntimeException e) {
                LOG.debug("consumer close", e);
            }
        }
        if (producer != null) {
            try {
                // an abrupt close leaves any open transaction for the next instance with our id to abort
                producer.close(t);
            } catch (RuntimeException e) {
                LOG.debug("producer close", e);
            }
        }
    }

    /**
     * Processes every polled record (one with the worker's own settings; more only if overridden), grouped by topic
     * (stream) so slices stay long.
     */
    private void process(ConsumerRecords<byte[], byte[]> records) {
        if (records.isEmpty()) {
            return;
        }
        Map<String, List<TopicPartition>> byTopic = new LinkedHashMap<>();
        for (TopicPartition tp : records.partitions()) {
            byTopic.computeIfAbsent(tp.topic(), k -> new ArrayList<>()).add(tp);
            if (!nextOffset.containsKey(tp)) {
                nextOffset.put(tp, firstOffset(tp, records.records(tp).get(0).offset()));
            }
            waitingSince.remove(tp);
        }
        for (List<TopicPartition> tps : byTopic.values()) {
            for (TopicPartition tp : tps) {
                for (ConsumerRecord<byte[], byte[]> rec : records.records(tp)) {
                    if (killed || !handle(tp, rec)) {
                        return; // killed, or a slice was aborted and every partition rewound: drop the rest
                    }
                }
            }
        }
    }

    /** Returns false when a slice close was aborted (partitions rewound: the rest of the poll is stale). */
    private boolean handle(TopicPartition tp, ConsumerRecord<byte[], byte[]> rec) {
        String stream = Topics.streamOf(tp.topic());
        if (slice != null && !slice.stream().equals(stream) && !closeSlice("stream change")) {
            return false;
        }
        if (slice == null) {
            slice = new OpenSlice<>(stream, System.nanoTime(), sink);
        }
        long start = nextOffset.get(tp);
        if (HoldOut.isHeldOut(tp.topic(), rec.key(), profile.holdout())) {
            // never decoded here: the exporter evaluates it; its offset still belongs to the slice
            slice.addHeldOut(tp, start, rec.offset());
            meters.heldOut(stream);
            return !slice.full(cfg.samplesPerSlice()) || closeSlice("count");
        }
        Header fh = rec.headers().lastHeader(Topics.HEADER_FORMAT);
        String format = fh == null ? null : new String(fh.value(), StandardCharsets.UTF_8);
        SampleDecoder.Result r = decoder.decode(rec.key(), rec.value(), format);
        if (r instanceof SampleDecoder.Accepted a) {
            slice.addSample(tp, start, rec.offset(), a.tokens(), rec.timestamp());
            meters.sample(stream, a.tokens().length);
            if (!batched()) {
                meters.computed(1, sink.lastNanos);
            }
            LOG.debug("worker {}: sample {}-{}@{} ({} tokens) in slice", cfg.workerId(), tp.topic(), tp.partition(),
                    rec.offset(), a.tokens().length);
            faults.afterSample(tp, rec.offset());
            if (sink.lastNanos > TimeUnit.MILLISECONDS.toNanos(maxPollIntervalMs) / 2) {
                // polls come between samples; one sample near max.poll.interval.ms risks expulsion from the group
                LOG.warn("worker {}: one sample took {} ms, more than half of max.poll.interval.ms ({} ms); raise it"
                        + " or lower --seq-len", cfg.workerId(), TimeUnit.NANOSECONDS.toMillis(sink.lastNanos),
                        maxPollIntervalMs);
            }
        } else {
            SampleDecoder.Rejected j = (SampleDecoder.Rejected) r;
            LOG.warn("worker {}: rejected {}-{}@{}: {}", cfg.workerId(), tp.topic(), tp.partition(), rec.offset(),
                    abbreviate(j.describe()));
            slice.addReject(tp, start, rec.offset(),
                    new DeadLetter(DeadLetters.of(rec, j.reason(), j.describe(), cfg.workerId()), j.reason()));
        }
        return !slice.full(cfg.samplesPerSlice()) || closeSlice("count");
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 297) + "...";
    }

    private static Header header(String k, String v) {
        return new RecordHeader(k, v.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Publishes and commits the open slice in one transaction (see the class comment). Returns false when the
     * transaction was aborted and the partitions rewound.
     */
    private boolean closeSlice(String why) {
        OpenSlice<DeadLetter> s = slice;
        if (s == null || s.isEmpty()) {
            if (s != null) {
                s.finish();
            }
            slice = null;
            return true;
        }
        long t0 = System.nanoTime();
        long seq = ++sliceSeq;
        String sliceId = cfg.workerId() + "-" + s.stream() + "-" + Long.toHexString(System.currentTimeMillis()) + "-" + seq;
        SlicePublication pub = new SlicePublication(s, sliceId);
        SliceTransaction.Result result;
        try {
            result = transactions.run(pub, s.commitOffsets(), consumer.groupMetadata(), () -> faults.beforeCommit(seq));
        } catch (RuntimeException e) {
            // fatal for this producer (fenced, or a call that kept timing out): no abort possible; the next owner
            // recomputes from the committed offsets
            slice = null;
            s.discard();
            throw e;
        }
        if (!result.committed()) {
            int n = consecutiveAborts.incrementAndGet();
            lastAbort = result.cause().toString();
            LOG.warn("worker {}: slice {} aborted ({}), {} in a row: {}", cfg.workerId(), sliceId, why, n, lastAbort);
            meters.aborted();
            slice = null;
            s.discard();
            rewind();
            return false;
        }
        consecutiveAborts.set(0);
        s.commitOffsets().forEach((tp, o) -> nextOffset.put(tp, o.offset()));
        for (DeadLetter d : s.deadLetters()) {
            meters.rejected(s.stream(), d.reason());
        }
        if (batched()) {
            meters.computed(s.samples(), pub.computeNanos);
        }
        meters.committed(s.samples(), pub.statsBytes, pub.allBytes, System.nanoTime() - t0);
        committedSamples.addAndGet(s.samples());
        committedSlices.incrementAndGet();
        LOG.info("worker {}: slice {} committed ({}): {} samples, {} tokens, {} rejected, {} held out, {} records, {} bytes",
                cfg.workerId(), sliceId, why, s.samples(), s.tokens(), s.rejected(), s.heldOut(), pub.records, pub.allBytes);
        slice = null;
        s.finish();
        return true;
    }

    /** Whether a slice's statistics are computed when it closes (layer-major) rather than sample by sample. */
    private boolean batched() {
        return statsPass == StatsPass.LAYER;
    }

    /** The statistics pass in use (the settings', or the automatic choice for this model). */
    public StatsPass statsPass() {
        return statsPass;
    }

    /**
     * What one slice's transaction publishes, produced while the transaction is open: the statistics row blocks, one
     * module at a time as the engine hands them out (a layer-major worker computes the slice here, top layer first,
     * so no more than one layer's statistics exist at once), then the slice record, which needs their count, then the
     * dead letters.
     */
    private final class SlicePublication implements SliceTransaction.RecordSource {
        private final OpenSlice<DeadLetter> slice;
        private final String sliceId;
        int records;
        long statsBytes;
        long allBytes;
        long computeNanos;

        SlicePublication(OpenSlice<DeadLetter> slice, String sliceId) {
            this.slice = slice;
            this.sliceId = sliceId;
        }

        @Override
        public void sendTo(Consumer<ProducerRecord<byte[], byte[]>> send) {
            Consumer<ProducerRecord<byte[], byte[]>> counted = r -> {
                send.accept(r);
                records++;
                allBytes += r.value() == null ? 0 : r.value().length;
            };
            if (slice.samples() > 0) {
                slice.requireInStep();
                int[] blocks = {0};
                long c0 = System.nanoTime();
                statistics.forEachModule(m -> {
                    for (StatsRecords.Block b : StatsRecords.split(m, profileId, cfg.maxRecordBytes())) {
                        counted.accept(new ProducerRecord<>(Topics.STATS.name(), null, b.key().bytes(), b.value(),
                                List.of(header(Topics.HEADER_SLICE, sliceId))));
                        statsBytes += b.value().length;
                        blocks[0]++;
                    }
                });
                computeNanos = System.nanoTime() - c0;
                if (batched() && computeNanos > TimeUnit.MILLISECONDS.toNanos(maxPollIntervalMs) / 2) {
                    LOG.warn("worker {}: computing slice {} took {} ms, more than half of max.poll.interval.ms ({} ms)"
                            + "; raise it or lower --samples-per-slice", cfg.workerId(), sliceId,
                            TimeUnit.NANOSECONDS.toMillis(computeNanos), maxPollIntervalMs);
                }
                SliceRecord rec = new SliceRecord(sliceId, profileId, profile, slice.stream(), slice.ranges(),
                        slice.samples(), slice.tokens(), slice.rejected(), blocks[0], slice.lastSampleTimestamp(),
                        slice.heldOut()).validate();
                counted.accept(new ProducerRecord<>(Topics.SLICES.name(), null,
                        profileId.getBytes(StandardCharsets.UTF_8), Json.write(rec),
                        List.of(header(Topics.HEADER_SLICE, sliceId))));
            }
            for (DeadLetter d : slice.deadLetters()) {
                counted.accept(d.record());
            }
        }
    }

    /**
     * The engine's statistics as the open slice's sink. Only {@link OpenSlice} calls add and reset, so statistics
     * and offsets stay in step. Workers sharing a process need no lock of their own: each has its own model and
     * accumulator, and the engine serializes its process-wide gradient state.
     */
    private static final class EngineSink implements SampleSink {
        private final SampleStatistics statistics;
        /** Time of the last {@link #add} (a sample's forward + backward, unless the statistics are batched). */
        long lastNanos;

        EngineSink(SampleStatistics statistics) {
            this.statistics = statistics;
        }

        @Override
        public void add(int[] tokens) {
            long t0 = System.nanoTime();
            statistics.addSample(tokens);
            lastNanos = System.nanoTime() - t0;
        }

        @Override
        public long samples() {
            return statistics.samples();
        }

        @Override
        public void reset() {
            statistics.reset();
        }
    }

    /**
     * Where this owner's first slice of a partition starts: the group's committed offset, so that offsets the
     * consumer skipped before the first record (transaction markers, aborted data) still belong to a slice and
     * slices tile the partition. Asked only once records arrived, when the committed offset is known to be stable;
     * asking at assignment instead (consumer.position) blocks while a crashed owner's transaction still holds the
     * partition's offsets, and fails the worker after default.api.timeout.ms: polling simply waits until that
     * transaction is aborted by the crashed worker's replacement or by the transaction timeout.
     */
    private long firstOffset(TopicPartition tp, long firstRecord) {
        try {
            OffsetAndMetadata c = consumer.committed(Set.of(tp), Duration.ofSeconds(10)).get(tp);
            // no commit yet: the consumer started at the log start (auto.offset.reset=earliest)
            long from = c != null ? c.offset() : consumer.beginningOffsets(Set.of(tp), Duration.ofSeconds(10)).get(tp);
            return Math.min(from, firstRecord);
        } catch (TimeoutException e) {
            LOG.debug("worker {}: committed offset of {} unknown ({}); the slice starts at its first record",
                    cfg.workerId(), tp, e.toString());
            return firstRecord;
        }
    }

    /**
     * Drops the waiting partitions whose position became known (their lag is known once fetched, even with nothing to
     * read) and warns once about each one still unreadable after {@link #WAIT_WARNING}: the usual cause is a worker
     * that died inside a slice transaction, whose offsets stay pending until it is replaced or the broker aborts it.
     */
    private void watchWaitingPartitions() {
        if (waitingSince.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (Map.Entry<TopicPartition, Long> e : waitingSince.entrySet()) {
            TopicPartition tp = e.getKey();
            if (consumer.currentLag(tp).isPresent()) {
                waitingSince.remove(tp);
            } else if (now - e.getValue() > WAIT_WARNING.toNanos() && waitWarned.add(tp)) {
                LOG.warn("worker {}: partition {} assigned {} s ago is not readable yet: its committed offset is "
                        + "pending, usually because a worker died inside a slice transaction. It is released when "
                        + "that worker restarts with the same --worker-id, else when the broker aborts the transaction "
                        + "(transaction timeout); other partitions are read meanwhile", cfg.workerId(), tp,
                        TimeUnit.NANOSECONDS.toSeconds(now - e.getValue()));
            }
        }
    }

    /**
     * After an abort: every owned partition goes back to the end of its last committed slice. Everything polled
     * since then belonged to the aborted slice or was not processed yet, so it is read again.
     */
    private void rewind() {
        for (TopicPartition tp : consumer.assignment()) {
            Long off = nextOffset.get(tp);
            if (off != null) {
                consumer.seek(tp, off);
            }
        }
    }

    private final class Rebalance implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            partitions.forEach(waitingSince::remove);
            if (!partitions.isEmpty() && !abandoned) {
                closeSlice("revocation");
                partitions.forEach(nextOffset::remove);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            // no longer ours: nothing of the open slice may be committed; the new owner recomputes it
            LOG.warn("worker {}: partitions lost {}; discarding the open slice", cfg.workerId(), partitions);
            if (slice != null) {
                slice.discard();
            }
            slice = null;
            partitions.forEach(nextOffset::remove);
            partitions.forEach(waitingSince::remove);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            long now = System.nanoTime();
            for (TopicPartition tp : partitions) {
                waitingSince.put(tp, now);
                waitWarned.remove(tp);
            }
            if (!consumer.assignment().isEmpty()) {
                assigned.countDown();
            }
        }
    }

    // ------------------------------------------------------------------ client settings

    Properties consumerProperties() {
        Properties p = cfg.kafka().consumer("gblm-worker-" + cfg.workerId() + "-consumer");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // one record per poll: polls come between samples however long a slice takes (see the class comment)
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(MAX_POLL_RECORDS));
        p.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "600000");
        p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        // new calib.<stream> topics are picked up at the next metadata refresh
        p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "5000");
        p.putAll(cfg.consumerOverrides());
        return p;
    }

    Properties producerProperties() {
        Properties p = cfg.kafka().producer("gblm-worker-" + cfg.workerId() + "-producer");
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        // a layer-major worker computes its slice inside the transaction (see the class comment): up to the broker's
        // default transaction.max.timeout.ms (15 min)
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, statsPass == StatsPass.LAYER ? "900000" : "120000");
        // a value of maxRecordBytes plus key and headers must fit one request
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Long.toString(Math.max(1L << 20, cfg.maxRecordBytes() + 65536)));
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return p;
    }
}
