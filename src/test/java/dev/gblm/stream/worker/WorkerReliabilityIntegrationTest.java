package dev.gblm.stream.worker;

import static dev.gblm.testing.StreamTestSupport.await;
import static dev.gblm.testing.StreamTestSupport.ends;
import static dev.gblm.testing.StreamTestSupport.fastGroup;
import static dev.gblm.testing.StreamTestSupport.header;
import static dev.gblm.testing.StreamTestSupport.produce;
import static dev.gblm.testing.StreamTestSupport.produceTokens;
import static dev.gblm.testing.StreamTestSupport.randomDocs;
import static dev.gblm.testing.StreamTestSupport.readCommitted;
import static dev.gblm.testing.StreamTestSupport.slices;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.Health;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.testing.EmbeddedKafkaExtension;
import dev.gblm.testing.StreamTestSupport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The worker's failure modes that used to stop all progress, on a real embedded broker: a rejected sample too large
 * for the worker's producer, a slice that takes longer than {@code max.poll.interval.ms}, and slice transactions that
 * keep aborting (which must show on {@code /health}). Each test has its own stream and group.
 */
class WorkerReliabilityIntegrationTest {
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    static Checkpoint tiny;

    @BeforeAll
    static void topics() {
        try (TopicAdmin ta = new TopicAdmin(KAFKA.admin())) {
            TopicCatalog cat = TopicCatalog.load(Path.of("topics"));
            for (String t : List.of(Topics.STATS.name(), Topics.SLICES.name(), Topics.DLQ.name())) {
                assertThat(ta.ensure(cat.get(t)).healthy()).isTrue();
            }
        }
        tiny = Checkpoints.load(StreamTestSupport.TINY);
    }

    /** A calibration topic as the catalog defines it: documents up to 4 MiB. */
    static void calibrationTopic(String name, int partitions) throws Exception {
        KAFKA.admin().createTopics(List.of(new NewTopic(name, partitions, (short) 1)
                .configs(Map.of("max.message.bytes", Integer.toString(4 << 20))))).all().get();
    }

    static WorkerSettings.Builder builder(String id, String stream) {
        return WorkerSettings.builder(KAFKA.broker().clientSettings(), id).groupId("g-" + stream)
                .topics(Pattern.compile(Pattern.quote("calib." + stream))).consumerOverrides(fastGroup());
    }

    static double aborted(GblmMetrics m) {
        return m.meters().get("gblm.worker.slices.aborted").counter().count();
    }

    static double gauge(GblmMetrics m, String name, String worker) {
        return m.meters().get(name).tag("worker", worker).gauge().value();
    }

    @Test
    void aRejectedSampleTooLargeForTheWorkersRequestsIsDeadLetteredTruncatedAndTheSliceCommits() throws Exception {
        String topic = "calib.rel-big";
        calibrationTopic(topic, 1);
        // 1.5 MB of token ids beyond the vocabulary: accepted by ingest (4 MiB), rejected by the worker, and larger
        // than the worker producer's max.request.size (~1.06 MiB)
        int[] bad = new int[215_000];
        Arrays.fill(bad, 100_000);
        bad[0] = 1;
        byte[] badValue = SampleRecord.ofTokens(bad).value();
        assertThat(badValue.length).isGreaterThan(1_500_000);
        List<int[]> good = randomDocs(2, 64, 30, 11);
        List<byte[][]> kv = new ArrayList<>();
        kv.add(new byte[][] {"good-0".getBytes(StandardCharsets.UTF_8), SampleRecord.ofTokens(good.get(0)).value()});
        kv.add(new byte[][] {"bad-1".getBytes(StandardCharsets.UTF_8), badValue});
        kv.add(new byte[][] {"good-2".getBytes(StandardCharsets.UTF_8), SampleRecord.ofTokens(good.get(1)).value()});
        produce(KAFKA.bootstrapServers(), topic, 1, kv, List.of("tokens", "tokens", "tokens"));

        try (GblmMetrics m = new GblmMetrics("worker");
                Worker w = new Worker(builder("rel-big", "rel-big").samplesPerSlice(7)
                        .maxSliceAge(Duration.ofSeconds(2)).build(), tiny, null, m)) {
            w.start();
            await("both good samples committed", Duration.ofSeconds(90), () -> w.committedSamples() >= 2);
            w.stop();
            assertThat(w.failure()).isNull();
            assertThat(aborted(m)).as("aborted slice transactions").isZero();
            assertThat(m.meters().get("gblm.worker.samples.rejected").tag("reason", "token-out-of-range").counter()
                    .count()).isEqualTo(1.0);
        }
        List<ConsumerRecord<byte[], byte[]>> dlq = deadLetters(topic);
        assertThat(dlq).hasSize(1);
        ConsumerRecord<byte[], byte[]> d = dlq.get(0);
        assertThat(header(d, Topics.HEADER_REASON_CODE)).isEqualTo("token-out-of-range");
        assertThat(header(d, Topics.HEADER_SOURCE)).isEqualTo(topic + "-0@1");
        assertThat(header(d, DeadLetters.HEADER_SIZE)).isEqualTo(Integer.toString(badValue.length));
        assertThat(header(d, DeadLetters.HEADER_TRUNCATED)).isEqualTo("value");
        assertThat(d.value()).isEqualTo(Arrays.copyOf(badValue, DeadLetters.MAX_VALUE_BYTES));
        assertThat(new String(d.key(), StandardCharsets.UTF_8)).isEqualTo("bad-1");

        List<SliceRecord> slices = slices(KAFKA.bootstrapServers(), Set.of("rel-big"));
        assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(2);
        assertTilingWithDeadLetters(slices, dlq, ends(KAFKA.admin(), topic, 1));
    }

    @Test
    void aSliceTakingLongerThanTheMaxPollIntervalCommitsWithoutAnAbort() throws Exception {
        String topic = "calib.rel-slow";
        calibrationTopic(topic, 1);
        int n = 12;
        produceTokens(KAFKA.bootstrapServers(), topic, 1, randomDocs(n, 64, 30, 12));
        Map<String, String> consumer = new HashMap<>(fastGroup());
        consumer.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, "1500");
        // one slice of all 12 samples, closed on count only; at >= 250 ms a sample it takes >= 3 s, twice the
        // poll interval (the worker used to poll once per slice and was expelled from the group, forever)
        try (GblmMetrics m = new GblmMetrics("worker");
                Worker w = new Worker(builder("rel-slow", "rel-slow").samplesPerSlice(n).maxSliceAge(Duration.ofMinutes(5))
                        .consumerOverrides(consumer).build(), tiny, null, m)) {
            w.setFaults(new Worker.Faults() {
                @Override
                public void beforeCommit(long sliceSeq) {}

                @Override
                public void afterSample(TopicPartition tp, long offset) {
                    try {
                        Thread.sleep(250);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            w.start();
            await("the slow slice committed", Duration.ofSeconds(120), () -> w.committedSamples() >= n);
            w.stop();
            assertThat(w.failure()).isNull();
            assertThat(aborted(m)).as("aborted slice transactions").isZero();
            assertThat(w.committedSamples()).isEqualTo(n);
        }
        List<SliceRecord> slices = slices(KAFKA.bootstrapServers(), Set.of("rel-slow"));
        assertThat(slices).hasSize(1);
        assertThat(slices.get(0).samples()).isEqualTo(n);
        StreamTestSupport.assertTiling(slices, ends(KAFKA.admin(), topic, 1));
    }

    @Test
    void healthIsDownWhileSliceTransactionsKeepAbortingAndUpAgainAfterACommit() throws Exception {
        String topic = "calib.rel-health";
        calibrationTopic(topic, 1);
        int n = 4;
        produceTokens(KAFKA.bootstrapServers(), topic, 1, randomDocs(n, 64, 30, 13));
        AtomicBoolean failing = new AtomicBoolean(true);
        try (GblmMetrics m = new GblmMetrics("worker");
                Worker w = new Worker(builder("rel-health", "rel-health").samplesPerSlice(n)
                        .maxSliceAge(Duration.ofSeconds(1)).build(), tiny, null, m)) {
            w.setFaults(seq -> {
                if (failing.get()) {
                    throw new KafkaException("injected abortable error for slice " + seq);
                }
            });
            w.start();
            await("repeated aborts", Duration.ofSeconds(90),
                    () -> w.consecutiveAborts() >= Worker.UNHEALTHY_AFTER_ABORTS);
            Health down = w.health();
            assertThat(down.up()).isFalse();
            assertThat(down.detail()).contains("makes no progress", "slice transactions were aborted",
                    "injected abortable error");
            assertThat(m.health().get(w.name()).up()).as("what /health serves").isFalse();
            assertThat(gauge(m, "gblm.worker.up", "rel-health")).isZero();
            assertThat(gauge(m, "gblm.worker.slices.aborted.consecutive", "rel-health"))
                    .isGreaterThanOrEqualTo(Worker.UNHEALTHY_AFTER_ABORTS);
            assertThat(w.isRunning()).as("a transient cause is not fatal").isTrue();

            failing.set(false);
            await("committed once the cause is gone", Duration.ofSeconds(60), () -> w.committedSamples() >= n);
            assertThat(w.health().up()).isTrue();
            assertThat(w.consecutiveAborts()).isZero();
            assertThat(gauge(m, "gblm.worker.up", "rel-health")).isEqualTo(1.0);
            assertThat(gauge(m, "gblm.worker.slices.aborted.consecutive", "rel-health")).isZero();
            assertThat(aborted(m)).isGreaterThanOrEqualTo(Worker.UNHEALTHY_AFTER_ABORTS);
            assertThat(m.registry().scrape()).contains("gblm_worker_up{", "gblm_worker_slices_aborted_consecutive{");
            w.stop();
            assertThat(w.failure()).isNull();
            assertThat(w.committedSamples()).as("aborted slices were recomputed, not lost or doubled").isEqualTo(n);
        }
        StreamTestSupport.assertTiling(slices(KAFKA.bootstrapServers(), Set.of("rel-health")),
                ends(KAFKA.admin(), topic, 1));
    }

    @Test
    void aFailedWorkerIsDown() throws Exception {
        String topic = "calib.rel-fail";
        calibrationTopic(topic, 1);
        produceTokens(KAFKA.bootstrapServers(), topic, 1, randomDocs(2, 64, 30, 14));
        try (GblmMetrics m = new GblmMetrics("worker");
                Worker w = new Worker(builder("rel-fail", "rel-fail").samplesPerSlice(2).build(), tiny, null, m)) {
            // outside any transaction, so no open transaction is left behind to hold back read_committed readers
            w.setFaults(new Worker.Faults() {
                @Override
                public void beforeCommit(long sliceSeq) {}

                @Override
                public void afterSample(TopicPartition tp, long offset) {
                    throw new IllegalStateException("injected bug");
                }
            });
            w.start();
            await("the loop ended", Duration.ofSeconds(60), () -> !w.isRunning());
            assertThat(w.failure()).hasMessage("injected bug");
            assertThat(w.health().up()).isFalse();
            assertThat(w.health().detail()).contains("failed", "injected bug");
            assertThat(gauge(m, "gblm.worker.up", "rel-fail")).isZero();
        }
    }

    /** The committed dead letters whose source is {@code topic}. */
    static List<ConsumerRecord<byte[], byte[]>> deadLetters(String topic) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(KAFKA.bootstrapServers(), Topics.DLQ.name())) {
            if (topic.equals(header(r, Topics.HEADER_SOURCE_TOPIC))) {
                out.add(r);
            }
        }
        return out;
    }

    /**
     * Every offset of every partition is covered exactly once: by a slice's ranges, or, for rejects committed in a
     * dead-letter-only transaction, by its dead letter's source offset. A dead letter inside a slice's range must be
     * counted by that slice.
     */
    static void assertTilingWithDeadLetters(List<SliceRecord> slices, List<ConsumerRecord<byte[], byte[]>> dlq,
            Map<TopicPartition, Long> ends) {
        Map<TopicPartition, List<long[]>> ranges = new HashMap<>();
        for (SliceRecord s : slices) {
            for (OffsetRange r : s.ranges()) {
                ranges.computeIfAbsent(new TopicPartition(r.topic(), r.partition()), k -> new ArrayList<>())
                        .add(new long[] {r.fromInclusive(), r.toExclusive()});
            }
        }
        Set<String> seen = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> d : dlq) {
            TopicPartition tp = new TopicPartition(header(d, Topics.HEADER_SOURCE_TOPIC),
                    Integer.parseInt(header(d, Topics.HEADER_SOURCE_PARTITION)));
            long off = Long.parseLong(header(d, Topics.HEADER_SOURCE_OFFSET));
            assertThat(seen.add(tp + "@" + off)).as("one dead letter per offset").isTrue();
            List<long[]> rs = ranges.computeIfAbsent(tp, k -> new ArrayList<>());
            if (rs.stream().noneMatch(r -> r[0] <= off && off < r[1])) {
                rs.add(new long[] {off, off + 1});
            }
        }
        StreamTestSupport.assertRangesTile(ranges, ends);
    }
}
