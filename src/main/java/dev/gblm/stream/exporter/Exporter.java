package dev.gblm.stream.exporter;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.Health;
import dev.gblm.ops.KafkaRetry;
import dev.gblm.ops.PollingThreads;
import dev.gblm.ops.Service;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.Topics;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exporter service: reads {@code gblm.epochs} and {@code gblm.masks} (read_committed), assembles each epoch's
 * mask blocks, writes {@code <out>/<job>/epoch-<n>/} in the batch pruner's format (atomically, fsynced), then, in ONE
 * Kafka transaction, emits the model-ready event to {@code gblm.models} and commits the consumed offsets.
 *
 * <p><b>Offsets.</b> The consumer is assigned every partition of both topics (an epoch's blocks are spread over all
 * partitions of gblm.masks, so one instance must see them all; a second instance with the same group id fences the
 * first through the transactional id). The committed offset of a partition never passes a record of an epoch not
 * yet exported, so a restart re-reads exactly what is still needed.
 *
 * <p><b>Idempotence and durability.</b> The output directory is written and fsynced under a temporary name with a
 * completion marker as its last file, then renamed into place; a replayed epoch whose directory verifies against
 * its marker is not rewritten, any other directory in its place is replaced. Temporary directories of killed runs
 * are removed at start. The event is emitted only if {@code gblm.models} does not hold one for that job and epoch
 * (read at start, then tracked), and it commits atomically with the offsets.
 *
 * <p><b>Bad input.</b> Records that cannot be used (see {@link EpochExports}) go to {@code gblm.dlq} with
 * {@code gblm.reason} and {@code gblm.source} headers in the same transaction as the offsets that pass them, and are
 * counted in {@code gblm.exporter.rejected{reason}}; they never stop the exporter.
 *
 * <p><b>Health.</b> Down when the loop has failed or stopped, or when an epoch has failed to export
 * {@value EpochExports#FAILURES_BEFORE_DOWN} times in a row (also gauge {@code gblm.exporter.up}).
 */
public final class Exporter implements Service {
    private static final Logger LOG = LoggerFactory.getLogger(Exporter.class);
    /** gblm.dlq takes 4 MiB records (topics/gblm.dlq.properties); room is left for key and headers. */
    static final int MAX_DEAD_LETTER_VALUE = (4 << 20) - (64 << 10);
    /** Above the dead-letter limit: the producer's default (1 MiB) would refuse a 2 MiB mask block's dead letter. */
    private static final int MAX_REQUEST_BYTES = 5 << 20;

    private final ExporterSettings cfg;
    private final EpochExports exports;
    /** Used on the exporter thread only; closed when the loop ends. */
    private final HeldOutEvaluator heldOut;
    private final GblmMetrics metrics;
    private final List<Consumer<ModelReady>> listeners = new CopyOnWriteArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Counter epochsDeleted;
    private volatile boolean running;
    private Thread thread;
    private KafkaConsumer<byte[], byte[]> consumer;

    public Exporter(ExporterSettings cfg, Checkpoint model, GblmMetrics metrics) {
        this.cfg = cfg;
        this.metrics = metrics;
        this.exports = new EpochExports(cfg.outDir(), model, cfg.tokenizer(), metrics.meters());
        this.epochsDeleted = Counter.builder("gblm.exporter.epochs.deleted")
                .description("exported epochs deleted because newer ones exceed --keep").register(metrics.meters());
        this.heldOut = new HeldOutEvaluator(model, () -> heldOutTokenizer(model), new KafkaHeldOutSource(cfg.kafka(),
                "gblm-exporter-" + cfg.groupId() + "-heldout"), cfg.holdoutMaxSamples(), metrics.meters());
        exports.heldOut(heldOut);
        metrics.register(this);
        Gauge.builder("gblm.exporter.up", this, x -> x.health().up() ? 1 : 0)
                .description("1 while the exporter runs and makes progress, 0 when its health is down").register(metrics.meters());
    }

    /** The tokenizer that decodes held-out text samples: as the workers', the given file or the model's; null if none. */
    private Tokenizer heldOutTokenizer(Checkpoint model) {
        try {
            return Tokenizers.load(model.source(), cfg.tokenizer());
        } catch (GblmException e) {
            LOG.warn("no tokenizer for held-out text samples ({}): only token-id samples are evaluated", e.getMessage());
            return null;
        }
    }

    @Override
    public String name() {
        return "exporter";
    }

    @Override
    public Health health() {
        Throwable f = failure.get();
        if (f != null) {
            return Health.down("exporter failed: " + f);
        }
        String stuck = exports.stuck();
        if (running && stuck != null) {
            return Health.down(stuck);
        }
        return running ? Health.up("exporter writing to " + cfg.outDir() + ", " + exports.pendingEpochs()
                + " epochs assembling") : Health.down("exporter not running");
    }

    /** Called on the exporter thread after each epoch's event is committed (or found already published). */
    public Exporter onModelReady(Consumer<ModelReady> l) {
        listeners.add(l);
        return this;
    }

    public Throwable failure() {
        return failure.get();
    }

    public boolean isRunning() {
        return running && thread != null && thread.isAlive();
    }

    @Override
    public synchronized Exporter start() {
        if (thread != null) {
            throw new IllegalStateException("exporter already started");
        }
        running = true;
        thread = new Thread(this::loop, "gblm-exporter");
        thread.start();
        return this;
    }

    public void stop() {
        running = false;
        PollingThreads.wakeAndJoin(thread, consumer);
    }

    @Override
    public void close() {
        stop();
    }

    private void loop() {
        KafkaProducer<byte[], byte[]> producer = null;
        try {
            Set<String> announced = readAnnounced();
            producer = new KafkaProducer<>(producerProperties());
            metrics.bind(producer);
            KafkaProducer<byte[], byte[]> p = producer;
            KafkaRetry.onTimeout("initializing the exporter's transactions", KafkaRetry.SERVICE_WAIT,
                    (Runnable) p::initTransactions);
            // only now: an older instance of this group is fenced and cannot be writing the leftovers any more
            int leftovers = exports.removeLeftovers();
            if (leftovers > 0) {
                LOG.info("removed {} temporary directories of interrupted exports under {}", leftovers, cfg.outDir());
            }
            consumer = new KafkaConsumer<>(consumerProperties());
            metrics.bind(consumer);
            List<TopicPartition> parts = new ArrayList<>();
            for (String t : List.of(Topics.EPOCHS.name(), Topics.MASKS.name())) {
                KafkaRetry.onTimeout("reading the partitions of " + t, KafkaRetry.SERVICE_WAIT,
                        () -> consumer.partitionsFor(t, Duration.ofSeconds(30)))
                        .forEach(i -> parts.add(new TopicPartition(t, i.partition())));
            }
            consumer.assign(parts);
            Map<TopicPartition, OffsetAndMetadata> committed = KafkaRetry.onTimeout("reading the committed offsets",
                    KafkaRetry.SERVICE_WAIT, () -> consumer.committed(new HashSet<>(parts), Duration.ofSeconds(30)));
            for (TopicPartition tp : parts) {
                OffsetAndMetadata o = committed.get(tp);
                if (o == null) {
                    consumer.seekToBeginning(List.of(tp));
                } else {
                    consumer.seek(tp, o.offset());
                }
            }
            LOG.info("exporter started: {} partitions, {} models already announced, output {}", parts.size(),
                    announced.size(), cfg.outDir());
            Map<TopicPartition, Long> lastCommitted = new HashMap<>();
            while (running) {
                List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>();
                try {
                    consumer.poll(Duration.ofMillis(200)).forEach(batch::add);
                } catch (WakeupException e) {
                    break;
                }
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    String partition = r.topic() + "-" + r.partition();
                    String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
                    if (r.topic().equals(Topics.EPOCHS.name())) {
                        exports.epochRecord(key, r.value(), partition, r.offset());
                    } else {
                        exports.maskBlock(key, r.value(), header(r, Topics.HEADER_FINALIZER), header(r, Topics.HEADER_ALPHA),
                                partition, r.offset());
                    }
                }
                List<ModelReady> ready = exports.exportComplete();
                List<EpochExports.DeadLetter> dead = exports.drainDeadLetters();
                List<ModelReady> toAnnounce = toAnnounce(ready, announced);
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
                for (TopicPartition tp : parts) {
                    long safe = exports.safeOffset(tp.topic() + "-" + tp.partition(), consumer.position(tp));
                    if (!lastCommitted.containsKey(tp) || lastCommitted.get(tp) != safe) {
                        offsets.put(tp, new OffsetAndMetadata(safe));
                    }
                }
                if (!toAnnounce.isEmpty() || !offsets.isEmpty() || !dead.isEmpty()) {
                    producer.beginTransaction();
                    for (EpochExports.DeadLetter d : dead) {
                        producer.send(deadLetter(d));
                    }
                    for (ModelReady m : toAnnounce) {
                        producer.send(new ProducerRecord<>(Topics.MODELS.name(), m.job().getBytes(StandardCharsets.UTF_8), Json.write(m)));
                    }
                    producer.sendOffsetsToTransaction(offsets, new ConsumerGroupMetadata(cfg.groupId()));
                    producer.commitTransaction();
                    offsets.forEach((tp, o) -> lastCommitted.put(tp, o.offset()));
                }
                for (ModelReady m : ready) {
                    announced.add(announcedKey(m));
                    LOG.info("job {} epoch {} {} at {}", m.job(), m.epoch(), m.written() ? "exported" : "already exported", m.path());
                    retain(m);
                    for (Consumer<ModelReady> l : listeners) {
                        l.accept(m);
                    }
                }
            }
        } catch (WakeupException e) {
            // stop
        } catch (Throwable e) {
            failure.set(e);
            LOG.error("exporter failed", e);
        } finally {
            running = false;
            heldOut.close();
            if (consumer != null) {
                try {
                    consumer.close(Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    LOG.debug("consumer close", e);
                }
            }
            if (producer != null) {
                try {
                    producer.close(Duration.ofSeconds(5));
                } catch (RuntimeException e) {
                    LOG.debug("producer close", e);
                }
            }
        }
    }

    /**
     * After an epoch's event is committed: {@code latest} points at the job's newest complete epoch, and with
     * {@code --keep K} older epochs go. A failure here is logged, not fatal: the models are safe either way.
     */
    private void retain(ModelReady m) {
        try {
            for (Path gone : EpochRetention.apply(Path.of(m.path()).getParent(), cfg.keep())) {
                epochsDeleted.increment();
                LOG.info("deleted {} (--keep {})", gone, cfg.keep());
            }
        } catch (GblmException e) {
            LOG.warn("job {}: {}", m.job(), e.getMessage());
        }
    }

    /**
     * The model-ready events to emit for epochs just completed: those whose {@code job/epoch} has no event on
     * gblm.models yet, each once (a replay re-assembles an epoch but must not announce it again).
     */
    static List<ModelReady> toAnnounce(List<ModelReady> ready, Set<String> announced) {
        Set<String> seen = new HashSet<>(announced);
        List<ModelReady> out = new ArrayList<>();
        for (ModelReady m : ready) {
            if (seen.add(announcedKey(m))) {
                out.add(m);
            }
        }
        return out;
    }

    /**
     * The refused record as it came, plus {@code gblm.reason} ({@code code: text}) and {@code gblm.source}. A value
     * too large for the dead-letter topic is left out (and said so), since a send that fails aborts the transaction
     * and the exporter would meet the same record again after every restart.
     */
    static ProducerRecord<byte[], byte[]> deadLetter(EpochExports.DeadLetter d) {
        byte[] value = d.value();
        String reason = Topics.deadLetterReason(d.reason(), d.detail());
        if (value != null && value.length > MAX_DEAD_LETTER_VALUE) {
            reason += " (the " + value.length + "-byte value is not copied: too large for " + Topics.DLQ.name() + ")";
            value = null;
        }
        List<Header> h = new ArrayList<>();
        if (d.finalizer() != null) {
            h.add(new RecordHeader(Topics.HEADER_FINALIZER, d.finalizer().getBytes(StandardCharsets.UTF_8)));
        }
        h.add(new RecordHeader(Topics.HEADER_REASON, reason.getBytes(StandardCharsets.UTF_8)));
        h.add(new RecordHeader(Topics.HEADER_SOURCE, d.source().getBytes(StandardCharsets.UTF_8)));
        byte[] key = d.key() == null ? null : d.key().getBytes(StandardCharsets.UTF_8);
        return new ProducerRecord<>(Topics.DLQ.name(), null, key, value, h);
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    static String announcedKey(ModelReady m) {
        return m.job() + "/" + m.epoch();
    }

    /** job/epoch of every committed gblm.models event. */
    private Set<String> readAnnounced() {
        Properties p = baseConsumer("gblm-exporter-" + cfg.groupId() + "-announced");
        Set<String> out = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = KafkaRetry.onTimeout("reading the partitions of " + Topics.MODELS.name(),
                    KafkaRetry.SERVICE_WAIT, () -> c.partitionsFor(Topics.MODELS.name(), Duration.ofSeconds(30))).stream()
                    .map(i -> new TopicPartition(Topics.MODELS.name(), i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    try {
                        ModelReady m = Json.read(r.value(), ModelReady.class);
                        out.add(m.job() + "/" + m.epoch());
                    } catch (RuntimeException e) {
                        LOG.warn("ignoring unreadable {} record at offset {}", Topics.MODELS.name(), r.offset());
                    }
                }
            }
        }
        return out;
    }

    private Properties baseConsumer(String clientId) {
        Properties p = cfg.kafka().consumer(clientId);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(16 << 20));
        return p;
    }

    private Properties consumerProperties() {
        Properties p = baseConsumer("gblm-exporter-" + cfg.groupId());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, cfg.groupId());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return p;
    }

    private Properties producerProperties() {
        Properties p = cfg.kafka().producer("gblm-exporter-" + cfg.groupId());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "gblm-exporter-" + cfg.groupId());
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(MAX_REQUEST_BYTES));
        return p;
    }
}
