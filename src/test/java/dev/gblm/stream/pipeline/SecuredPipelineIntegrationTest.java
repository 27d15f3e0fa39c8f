package dev.gblm.stream.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.ScramUsers;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.Topics;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.job.JobClient;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.teams.AclApplier;
import dev.gblm.teams.Quota;
import dev.gblm.teams.TeamAcls;
import dev.gblm.teams.TeamTopics;
import dev.gblm.testing.StreamTestSupport;
import dev.gblm.testing.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gblm run --users FILE --team a}: the whole pipeline on a secured embedded broker (SASL/SCRAM, the KRaft
 * StandardAuthorizer), the worker, finalizer and exporter each as its own principal with only the ACLs of
 * {@code ServiceAcls}, team a ingesting and submitting as {@code User:a}; team b beside it on the same cluster. Shows
 * what the broker and the finalizer enforce: a's job that names b's stream is refused with a reason until b's grant,
 * then exported; a cannot read b's stream, write b's job topic or the shared one, or write gblm's internal topics.
 */
class SecuredPipelineIntegrationTest {
    private static final Map<String, String> USERS = Map.of("admin", "admin-secret", "a", "a-secret", "b", "b-secret",
            "gblm-worker", "worker-secret");

    @TempDir
    Path tmp;

    @Test
    void teamsShareASecuredPipelineOnlyAsTheirAclsAllow() throws Exception {
        Path model = TestData.require("models/stories260K.bin");
        List<String> docs = CalibrationSet.documents(Files.readString(TestData.require("corpora/tinystories_calib_128.txt")), false);
        Path aDocs = tmp.resolve("a.txt");
        Path bDocs = tmp.resolve("b.txt");
        Files.writeString(aDocs, String.join("\n\n", docs.subList(0, 16)) + "\n");
        Files.writeString(bDocs, String.join("\n\n", docs.subList(16, 32)) + "\n");
        Path out = tmp.resolve("out");
        PipelineSettings o = PipelineSettings.builder(model, out).users(ScramUsers.of(USERS)).team("a").workers(1)
                .samplesPerSlice(8).maxSliceAge(Duration.ofSeconds(2)).instance("sec").metricsPort(-1).build();
        try (Pipeline p = new Pipeline(o).start()) {
            String bootstrap = p.bootstrapServers();
            KafkaSettings admin = p.kafka();
            KafkaSettings asA = new KafkaSettings(bootstrap, EmbeddedKafka.saslClientProperties("a", "a-secret"));
            KafkaSettings asB = new KafkaSettings(bootstrap, EmbeddedKafka.saslClientProperties("b", "b-secret"));
            try (AclApplier acls = AclApplier.connect(admin)) {
                acls.apply(TeamAcls.of("b", List.of(), Quota.NONE));
                acls.ensureTopic(TeamTopics.jobsTopic("b", TopicCatalog.fromClasspath()));
            }

            // team a: its own stream and job, end to end through the three service principals
            p.ingest(aDocs, "a.tiny", DocumentReader.Format.TEXT);
            assertThatThrownBy(() -> p.ingest(bDocs, "b.tiny", DocumentReader.Format.TEXT)).isInstanceOf(GblmException.class)
                    .hasMessageContaining("not team a's");
            p.submit(job("a.own", List.of("a.tiny")));
            assertThat(p.awaitFirstEpochs(Duration.ofMinutes(4))).as("a.own exported").isTrue();
            ModelReady own = p.exported().get("a.own/1");
            assertThat(Path.of(own.path())).isEqualTo(out.toAbsolutePath().resolve("teams/a/a.own/epoch-1"));
            assertThat(out.resolve("teams/a/a.own/epoch-1/masks.bin")).exists();

            // team b publishes a private stream (as b: the pipeline's client is a)
            ingestAs(asB, bootstrap, "b.private", docs.subList(16, 32));

            // a names b's stream: refused with a reason, on the DLQ and in the job's status, until b's grant
            p.submit(job("a.uses-b", List.of("a.tiny", "b.private")));
            JobClient aJobs = new JobClient(asA);
            StreamTestSupport.await("a.uses-b refused", Duration.ofSeconds(90), () -> {
                JobStatus s = aJobs.status("a.uses-b", "a").status();
                return s != null && s.state() == JobStatus.State.REFUSED;
            });
            JobClient.Report refused = aJobs.status("a.uses-b", "a");
            assertThat(refused.status().reason()).contains("team a may not read stream b.private");
            assertThat(refused.epochs()).isEmpty();
            assertThat(StreamTestSupport.readCommitted(admin, Topics.DLQ.name())).anyMatch(r -> "a.uses-b".equals(key(r.key()))
                    && StreamTestSupport.header(r, Topics.HEADER_REASON).startsWith("stream-not-granted: "));

            // what the broker refuses team a
            assertThatThrownBy(() -> readOne(asA, "calib.b.private")).isInstanceOf(AuthorizationException.class);
            for (String topic : List.of(Topics.STATS.name(), Topics.MASKS.name(), Topics.teamJobsTopic("b"), Topics.JOBS.name())) {
                assertThatThrownBy(() -> write(asA, topic, "b.x", "{}")).as(topic).hasRootCauseInstanceOf(AuthorizationException.class);
            }
            assertThatThrownBy(() -> aJobs.delete("b.x", "b")).isInstanceOf(GblmException.class)
                    .hasMessageContaining("Not authorized to access topics: [gblm.jobs.b]");
            assertThatThrownBy(() -> aJobs.delete("b.x", "a")).isInstanceOf(GblmException.class)
                    .hasMessageContaining("must start with 'a.'");

            // b grants: the next planner rounds declare the job, and its model is exported under a's directory
            try (AclApplier acls = AclApplier.connect(admin)) {
                acls.grant("a", "b.private");
            }
            StreamTestSupport.await("a.uses-b exported", Duration.ofMinutes(4), () -> p.exported().containsKey("a.uses-b/1"));
            JobClient.Report granted = aJobs.status("a.uses-b", "a");
            assertThat(granted.epochs()).hasSize(1);
            // a.tiny's slices were retired once a.own was finalized (no live job needed them then): b's 16 samples make it
            assertThat(granted.epochs().get(0).streams()).containsExactly("b.private");
            assertThat(granted.epochs().get(0).spec().team()).isEqualTo("a");
            assertThat(granted.models()).extracting(ModelReady::path)
                    .containsExactly(out.toAbsolutePath().resolve("teams/a/a.uses-b/epoch-1").toString());
        }
    }

    private static JobSpec job(String id, List<String> streams) {
        return new JobSpec(id, "0000000000000000", streams, "wanda", null, "2:4", null, null, 16, 0, 0);
    }

    private static String key(byte[] k) {
        return k == null ? null : new String(k, StandardCharsets.UTF_8);
    }

    private static void ingestAs(KafkaSettings who, String bootstrap, String stream, List<String> docs) throws Exception {
        try (var topics = dev.gblm.stream.topics.TopicAdmin.connect(who)) {
            topics.ensure(TopicCatalog.fromClasspath().calibrationTopic(stream));
        }
        for (int i = 0; i < docs.size(); i++) {
            write(who, Topics.calibrationTopic(stream), "doc-" + i, "{\"text\":" + dev.gblm.stream.Json.mapper()
                    .writeValueAsString(docs.get(i)) + "}");
        }
    }

    private static void write(KafkaSettings who, String topic, String key, String value) throws Exception {
        Properties p = who.producer("test-" + topic);
        p.put("max.block.ms", "10000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)))
                    .get(20, TimeUnit.SECONDS);
        }
    }

    private static void readOne(KafkaSettings who, String topic) {
        Properties p = who.consumer("test-read");
        p.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "10000");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            for (int i = 0; i < 20; i++) {
                c.poll(Duration.ofMillis(500));
            }
        }
    }
}
