package dev.gblm.stream.worker;

import static dev.gblm.testing.StreamTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.bench.RandomCheckpoints;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.testing.TestData;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The worker against one real embedded broker (shared by the class). Each test uses its own streams and
 * consumer group and filters what it reads back by stream, so tests do not see each other's slices.
 */
class WorkerIntegrationTest {
    static EmbeddedKafka kafka;
    static Admin admin;
    static Checkpoint tiny;

    @BeforeAll
    static void startBroker() throws Exception {
        kafka = EmbeddedKafka.builder().build().start();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        admin = Admin.create(p);
        try (TopicAdmin ta = new TopicAdmin(Admin.create(p))) {
            TopicCatalog cat = TopicCatalog.load(Path.of("topics"));
            for (String t : List.of(Topics.STATS.name(), Topics.SLICES.name(), Topics.DLQ.name())) {
                assertThat(ta.ensure(cat.get(t)).healthy()).isTrue();
            }
        }
        tiny = Checkpoints.load(TINY);
    }

    @AfterAll
    static void stopBroker() {
        if (admin != null) {
            admin.close();
        }
        if (kafka != null) {
            kafka.stop();
        }
    }

    /** Each test's workers read only that test's streams ({@code calib.<group>-*}). */
    private WorkerSettings config(String id, String group) {
        return builder(id, group).build();
    }

    private WorkerSettings.Builder builder(String id, String group) {
        return WorkerSettings.builder(kafka.clientSettings(), id).groupId(group)
                .topics(java.util.regex.Pattern.compile("calib\\." + group + "(-.*)?"))
                .samplesPerSlice(7).maxSliceAge(Duration.ofSeconds(2)).consumerOverrides(fastGroup());
    }

    @Test
    void twoWorkersCountEverySampleExactlyOnceAndMatchDirectStatistics() throws Exception {
        int n = 60;
        List<int[]> a = randomDocs(n / 2, 64, 40, 1);
        List<int[]> b = randomDocs(n / 2, 64, 40, 2);
        createTopic(admin, "calib.eo-a", 3);
        createTopic(admin, "calib.eo-b", 3);
        try (GblmMetrics m1 = new GblmMetrics("worker"); GblmMetrics m2 = new GblmMetrics("worker");
                Worker w1 = new Worker(config("eo-1", "eo"), tiny, null, m1);
                Worker w2 = new Worker(config("eo-2", "eo"), tiny, null, m2)) {
            w1.start();
            produceTokens(kafka.bootstrapServers(), "calib.eo-a", 3, a.subList(0, 20));
            produceTokens(kafka.bootstrapServers(), "calib.eo-b", 3, b.subList(0, 10));
            // the second worker joins mid-run: the first one's slices are closed on revocation
            await("first commits", Duration.ofSeconds(60), () -> w1.committedSamples() > 0);
            w2.start();
            assertThat(w2.awaitAssignment(Duration.ofSeconds(60))).as("second worker assigned").isTrue();
            produceTokens(kafka.bootstrapServers(), "calib.eo-b", 3, b.subList(10, 30));
            produceTokens(kafka.bootstrapServers(), "calib.eo-a", 3, a.subList(20, 30));
            await("all samples committed", Duration.ofSeconds(120),
                    () -> w1.committedSamples() + w2.committedSamples() >= n);
            w1.stop();
            w2.stop();
            assertThat(w1.failure()).isNull();
            assertThat(w2.failure()).isNull();
            assertThat(w1.committedSamples() + w2.committedSamples()).isEqualTo(n);
            assertThat(w2.committedSamples()).as("the second worker did work").isPositive();
        }
        List<SliceRecord> slices = slices(kafka.bootstrapServers(), Set.of("eo-a", "eo-b"));
        assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(n);
        assertThat(slices).allMatch(s -> s.ranges().stream().allMatch(r -> r.topic().equals("calib." + s.stream())),
                "one stream per slice");
        Map<TopicPartition, Long> ends = new LinkedHashMap<>(ends(admin, "calib.eo-a", 3));
        ends.putAll(ends(admin, "calib.eo-b", 3));
        assertTiling(slices, ends);

        Map<BlockKey, ModuleStats> merged = mergedBlocks(kafka.bootstrapServers(), slices);
        List<int[]> all = new ArrayList<>(a);
        all.addAll(b);
        CalibrationStats ref = reference(tiny, all, 64, 100f);
        double err = maxRelativeError(merged, ref);
        System.out.println("exactly-once: " + slices.size() + " slices, max relative error vs direct = " + err);
        double perSlice = perSliceError(kafka.bootstrapServers(), tiny, slices, 64);
        System.out.println("exactly-once: per-slice max relative error = " + perSlice);
        assertThat(perSlice).isLessThan(1e-5);
        // float32 sums of 60 terms in a different order: ~1e-7 relative per addition
        assertThat(err).isLessThan(1e-5);
    }

    /** {@code n} random documents (vocabulary 64, up to 40 tokens) published to a new topic. */
    private static List<int[]> publishedDocs(String topic, int partitions, int n, long seed) throws Exception {
        List<int[]> docs = randomDocs(n, 64, 40, seed);
        createTopic(admin, topic, partitions);
        produceTokens(kafka.bootstrapServers(), topic, partitions, docs);
        return docs;
    }

    /** The workers (and their meters) one test starts, closed together. */
    private static final class Fleet implements AutoCloseable {
        private final List<Worker> workers = new ArrayList<>();
        private final List<GblmMetrics> meters = new ArrayList<>();
        private final AtomicBoolean crashed = new AtomicBoolean();

        Worker add(WorkerSettings settings) {
            GblmMetrics m = new GblmMetrics("worker");
            meters.add(m);
            Worker w = new Worker(settings, tiny, null, m);
            workers.add(w);
            return w;
        }

        /** Dies in its second slice's transaction: statistics, slice record and offsets sent, never committed. */
        Worker crashingInSecondSlice(WorkerSettings settings) {
            Worker w = add(settings);
            w.setFaults(seq -> {
                if (seq >= 2 && crashed.compareAndSet(false, true)) {
                    throw new Worker.SimulatedCrash("killed before commit of slice 2");
                }
            });
            return w;
        }

        void awaitCrash(Worker w) throws InterruptedException {
            await("crash", Duration.ofSeconds(60), crashed::get);
            await("crashed loop ended", Duration.ofSeconds(30), () -> !w.isRunning());
        }

        long committed() {
            return workers.stream().mapToLong(Worker::committedSamples).sum();
        }

        void awaitCommitted(long n) throws InterruptedException {
            await("all samples committed", Duration.ofSeconds(120), () -> committed() >= n);
        }

        GblmMetrics metersOf(Worker w) {
            return meters.get(workers.indexOf(w));
        }

        @Override
        public void close() {
            workers.forEach(Worker::close);
            meters.forEach(GblmMetrics::close);
        }
    }

    @Test
    void crashedAndKilledWorkersAreReplacedWithoutLosingOrDoublingSamples() throws Exception {
        int n = 72;
        List<int[]> docs = publishedDocs("calib.crash", 3, n, 3);
        try (Fleet fleet = new Fleet()) {
            Worker a = fleet.crashingInSecondSlice(config("crash-a", "crash"));
            Worker b = fleet.add(config("crash-b", "crash"));
            // a joins first and is assigned before b: the broker's initial rebalance delay is 0, so a b that joined
            // first could take every partition and finish them all before a ever opened a second slice
            a.start();
            assertThat(a.awaitAssignment(Duration.ofSeconds(60))).as("first worker assigned").isTrue();
            b.start();
            fleet.awaitCrash(a);
            long beforeKill = b.committedSamples();
            // b is killed abruptly too, between commits (its open slice is simply lost)
            b.kill();
            // replacements with the same ids: same transactional ids, so a's open transaction is aborted (fenced)
            Worker a2 = fleet.add(config("crash-a", "crash"));
            a2.start();
            Worker b2 = fleet.add(config("crash-b", "crash"));
            b2.start();
            fleet.awaitCommitted(n);
            a2.stop();
            b2.stop();
            assertThat(a2.failure()).isNull();
            assertThat(b2.failure()).isNull();
            assertThat(fleet.committed()).isEqualTo(n);
            System.out.println("crash: a committed " + a.committedSamples() + ", b " + beforeKill + "->"
                    + b.committedSamples() + ", a2 " + a2.committedSamples() + ", b2 " + b2.committedSamples());
        }
        List<SliceRecord> slices = slices(kafka.bootstrapServers(), Set.of("crash"));
        assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(n);
        Map<TopicPartition, Long> ends = ends(admin, "calib.crash", 3);
        assertThat(ends.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(n);
        assertTiling(slices, ends);
        Map<BlockKey, ModuleStats> merged = mergedBlocks(kafka.bootstrapServers(), slices);
        double err = maxRelativeError(merged, reference(tiny, docs, 64, 100f));
        System.out.println("crash: " + slices.size() + " slices, max relative error vs uninterrupted = " + err);
        assertThat(err).isLessThan(1e-5);
    }

    @Test
    void aWorkerTakingOverACrashedWorkersPartitionWaitsForItsOpenTransactionInsteadOfFailing() throws Exception {
        int n = 20;
        List<int[]> docs = publishedDocs("calib.orphan", 1, n, 7);
        try (Fleet fleet = new Fleet()) {
            // a's second slice's offsets stay pending on the group coordinator until its transaction is aborted
            Worker a = fleet.crashingInSecondSlice(config("orphan-a", "orphan"));
            a.start();
            fleet.awaitCrash(a);
            long committedBefore = a.committedSamples();
            // b's requests time out after 2 s: asking for its position at assignment used to fail the worker here,
            // long before the open transaction ends
            Worker b = fleet.add(builder("orphan-b", "orphan").consumerOverrides(Map.of(
                    ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000", ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500",
                    ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "2000")).build());
            b.start();
            assertThat(b.awaitAssignment(Duration.ofSeconds(60))).as("b assigned the orphaned partition").isTrue();
            Thread.sleep(8000);
            assertThat(b.failure()).as("b waits while a's transaction is open").isNull();
            assertThat(b.isRunning()).isTrue();
            assertThat(b.committedSamples()).as("nothing read past a's pending offsets").isZero();
            assertThat(waiting(fleet, b)).as("the gauge shows the unreadable partition").isEqualTo(1.0);
            // a's replacement (same transactional id) aborts the open transaction; b, owning the partition, goes on
            Worker a2 = fleet.add(config("orphan-a", "orphan"));
            a2.start();
            fleet.awaitCommitted(n);
            assertThat(waiting(fleet, b)).as("readable again").isZero();
            a2.stop();
            b.stop();
            assertThat(b.failure()).isNull();
            assertThat(a2.failure()).isNull();
            assertThat(fleet.committed()).isEqualTo(n);
            assertThat(committedBefore).isPositive();
        }
        List<SliceRecord> slices = slices(kafka.bootstrapServers(), Set.of("orphan"));
        assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(n);
        assertTiling(slices, ends(admin, "calib.orphan", 1));
        assertThat(maxRelativeError(mergedBlocks(kafka.bootstrapServers(), slices), reference(tiny, docs, 64, 100f)))
                .isLessThan(1e-5);
    }

    private static double waiting(Fleet fleet, Worker w) {
        return fleet.metersOf(w).meters().get("gblm.worker.partitions.waiting").gauge().value();
    }

    @Test
    void aLayerMajorWorkerSendsEachSliceLayerByLayerFromTheTopWithTheSameStatisticsThroughACrash() throws Exception {
        int n = 30;
        List<int[]> docs = publishedDocs("calib.layer", 2, n, 5);
        WorkerSettings layer = builder("layer-a", "layer").statsPass(StatsPass.LAYER).build();
        try (Fleet fleet = new Fleet()) {
            Worker auto = fleet.add(config("layer-auto", "layer"));
            assertThat(auto.statsPass()).as("auto on a small model").isEqualTo(StatsPass.MODEL);
            // dies in its second slice's transaction after the slice was computed and sent, before the commit
            Worker a = fleet.crashingInSecondSlice(layer);
            a.start();
            fleet.awaitCrash(a);
            Worker a2 = fleet.add(layer);
            a2.start();
            fleet.awaitCommitted(n);
            a2.stop();
            assertThat(a2.failure()).isNull();
            assertThat(fleet.committed()).isEqualTo(n);
            assertThat(fleet.metersOf(a2).meters().get("gblm.worker.sample").timer().count()).as("a time per sample")
                    .isEqualTo(a2.committedSamples());
        }
        List<SliceRecord> slices = slices(kafka.bootstrapServers(), Set.of("layer"));
        assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(n);
        assertTiling(slices, ends(admin, "calib.layer", 2));
        double err = maxRelativeError(mergedBlocks(kafka.bootstrapServers(), slices), reference(tiny, docs, 64, 100f));
        double perSlice = perSliceError(kafka.bootstrapServers(), tiny, slices, 64);
        System.out.println("layer-major worker: " + slices.size() + " slices, max relative error vs direct = " + err
                + ", per slice " + perSlice);
        assertThat(err).isLessThan(1e-5);
        assertThat(perSlice).isLessThan(1e-5);

        // sent layer by layer from the top: within a slice, every record of layer l was produced no later than any
        // of layer l-1 (producer timestamps, across the stats topic's partitions)
        Set<String> ids = new java.util.HashSet<>();
        slices.forEach(sl -> ids.add(sl.sliceId()));
        Map<String, Map<Integer, long[]>> times = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(kafka.bootstrapServers(), Topics.STATS.name())) {
            String id = header(r, Topics.HEADER_SLICE);
            if (ids.contains(id)) {
                int l = BlockKey.parse(new String(r.key(), StandardCharsets.UTF_8)).layer();
                long[] t = times.computeIfAbsent(id, k -> new HashMap<>()).computeIfAbsent(l,
                        k -> new long[] {Long.MAX_VALUE, Long.MIN_VALUE});
                t[0] = Math.min(t[0], r.timestamp());
                t[1] = Math.max(t[1], r.timestamp());
            }
        }
        assertThat(times.keySet()).isEqualTo(ids);
        int layers = tiny.config().numLayers();
        for (Map<Integer, long[]> t : times.values()) {
            assertThat(t.keySet()).hasSize(layers);
            for (int l = layers - 1; l > 0; l--) {
                assertThat(t.get(l)[1]).as("layer %d sent before layer %d", l, l - 1).isLessThanOrEqualTo(t.get(l - 1)[0]);
            }
        }
    }

    @Test
    void statisticsOfLargeMatricesAreSplitSoNoRecordExceedsTheLimit() throws Exception {
        // down_proj [256, 1024]: gradient sums alone are 2 x 1 MiB, twice the limit
        LlamaConfig c = new LlamaConfig(256, 1024, 1, 4, 4, 128, 64, 1e-5, 10000, true, 1, 2, "float32");
        Checkpoint big = RandomCheckpoints.uniform(c, 7);
        long limit = 1L << 20;
        createTopic(admin, "calib.big", 1);
        List<int[]> docs = randomDocs(5, 128, 30, 4);
        produceTokens(kafka.bootstrapServers(), "calib.big", 1, docs);
        try (GblmMetrics m = new GblmMetrics("worker");
                Worker w = new Worker(builder("big", "big").maxRecordBytes(limit).build(), big, null, m)) {
            w.start();
            await("committed", Duration.ofSeconds(120), () -> w.committedSamples() >= docs.size());
            w.stop();
            assertThat(w.failure()).isNull();
        }
        List<SliceRecord> slices = slices(kafka.bootstrapServers(), Set.of("big"));
        Set<String> ids = new java.util.HashSet<>();
        slices.forEach(s -> ids.add(s.sliceId()));
        int records = 0;
        Map<String, Integer> downBlocks = new HashMap<>();
        long largest = 0;
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(kafka.bootstrapServers(), Topics.STATS.name())) {
            if (!ids.contains(header(r, Topics.HEADER_SLICE))) {
                continue;
            }
            records++;
            largest = Math.max(largest, r.value().length);
            assertThat(r.value().length).isLessThanOrEqualTo((int) limit);
            BlockKey k = BlockKey.parse(new String(r.key(), StandardCharsets.UTF_8));
            if (k.module() == LinearKind.DOWN_PROJ) {
                downBlocks.merge(header(r, Topics.HEADER_SLICE), 1, Integer::sum);
            }
        }
        System.out.println("bounded: " + records + " records, largest value " + largest + " bytes (limit " + limit + ")");
        assertThat(records).isEqualTo(slices.stream().mapToInt(SliceRecord::blockCount).sum());
        assertThat(downBlocks.values()).allMatch(v -> v >= 3, "down_proj split into >= 3 blocks");
        double err = maxRelativeError(mergedBlocks(kafka.bootstrapServers(), slices), reference(big, docs, 64, 100f));
        assertThat(err).isLessThan(1e-5);
    }

    @Test
    void badSamplesGoToTheDeadLetterTopicWithReasonsAndGoodOnesAreAllCounted() throws Exception {
        Path model = TestData.require("models/stories260K.bin");
        Checkpoint ckpt = Checkpoints.load(model);
        Tokenizer tok = Tokenizers.load(model, TestData.require("models/tok512.bin"));
        createTopic(admin, "calib.bad", 2);
        List<byte[][]> kv = new ArrayList<>();
        List<String> formats = new ArrayList<>();
        String[] stories = {"Once upon a time there was a little dog.", "Lily liked to play in the park with her ball.",
            "The sun was warm and the birds sang.", "Tom found a red box under his bed.",
            "A cat sat on the mat and looked at the moon.", "They went home and had soup for dinner."};
        for (String s : stories) {
            add(kv, formats, SampleRecord.ofText(s).value(), "text");
        }
        add(kv, formats, "{\"text\": \"unterminated".getBytes(StandardCharsets.UTF_8), "text");
        add(kv, formats, "{\"text\": \"\"}".getBytes(StandardCharsets.UTF_8), "text");
        add(kv, formats, new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xff, (byte) 0xfe, '"', '}'}, "text");
        add(kv, formats, SampleRecord.ofTokens(new int[] {1}).value(), "tokens");
        add(kv, formats, SampleRecord.ofTokens(new int[] {1, 5, 512, 7}).value(), "tokens");
        add(kv, formats, SampleRecord.ofText("A fine story.").value(), "csv");
        for (String s : stories) {
            add(kv, formats, SampleRecord.ofText(s + " The end.").value(), "text");
        }
        produce(kafka.bootstrapServers(), "calib.bad", 2, kv, formats);
        int good = 2 * stories.length;
        Map<String, String> expected = Map.of("malformed-json", "malformed JSON", "empty-text", "empty",
                "not-utf8", "UTF-8", "too-few-tokens", "at least 2", "token-out-of-range", "vocabulary has 512",
                "format-mismatch", "csv");
        try (GblmMetrics m = new GblmMetrics("worker");
                Worker w = new Worker(builder("bad", "bad").seqLen(64).build(), ckpt, tok, m)) {
            w.start();
            await("good samples committed", Duration.ofSeconds(120), () -> w.committedSamples() >= good);
            await("rejects committed", Duration.ofSeconds(30), () -> expected.keySet().stream().allMatch(r ->
                    m.meters().find("gblm.worker.samples.rejected").tag("reason", r).counter() != null));
            w.stop();
            assertThat(w.failure()).isNull();
            for (String reason : expected.keySet()) {
                assertThat(m.meters().get("gblm.worker.samples.rejected").tag("stream", "bad").tag("reason", reason)
                        .counter().count()).as(reason).isEqualTo(1.0);
            }
            assertThat(m.meters().get("gblm.worker.samples.consumed").tag("stream", "bad").counter().count())
                    .isEqualTo(good);
            String scrape = m.registry().scrape();
            assertThat(scrape).contains("gblm_worker_samples_rejected_total{").contains("reason=\"not-utf8\"")
                    .contains("gblm_worker_sample_seconds_count").contains("gblm_worker_slice_flush_seconds")
                    .contains("gblm_worker_published_bytes_total").contains("kafka_producer_");
        }
        Map<String, ConsumerRecord<byte[], byte[]>> dlq = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(kafka.bootstrapServers(), Topics.DLQ.name())) {
            if ("calib.bad".equals(header(r, Topics.HEADER_SOURCE_TOPIC))) {
                dlq.put(header(r, Topics.HEADER_REASON_CODE), r);
            }
        }
        assertThat(dlq.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        expected.forEach((code, text) -> {
            ConsumerRecord<byte[], byte[]> r = dlq.get(code);
            assertThat(header(r, Topics.HEADER_REASON)).startsWith(code + ": ").contains(text);
            int p = Integer.parseInt(header(r, Topics.HEADER_SOURCE_PARTITION));
            long off = Long.parseLong(header(r, Topics.HEADER_SOURCE_OFFSET));
            // round-robin over 2 partitions: record i is at partition i%2, offset i/2
            int i = (int) (off * 2 + p);
            assertThat(r.value()).as(code).isEqualTo(kv.get(i)[1]);
        });
        List<SliceRecord> slices = slices(kafka.bootstrapServers(), Set.of("bad"));
        assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(good);
        assertThat(slices.stream().mapToLong(SliceRecord::rejected).sum()).isEqualTo(expected.size());
        assertTiling(slices, ends(admin, "calib.bad", 2));
    }

    private static void add(List<byte[][]> kv, List<String> formats, byte[] value, String format) {
        kv.add(new byte[][] {("bad-" + kv.size()).getBytes(StandardCharsets.UTF_8), value});
        formats.add(format);
    }
}
