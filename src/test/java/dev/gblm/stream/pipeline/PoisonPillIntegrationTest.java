package dev.gblm.stream.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.prune.Mask;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.worker.Worker;
import dev.gblm.stream.worker.WorkerSettings;
import dev.gblm.testing.StreamTestSupport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.search.Search;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One run of the whole pipeline fed every poison pill an operator has met: an oversized bad sample between good
 * ones, a worker configured beyond the model's context, field-less records on the finalizer's internal topics, a
 * CRC-valid mask block with a wrong row range, and a forged epoch record whose job id climbs out of the output
 * directory. Nothing may stall, loop or escape: slices commit without aborts, every offset is accounted for, the
 * finalizer never loses a thread, the exporter keeps exporting, and nothing is written outside OUT.
 */
class PoisonPillIntegrationTest {
    static EmbeddedKafka kafka;
    static Checkpoint tiny;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.builder().build().start();
        tiny = Checkpoints.load(StreamTestSupport.TINY);
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    @Test
    void poisonPillsNeitherStallNorEscape(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("root");
        Path out = root.resolve("out");
        Files.createDirectories(out);
        String stream = "pp";
        String topic = Topics.calibrationTopic(stream);
        PipelineSettings settings = PipelineSettings.builder(StreamTestSupport.TINY, out).kafka(kafka.clientSettings())
                .metricsPort(0).workers(1).samplesPerSlice(6).maxSliceAge(Duration.ofSeconds(1)).instance("pp")
                .progress(null).build();
        try (Pipeline p = new Pipeline(settings).start()) {
            // a worker whose samples could never fit the model is refused before it consumes anything
            int context = tiny.config().maxPositionEmbeddings();
            assertThatThrownBy(() -> new Worker(WorkerSettings.builder(p.kafka(), "too-long").seqLen(context + 1).build(),
                    tiny, null, new GblmMetrics("worker"))).isInstanceOf(GblmException.class)
                    .hasMessageContaining(Integer.toString(context));

            try (TopicAdmin admin = TopicAdmin.connect(p.kafka())) {
                admin.ensure(TopicCatalog.fromClasspath().calibrationTopic(stream));
            }
            List<int[]> good = StreamTestSupport.randomDocs(24, tiny.config().vocabSize(), 20, 7);
            List<int[]> more = StreamTestSupport.randomDocs(24, tiny.config().vocabSize(), 20, 8);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Ingestor.producerProperties(p.kafka()))) {
                // all on partition 0, so the bad sample sits between good ones of the same slice
                for (int i = 0; i < good.size(); i++) {
                    if (i == good.size() / 2) {
                        producer.send(sample(topic, SampleRecord.ofTokens(oversizedOutOfRange())));
                    }
                    producer.send(sample(topic, SampleRecord.ofTokens(good.get(i))));
                }
                // field-less records on the finalizer's internal topics
                producer.send(new ProducerRecord<>(Topics.ACKS.name(), p.profile().id().getBytes(StandardCharsets.UTF_8),
                        "{}".getBytes(StandardCharsets.UTF_8)));
                producer.send(new ProducerRecord<>(Topics.FINALIZE.name(),
                        (p.profile().id() + "/0/q_proj/0").getBytes(StandardCharsets.UTF_8),
                        "{\"type\":\"FINALIZE\",\"sliceIds\":[\"x\"]}".getBytes(StandardCharsets.UTF_8)));
                // a CRC-valid mask block for the real job's first block, with a wrong row range, before the real one
                producer.send(new ProducerRecord<>(Topics.MASKS.name(), null,
                        MaskBlock.key("pp-wanda", 1, 0, LinearKind.Q_PROJ, 0).getBytes(StandardCharsets.UTF_8),
                        new MaskBlock(0, LinearKind.Q_PROJ, 0, 1, new Mask(1, 48)).encode(),
                        List.of(new RecordHeader(Topics.HEADER_EPOCH, "1".getBytes(StandardCharsets.UTF_8)))));
                // a forged epoch whose job id leaves OUT, with no blocks: "complete" with nothing to wait for
                producer.send(new ProducerRecord<>(Topics.EPOCHS.name(), "../../x".getBytes(StandardCharsets.UTF_8),
                        ("{\"job\":\"../../x\",\"epoch\":1,\"profile\":\"" + p.profile().id()
                                + "\",\"spec\":{\"id\":\"../../x\"},\"sliceIds\":[],\"blocks\":[]}")
                                .getBytes(StandardCharsets.UTF_8)));
                producer.flush();
            }
            p.submit(new JobSpec("pp-wanda", "0000000000000000", List.of(stream), "wanda", 0.5, "unstructured", null,
                    null, good.size(), 0, 0));
            assertThat(p.awaitFirstEpochs(Duration.ofMinutes(3))).as("the job is exported despite the poison pills").isTrue();
            // the exporter still runs: a job submitted afterwards, fed with new samples (the first job's slices are
            // retired once its epoch is final), exports too
            p.submit(new JobSpec("pp-after", "0000000000000000", List.of(stream), "magnitude", 0.5, "2:4", null, null,
                    good.size(), 0, 0));
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Ingestor.producerProperties(p.kafka()))) {
                for (int[] doc : more) {
                    producer.send(sample(topic, SampleRecord.ofTokens(doc)));
                }
            }
            assertThat(p.awaitFirstEpochs(Duration.ofMinutes(3))).as("a later job is exported").isTrue();

            assertThat(count(p, "gblm.worker.slices.aborted")).as("aborted slice transactions").isZero();
            assertThat(count(p, "gblm.finalizer.thread.failures")).as("finalizer stream-thread failures").isZero();
            try (Admin admin = Admin.create(p.kafka().admin("pp-test"))) {
                Map<TopicPartition, Long> ends = StreamTestSupport.ends(admin, topic, 3);
                ends.entrySet().removeIf(e -> e.getValue() == 0);
                List<SliceRecord> slices = StreamTestSupport.slices(p.bootstrapServers(), Set.of(stream));
                StreamTestSupport.assertTiling(slices, ends);
                assertThat(slices.stream().mapToLong(SliceRecord::samples).sum()).isEqualTo(good.size() + more.size());
                assertThat(slices.stream().mapToLong(SliceRecord::rejected).sum()).isEqualTo(1);
            }
            List<String> reasons = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : StreamTestSupport.readCommitted(p.bootstrapServers(), Topics.DLQ.name())) {
                String reason = StreamTestSupport.header(r, Topics.HEADER_REASON);
                reasons.add(reason == null ? "?" : reason.substring(0, Math.max(0, reason.indexOf(':'))));
                assertThat(r.value() == null ? 0 : r.value().length).as("dead letters fit a record").isLessThan(1 << 20);
            }
            assertThat(reasons).contains("token-out-of-range", "invalid-ack", "invalid-instruction");

            String health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(p.metricsServer().url() + "/health")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(health).as("every service healthy at the end").doesNotContain("\"DOWN\"");
        }
        try (Stream<Path> s = Files.list(root)) {
            assertThat(s.map(f -> f.getFileName().toString()).toList()).as("nothing outside OUT").containsExactly("out");
        }
        assertThat(tmp.resolve("x")).doesNotExist();
        assertThat(root.getParent().getParent().resolve("x")).doesNotExist();
        try (Stream<Path> s = Files.list(out)) {
            assertThat(s.map(f -> f.getFileName().toString()).toList()).containsExactlyInAnyOrder("pp-wanda", "pp-after");
        }
    }

    /** About 1.5 MB of token ids the model does not have: rejected by the worker, bigger than its producer's limit. */
    private static int[] oversizedOutOfRange() {
        int[] t = new int[220_000];
        java.util.Arrays.fill(t, 100_000);
        return t;
    }

    private static ProducerRecord<byte[], byte[]> sample(String topic, SampleRecord s) {
        return new ProducerRecord<>(topic, 0, s.key(), s.value(),
                List.of(new RecordHeader(Topics.HEADER_FORMAT, s.format().getBytes(StandardCharsets.UTF_8))));
    }

    private static double count(Pipeline p, String name) {
        return Search.in(p.metrics().meters()).name(name).counters().stream().mapToDouble(Counter::count).sum();
    }
}
