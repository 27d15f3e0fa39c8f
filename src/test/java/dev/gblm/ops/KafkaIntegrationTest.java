package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.cli.Main;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.ingest.IngestSummary;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import dev.gblm.stream.topics.TopicSpec;
import dev.gblm.testing.EmbeddedKafkaExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
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
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Topics, ingest and metrics against one real embedded broker shared by the class. */
class KafkaIntegrationTest {
    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    static EmbeddedKafka kafka;
    static Admin admin;

    @BeforeAll
    static void broker() {
        kafka = KAFKA.broker();
        admin = KAFKA.admin();
    }

    @Test
    void applyCreatesEveryTopicThenFindsThemAllMatching() throws Exception {
        TopicCatalog catalog = TopicCatalog.load(Path.of("topics"));
        try (TopicAdmin ta = new TopicAdmin(admin)) {
            List<TopicReport> first = ta.apply(catalog);
            assertThat(first).extracting(TopicReport::topic).containsAll(
                    catalog.concrete().stream().map(TopicSpec::name).toList());
            assertThat(first).allMatch(TopicReport::healthy, "healthy");
            // created now or by an earlier test of this class; both are fine, a mismatch is not
            assertThat(admin.describeTopics(Set.of("gblm.stats")).allTopicNames().get().get("gblm.stats")
                    .partitions()).hasSize(6);

            List<TopicReport> second = ta.check(catalog);
            assertThat(second).allMatch(r -> r.status() == TopicReport.Status.OK, "OK");
        }
        assertThat(Main.run("topics", "check", "--topics", "topics", "--bootstrap-servers", kafka.bootstrapServers()))
                .isZero();
    }

    @Test
    void aTopicThatDiffersFromItsDefinitionIsReportedNotChanged(@TempDir Path defs) throws Exception {
        Files.writeString(defs.resolve("wrong.properties"), String.join("\n",
                "name=it.wrong", "partitions=4", "replication.factor=1",
                "config.cleanup.policy=compact", "config.max.message.bytes=2097152"));
        Files.writeString(defs.resolve("absent.properties"), "name=it.absent\npartitions=1\nreplication.factor=1\n");
        admin.createTopics(List.of(new NewTopic("it.wrong", 2, (short) 1)
                .configs(Map.of("cleanup.policy", "delete")))).all().get(30, TimeUnit.SECONDS);

        try (TopicAdmin ta = new TopicAdmin(admin)) {
            List<TopicReport> check = ta.check(TopicCatalog.load(defs));
            assertThat(check).extracting(TopicReport::topic, TopicReport::status).containsExactly(
                    org.assertj.core.groups.Tuple.tuple("it.absent", TopicReport.Status.MISSING),
                    org.assertj.core.groups.Tuple.tuple("it.wrong", TopicReport.Status.MISMATCH));
            assertThat(check.get(1).problems()).containsExactly(
                    "partitions: defined 4, actual 2 (can be raised with kafka-topics --alter; keys would move partition)",
                    "config cleanup.policy: defined compact, actual delete",
                    "config max.message.bytes: defined 2097152, actual 8388608");
        }
        // the CLI fails with one clear line and leaves the wrong topic as it was
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        int rc;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            rc = Main.run("topics", "apply", "--topics", defs.toString(), "--bootstrap-servers", kafka.bootstrapServers());
        } finally {
            System.setErr(oldErr);
        }
        assertThat(rc).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("1 topic(s) missing or different");
        assertThat(admin.describeTopics(Set.of("it.wrong")).allTopicNames().get().get("it.wrong").partitions()).hasSize(2);
        assertThat(admin.listTopics().names().get()).contains("it.absent"); // apply created the missing one
    }

    @Test
    void ingestOfATextFileReadsBackEveryDocumentOnceWithItsKey(@TempDir Path dir) throws Exception {
        List<String> docs = new ArrayList<>();
        StringBuilder file = new StringBuilder();
        for (int i = 0; i < 250; i++) {
            String d = "Story " + i + ": Once upon a time\nthere was a dog named " + (char) ('A' + i % 26) + ".";
            docs.add(d);
            file.append(d).append(i % 7 == 0 ? "\n\n\n" : "\n\n");
        }
        Path input = Files.writeString(dir.resolve("stories.txt"), file.toString());

        assertThat(Main.run("ingest", "--stream", "it-text", "--file", input.toString(),
                "--bootstrap-servers", kafka.bootstrapServers())).isZero();

        Map<String, String> expected = new TreeMap<>();
        docs.forEach(d -> expected.put(SampleRecord.ofText(d).id(), d));
        List<ConsumerRecord<byte[], byte[]>> got = readAll("calib.it-text", docs.size());
        assertThat(got).hasSize(docs.size());
        Map<String, String> actual = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            String format = new String(r.headers().lastHeader(Topics.HEADER_FORMAT).value(), StandardCharsets.UTF_8);
            SampleRecord s = SampleRecord.decode(r.key(), r.value(), format);
            assertThat(actual.put(s.id(), s.text())).as("duplicate " + s.id()).isNull();
        }
        assertThat(actual).isEqualTo(expected);
        // created from the calib.* template: 3 partitions, and all of them used by the keys
        assertThat(admin.describeTopics(Set.of("calib.it-text")).allTopicNames().get().get("calib.it-text")
                .partitions()).hasSize(3);
        assertThat(got.stream().map(ConsumerRecord::partition).distinct()).hasSize(3);
    }

    @Test
    void ingestOfJsonlReportsInvalidLinesAndMetricsAreServedOverHttp(@TempDir Path dir) throws Exception {
        String jsonl = "{\"text\":\"first document\"}\n"
                + "{\"text\": \"second\n"                      // line 2: broken JSON
                + "\n"                                       // line 3: empty
                + "{\"id\":\"custom-9\",\"text\":\"third document\"}\n"
                + "{\"text\":\"   \"}\n"                      // line 5: blank text
                + "{\"tokens\":[1, 2, 3]}\n"
                + "{\"title\":\"no text\"}\n"                 // line 7: no text
                + "{\"text\":\"" + "x".repeat(Ingestor.MAX_DOCUMENT_BYTES) + "\"}\n"; // line 8: too large
        Path input = Files.writeString(dir.resolve("in.jsonl"), jsonl);
        TopicCatalog catalog = TopicCatalog.load(Path.of("topics"));
        try (TopicAdmin ta = new TopicAdmin(admin)) {
            assertThat(ta.ensure(catalog.calibrationTopic("it-jsonl")).healthy()).isTrue();
        }

        try (GblmMetrics metrics = new GblmMetrics("ingest");
                MetricsServer server = new MetricsServer(metrics, 0).start();
                Producer<byte[], byte[]> producer = new KafkaProducer<>(Ingestor.producerProperties(kafka.clientSettings()))) {
            metrics.bind(producer);
            metrics.healthCheck("broker", () -> kafka.isRunning() ? Health.up("running") : Health.down("stopped"));
            assertThat(server.port()).isPositive();

            IngestSummary summary;
            try (var in = Files.newInputStream(input)) {
                summary = new Ingestor(producer, "it-jsonl", metrics.meters(), null).ingest(in, DocumentReader.Format.JSONL);
            }
            assertThat(summary.documents()).isEqualTo(3);
            assertThat(summary.failed()).isZero();
            assertThat(summary.skippedByReason()).containsExactlyEntriesOf(new TreeMap<>(Map.of(
                    "empty-line", 1L, "empty-text", 1L, "malformed-json", 1L, "no-text", 1L, "too-large", 1L)));
            assertThat(summary.describe()).contains("line 2: malformed JSON", "line 7:", "line 8: document of " + (Ingestor.MAX_DOCUMENT_BYTES + 11) + " bytes (as JSON) exceeds");

            List<ConsumerRecord<byte[], byte[]>> got = readAll("calib.it-jsonl", 3);
            Map<String, String> byKey = new TreeMap<>();
            for (ConsumerRecord<byte[], byte[]> r : got) {
                byKey.put(new String(r.key(), StandardCharsets.UTF_8), new String(r.value(), StandardCharsets.UTF_8));
            }
            assertThat(byKey).containsOnlyKeys(SampleRecord.ofText("first document").id(), "custom-9",
                    SampleRecord.ofTokens(new int[] {1, 2, 3}).id());
            assertThat(byKey.get("custom-9")).isEqualTo("{\"text\":\"third document\"}");

            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> m = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(m.statusCode()).isEqualTo(200);
            assertThat(sample(m.body(), "gblm_ingest_documents_total", "stream=\"it-jsonl\"")).isEqualTo(3.0);
            assertThat(sample(m.body(), "gblm_ingest_bytes_total", "stream=\"it-jsonl\"")).isPositive();
            assertThat(sample(m.body(), "gblm_ingest_skipped_total", "reason=\"malformed-json\"")).isEqualTo(1.0);
            assertThat(sample(m.body(), "kafka_producer_record_send_total", "")).isGreaterThanOrEqualTo(3.0);
            assertThat(m.body()).contains("jvm_memory_used_bytes");

            HttpResponse<String> h = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(h.statusCode()).isEqualTo(200);
            JsonNode health = new ObjectMapper().readTree(h.body());
            assertThat(health.path("status").asText()).isEqualTo("UP");
            assertThat(health.path("checks").path("broker").path("status").asText()).isEqualTo("UP");

            metrics.healthCheck("worker", () -> Health.down("no partitions assigned"));
            HttpResponse<String> down = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(down.statusCode()).isEqualTo(503);
            assertThat(down.body()).contains("no partitions assigned");
        }
    }

    /** The value of the first Prometheus sample of {@code name} whose labels contain {@code label}. */
    static double sample(String scrape, String name, String label) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)").matcher(scrape);
        while (m.find()) {
            if (m.group(1).contains(label)) {
                return Double.parseDouble(m.group(2));
            }
        }
        throw new AssertionError("no sample " + name + "{" + label + "} in:\n" + scrape.lines()
                .filter(l -> l.startsWith("gblm_") || l.startsWith(name)).toList());
    }

    /** Every record of {@code topic}, reading until the end offsets (at least {@code expected} records). */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp)) && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        assertThat(out.size()).isGreaterThanOrEqualTo(expected);
        return out;
    }
}
