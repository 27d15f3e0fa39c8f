package dev.gblm.stream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.ops.GblmMetrics;
import dev.gblm.stream.SampleRecord;
import dev.gblm.testing.EmbeddedKafkaExtension;
import dev.gblm.testing.GblmCli;
import dev.gblm.testing.StreamTestSupport;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Re-running an ingest publishes nothing new: documents whose key is already in the topic are not sent again. */
class IngestIdempotencyIntegrationTest {
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @TempDir
    Path dir;

    static List<ConsumerRecord<byte[], byte[]>> records(String topic) {
        return StreamTestSupport.readCommitted(KAFKA.bootstrapServers(), topic);
    }

    @Test
    void ingestingTheSameFileTwicePublishesNothingTheSecondTimeUnlessForced() throws Exception {
        // three documents, the first one twice
        Path f = Files.writeString(dir.resolve("docs.txt"),
                "The cat sat.\n\nA dog ran home.\n\nThe cat sat.\n\nBirds sang all day.\n");
        String[] cmd = {"ingest", "--stream", "idem", "--file", f.toString(), "--bootstrap-servers",
            KAFKA.bootstrapServers(), "--topics", "topics"};

        GblmCli.Run first = GblmCli.gblm(cmd);
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).contains("ingested 3 documents").contains("1 already present");
        assertThat(records("calib.idem")).hasSize(3);

        GblmCli.Run again = GblmCli.gblm(cmd);
        assertThat(again.exit()).as("nothing new is not an error: " + again.err()).isZero();
        assertThat(again.out()).contains("ingested 0 documents (0 B) into calib.idem, 4 already present");
        assertThat(again.err()).contains("calib.idem already holds 3 document key(s)");
        assertThat(records("calib.idem")).hasSize(3);

        String[] forced = Arrays.copyOf(cmd, cmd.length + 1);
        forced[cmd.length] = "--force";
        GblmCli.Run force = GblmCli.gblm(forced);
        assertThat(force.exit()).as(force.err()).isZero();
        assertThat(force.out()).contains("ingested 4 documents").doesNotContain("already present");
        assertThat(records("calib.idem")).hasSize(7);
    }

    @Test
    void aSecondIngestOfAGrownFilePublishesOnlyTheNewDocumentsAndCountsTheRestInItsMeter() throws Exception {
        String topic = "calib.idem-api";
        KAFKA.admin().createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
        String v1 = "{\"text\":\"one\"}\n{\"tokens\":[1,2,3]}\n{\"id\":\"custom\",\"text\":\"three\"}\n";
        String v2 = v1 + "{\"text\":\"four\"}\n";
        IngestSummary s1 = ingest(v1);
        assertThat(s1.documents()).isEqualTo(3);
        assertThat(s1.alreadyPresent()).isZero();

        try (GblmMetrics m = new GblmMetrics("ingest");
                Producer<byte[], byte[]> p = new KafkaProducer<>(Ingestor.producerProperties(KAFKA.broker().clientSettings()));
                InputStream in = new ByteArrayInputStream(v2.getBytes(StandardCharsets.UTF_8))) {
            TopicKeys keys = TopicKeys.read(KAFKA.broker().clientSettings(), topic, Duration.ofSeconds(60));
            assertThat(keys.size()).isEqualTo(3);
            assertThat(keys.contains("custom".getBytes(StandardCharsets.UTF_8))).isTrue();
            IngestSummary s2 = new Ingestor(p, "idem-api", m.meters(), null, keys).ingest(in, DocumentReader.Format.JSONL);
            assertThat(s2.documents()).isEqualTo(1);
            assertThat(s2.alreadyPresent()).isEqualTo(3);
            assertThat(s2.describe()).startsWith("ingested 1 documents").contains(", 3 already present");
            assertThat(m.meters().get("gblm.ingest.already.present").tag("stream", "idem-api").counter().count())
                    .isEqualTo(3.0);
        }
        List<ConsumerRecord<byte[], byte[]>> got = records(topic);
        assertThat(got).hasSize(4);
        assertThat(got.stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)))
                .containsExactlyInAnyOrder(SampleRecord.ofText("one").id(), SampleRecord.ofTokens(new int[] {1, 2, 3}).id(),
                        "custom", SampleRecord.ofText("four").id());
    }

    private static IngestSummary ingest(String jsonl) throws Exception {
        String topic = "calib.idem-api";
        try (GblmMetrics m = new GblmMetrics("ingest");
                Producer<byte[], byte[]> p = new KafkaProducer<>(Ingestor.producerProperties(KAFKA.broker().clientSettings()));
                InputStream in = new ByteArrayInputStream(jsonl.getBytes(StandardCharsets.UTF_8))) {
            TopicKeys keys = TopicKeys.read(KAFKA.broker().clientSettings(), topic, Duration.ofSeconds(60));
            return new Ingestor(p, "idem-api", m.meters(), null, keys).ingest(in, DocumentReader.Format.JSONL);
        }
    }
}
