package dev.gblm.stream.exporter;

import static dev.gblm.stream.exporter.ExporterPiecesTest.blocksOf;
import static dev.gblm.stream.exporter.ExporterPiecesTest.ckpt;
import static dev.gblm.stream.exporter.ExporterPiecesTest.key;
import static dev.gblm.stream.exporter.ExporterPiecesTest.randomMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.readMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.record;
import static dev.gblm.testing.StreamTestSupport.await;
import static dev.gblm.testing.StreamTestSupport.header;
import static dev.gblm.testing.StreamTestSupport.readCommitted;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.Topics;
import dev.gblm.testing.EmbeddedKafkaExtension;
import dev.gblm.testing.StreamTestSupport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exporter service on a real embedded broker: bad records go to gblm.dlq in the exporter's transaction and
 * never stop it or its epoch; the committed offsets pass them (no replay loop); health tells when it cannot
 * export. Uses the tiny fixture model and the fixtures of {@link ExporterPiecesTest}.
 */
class ExporterKafkaTest {
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    @BeforeAll
    static void setUp() {
        ExporterPiecesTest.load();
        KAFKA.createTopics();
    }

    /** Sends raw records; returns where each landed as {@code topic-partition@offset}. */
    static List<String> send(List<ProducerRecord<byte[], byte[]>> records) throws Exception {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("bootstrap.servers", KAFKA.bootstrapServers());
        List<String> out = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (ProducerRecord<byte[], byte[]> r : records) {
                RecordMetadata m = producer.send(r).get();
                out.add(m.topic() + "-" + m.partition() + "@" + m.offset());
            }
        }
        return out;
    }

    static ProducerRecord<byte[], byte[]> mask(String key, byte[] value, String finalizer, int partition) {
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(Topics.MASKS.name(), partition, utf8(key), value);
        r.headers().add(Topics.HEADER_EPOCH, utf8("1"));
        if (finalizer != null) {
            r.headers().add(new RecordHeader(Topics.HEADER_FINALIZER, utf8(finalizer)));
        }
        return r;
    }

    static ProducerRecord<byte[], byte[]> epoch(String key, byte[] value) {
        return new ProducerRecord<>(Topics.EPOCHS.name(), 0, utf8(key), value);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static Exporter exporter(Path out, String group, GblmMetrics metrics, List<ModelReady> ready) {
        return new Exporter(ExporterSettings.builder(KafkaSettings.of(KAFKA.bootstrapServers()), out).groupId(group).build(),
                ckpt, metrics).onModelReady(ready::add);
    }

    @Test
    void badBlocksAndRecordsGoToTheDlqWithTheOffsetsAndTheEpochIsStillExported(@TempDir Path tmp) throws Exception {
        String job = "kafka-bad-input";
        Map<ModuleKey, Mask> masks = randomMasks(50);
        List<MaskBlock> blocks = blocksOf(masks);
        MaskBlock first = blocks.get(0);
        MaskBlock forged = new MaskBlock(first.layer(), first.module(), first.rowStart(), first.rowEnd() - 1,
                new Mask(first.rowEnd() - 1 - first.rowStart(), first.mask().cols()));
        byte[] corrupt = blocks.get(2).encode();
        corrupt[40] ^= 1;
        byte[] traversal = ("{\"job\": \"../../x\", \"epoch\": 1, \"profile\": \"" + ExporterPiecesTest.profile.id()
                + "\", \"blocks\": [], \"sliceIds\": [\"s\"]}").getBytes(StandardCharsets.UTF_8);

        // the bad ones first, so that before this fix the forged block won its slot and crashed the exporter
        Map<String, ProducerRecord<byte[], byte[]>> bad = new LinkedHashMap<>();
        bad.put("wrong-shape", mask(key(job, 1, forged), forged.encode(), "fin-a", 0));
        bad.put("foreign-finalizer", mask(key(job, 1, blocks.get(1)), blocksOf(randomMasks(51)).get(1).encode(), "fin-b", 1));
        bad.put("corrupt-mask-block", mask(key(job, 1, blocks.get(2)), corrupt, "fin-a", 2));
        bad.put("invalid-epoch-record", epoch("../../x", traversal));
        List<String> badSources = send(new ArrayList<>(bad.values()));
        List<ProducerRecord<byte[], byte[]>> good = new ArrayList<>();
        good.add(epoch(job, Json.write(record(job, 1, "fin-a"))));
        for (int i = 0; i < blocks.size(); i++) {
            good.add(mask(key(job, 1, blocks.get(i)), blocks.get(i).encode(), "fin-a", i % 6));
        }
        send(good);
        ProducerRecord<byte[], byte[]> conflicting = epoch(job, Json.write(record(job, 1, "fin-b")));
        String conflictingSource = send(List.of(conflicting)).get(0);

        Path out = tmp.resolve("out");
        List<ModelReady> ready = new CopyOnWriteArrayList<>();
        try (GblmMetrics metrics = new GblmMetrics("exporter"); Exporter x = exporter(out, "bad-input", metrics, ready)) {
            x.start();
            await("the epoch's export", TIMEOUT, () -> ready.stream().anyMatch(m -> m.job().equals(job)) || x.failure() != null);
            assertThat(x.failure()).isNull();
            ModelReady m = ready.stream().filter(r -> r.job().equals(job)).findFirst().orElseThrow();
            assertThat(m.written()).isTrue();
            assertThat(readMasks(Path.of(m.path()))).isEqualTo(masks);

            Set<String> ours = new HashSet<>(badSources);
            ours.add(conflictingSource);
            await("5 dead letters", TIMEOUT, () -> deadLetters(ours).size() >= 5);
            List<ConsumerRecord<byte[], byte[]>> dead = deadLetters(ours);
            assertThat(dead).as("each exactly once").hasSize(5);
            List<String> reasons = new ArrayList<>(bad.keySet());
            reasons.add("conflicting-epoch");
            List<ProducerRecord<byte[], byte[]>> originals = new ArrayList<>(bad.values());
            originals.add(conflicting);
            List<String> sources = new ArrayList<>(badSources);
            sources.add(conflictingSource);
            for (int i = 0; i < reasons.size(); i++) {
                String source = sources.get(i);
                ConsumerRecord<byte[], byte[]> d = dead.stream().filter(r -> source.equals(header(r, Topics.HEADER_SOURCE)))
                        .findFirst().orElseThrow();
                assertThat(header(d, Topics.HEADER_REASON)).as(source).startsWith(reasons.get(i) + ": ");
                assertThat(d.key()).isEqualTo(originals.get(i).key());
                assertThat(d.value()).isEqualTo(originals.get(i).value());
                assertThat(metrics.meters().get("gblm.exporter.rejected").tag("reason", reasons.get(i)).counter().count())
                        .as(reasons.get(i)).isEqualTo(1);
            }
            assertThat(header(dead.stream().filter(r -> sources.get(1).equals(header(r, Topics.HEADER_SOURCE))).findFirst()
                    .orElseThrow(), Topics.HEADER_FINALIZER)).isEqualTo("fin-b");

            // the group's offsets pass every record, the bad ones included: a restart replays nothing
            await("offsets committed to the end", TIMEOUT, () -> committedToTheEnd("bad-input"));
            assertThat(x.health().up()).as(x.health().detail()).isTrue();
            assertThat(x.isRunning()).isTrue();
        }
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s.map(p -> tmp.relativize(p).toString())).noneMatch(p -> p.equals("x") || p.startsWith("x/"))
                    .allMatch(p -> p.isEmpty() || p.startsWith("out"));
        }
    }

    @Test
    void healthIsDownWhileAnEpochCannotBeWrittenAndUpAgainOnceItIs(@TempDir Path tmp) throws Exception {
        String job = "kafka-health";
        Map<ModuleKey, Mask> masks = randomMasks(52);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        records.add(epoch(job, Json.write(record(job, 1, "fin-a"))));
        List<MaskBlock> blocks = blocksOf(masks);
        for (int i = 0; i < blocks.size(); i++) {
            records.add(mask(key(job, 1, blocks.get(i)), blocks.get(i).encode(), "fin-a", i % 6));
        }
        send(records);
        Path out = tmp.resolve("out");
        Files.createDirectories(out.resolve(job));
        Path blocker = Files.writeString(out.resolve(job).resolve("epoch-1"), "a file where the export should go");

        List<ModelReady> ready = new CopyOnWriteArrayList<>();
        try (GblmMetrics metrics = new GblmMetrics("exporter"); Exporter x = exporter(out, "health", metrics, ready)) {
            x.start();
            await("health down", TIMEOUT, () -> !x.health().up() || x.failure() != null);
            assertThat(x.failure()).isNull();
            assertThat(x.health().detail()).contains("cannot export epoch " + job + "/1").contains("is a file");
            assertThat(metrics.health().get("exporter").up()).isFalse();
            assertThat(metrics.meters().get("gblm.exporter.up").gauge().value()).isZero();
            assertThat(metrics.meters().get("gblm.exporter.export.failures").counter().count())
                    .isGreaterThanOrEqualTo(EpochExports.FAILURES_BEFORE_DOWN);
            assertThat(ready).noneMatch(m -> m.job().equals(job));

            Files.delete(blocker);
            await("the export after the obstacle is gone", TIMEOUT, () -> ready.stream().anyMatch(m -> m.job().equals(job)));
            await("health up", TIMEOUT, () -> x.health().up());
            assertThat(metrics.meters().get("gblm.exporter.up").gauge().value()).isEqualTo(1);
            assertThat(readMasks(EpochExports.epochDir(out, job, 1))).isEqualTo(masks);
        }
    }

    private static List<ConsumerRecord<byte[], byte[]>> deadLetters(Set<String> sources) {
        return readCommitted(KAFKA.bootstrapServers(), Topics.DLQ.name()).stream()
                .filter(r -> sources.contains(header(r, Topics.HEADER_SOURCE))).toList();
    }

    private static boolean committedToTheEnd(String group) {
        try {
            Map<TopicPartition, OffsetAndMetadata> committed = KAFKA.admin().listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get();
            for (String topic : List.of(Topics.EPOCHS.name(), Topics.MASKS.name())) {
                int partitions = KAFKA.admin().describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
                for (Map.Entry<TopicPartition, Long> e : StreamTestSupport.ends(KAFKA.admin(), topic, partitions).entrySet()) {
                    OffsetAndMetadata c = committed.get(e.getKey());
                    long at = c == null ? 0 : c.offset();
                    if (at != e.getValue()) {
                        return false;
                    }
                }
            }
            return true;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
