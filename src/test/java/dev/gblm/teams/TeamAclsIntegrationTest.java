package dev.gblm.teams;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.ops.ScramUsers;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.testing.GblmCli;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One secured broker for the class; teams a (with member alice) and b and the service principals applied with
 * `gblm team apply` / `gblm team services apply` as the admin. Every check is a real client operation that the
 * broker's authorizer allows or denies.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class TeamAclsIntegrationTest {
    static final List<String> USERS = List.of("admin", "a", "b", "alice", "gblm-worker", "gblm-finalizer",
            "gblm-exporter");
    static EmbeddedKafka kafka;
    static String adminConfig;
    @TempDir
    static Path dir;

    static String pw(String user) {
        return "pw-" + user;
    }

    static KafkaSettings as(String user) {
        return kafka.clientSettings(user, pw(user));
    }

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> users = new LinkedHashMap<>();
        USERS.forEach(u -> users.put(u, pw(u)));
        kafka = EmbeddedKafka.builder().scramUsers(ScramUsers.of(users)).build().start();
        adminConfig = writeConfig("admin");
        ok("topics", "apply", "--kafka-config", adminConfig);
        ok("team", "apply", "a", "--member", "alice", "--produce-bytes-per-sec", "1048576", "--kafka-config",
                adminConfig);
        ok("team", "apply", "b", "--kafka-config", adminConfig);
        ok("team", "services", "apply", "--kafka-config", adminConfig);
        // the streams of each team, created by the team itself as gblm ingest does (CREATE, DESCRIBE_CONFIGS)
        TopicCatalog catalog = TopicCatalog.fromClasspath();
        for (String team : List.of("a", "b")) {
            eventually(() -> {
                try (TopicAdmin t = TopicAdmin.connect(as(team))) {
                    t.ensure(catalog.calibrationTopic(team + ".x"));
                }
            });
        }
        eventually(() -> produce(as("a"), "calib.a.x", "a-doc"));
        eventually(() -> produce(as("b"), "calib.b.x", "b-doc"));
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    static GblmCli.Run ok(String... args) {
        GblmCli.Run r = GblmCli.gblm(args);
        assertThat(r.exit()).as(String.join(" ", args) + "\n" + r.out() + r.err()).isZero();
        return r;
    }

    interface Action {
        void run() throws Exception;
    }

    /** ACLs reach the authorizer through the metadata log: retry an allowed action for a while. */
    static void eventually(Action a) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                a.run();
                return;
            } catch (Exception | AssertionError e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(300);
            }
        }
    }

    static Throwable denied(Action a) {
        try {
            a.run();
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            return e;
        }
        throw new AssertionError("allowed, but the broker should have denied it");
    }

    /** An idempotent producer (the default) writes one record and waits for the ack. */
    static void produce(KafkaSettings s, String topic, String value) throws Exception {
        Properties p = s.producer("t-producer");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "10000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
            producer.send(new ProducerRecord<>(topic, bytes, bytes)).get(15, TimeUnit.SECONDS);
        }
    }

    /** Reads {@code topic} from the beginning (partitions assigned, no group) until something arrives. */
    static List<String> consume(KafkaSettings s, String topic) {
        int partitions;
        try (Admin admin = Admin.create(kafka.clientSettings().admin("t-admin"))) {
            partitions = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic)
                    .partitions().size();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        List<TopicPartition> tps = new ArrayList<>();
        for (int i = 0; i < partitions; i++) {
            tps.add(new TopicPartition(topic, i));
        }
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(s.consumer("t-consumer"))) {
            c.assign(tps);
            c.seekToBeginning(tps);
            List<String> out = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (out.isEmpty() && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> out.add(new String(r.value(), StandardCharsets.UTF_8)));
            }
            return out;
        }
    }

    @Test
    void aTeamReadsAndWritesItsOwnStreamsButNotAnotherTeams() throws Exception {
        assertThat(consume(as("a"), "calib.a.x")).contains("a-doc");
        eventually(() -> assertThat(consume(as("alice"), "calib.a.x")).contains("a-doc"));
        assertThat(denied(() -> consume(as("a"), "calib.b.x"))).isInstanceOf(TopicAuthorizationException.class);
        assertThat(denied(() -> produce(as("a"), "calib.b.x", "x"))).isInstanceOf(TopicAuthorizationException.class);
        try (Admin admin = Admin.create(as("a").admin("t-a"))) {
            assertThat(denied(() -> admin.createTopics(List.of(new NewTopic("calib.b.new", 1, (short) 1))).all()
                    .get(30, TimeUnit.SECONDS))).isInstanceOf(TopicAuthorizationException.class);
            // a may not even see b's topics, nor the internal ones
            assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).contains("calib.a.x", "gblm.jobs.a")
                    .doesNotContain("calib.b.x", "gblm.jobs.b", "gblm.stats", "gblm.dlq", "gblm.masks");
        }
        // a consumer group with the team's prefix
        Properties p = as("a").consumer("t-group");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "gblm-a-reader");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of("calib.a.x"));
            List<ConsumerRecord<byte[], byte[]>> got = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.isEmpty() && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(got::add);
            }
            assertThat(got).isNotEmpty();
            c.commitSync();
        }
    }

    @Test
    void aTeamWritesOnlyItsOwnJobTopicAndNoInternalTopic() throws Exception {
        eventually(() -> produce(as("a"), "gblm.jobs.a", "{}"));
        eventually(() -> produce(as("alice"), "gblm.jobs.a", "{}"));
        for (String topic : List.of("gblm.jobs.b", "gblm.jobs", "gblm.stats", "gblm.masks", "gblm.slices",
                "gblm.finalize", "gblm.epochs", "gblm.models", "gblm.dlq", "gblm.job-status")) {
            assertThat(denied(() -> produce(as("a"), topic, "x"))).as(topic)
                    .isInstanceOf(TopicAuthorizationException.class);
        }
        // job status: the public topics are readable, the dead letters (other teams' records) are not
        assertThat(consume(as("a"), "gblm.epochs")).isEmpty();
        assertThat(denied(() -> consume(as("a"), "gblm.dlq"))).isInstanceOf(TopicAuthorizationException.class);
        assertThat(denied(() -> consume(as("a"), "gblm.jobs.b"))).isInstanceOf(TopicAuthorizationException.class);
    }

    @Test
    void aGrantLetsATeamReadOneStreamUntilRevoked() throws Exception {
        ok("team", "grant", "--stream", "b.x", "--to", "a", "--kafka-config", adminConfig);
        eventually(() -> assertThat(consume(as("a"), "calib.b.x")).contains("b-doc"));
        eventually(() -> assertThat(consume(as("alice"), "calib.b.x")).contains("b-doc"));
        assertThat(denied(() -> produce(as("a"), "calib.b.x", "x"))).isInstanceOf(TopicAuthorizationException.class);
        GblmCli.Run grants = ok("team", "grants", "a", "--kafka-config", adminConfig);
        assertThat(grants.out()).contains("calib.a.*  own streams", "calib.b.x  granted stream b.x (a, alice)",
                "gblm.jobs.a  own jobs", "gblm.models  public");

        GblmCli.Run revoked = ok("team", "revoke", "--stream", "b.x", "--to", "a", "--kafka-config", adminConfig);
        assertThat(revoked.out()).contains("may no longer read stream b.x (4 ACL bindings deleted)");
        eventually(() -> assertThat(denied(() -> consume(as("a"), "calib.b.x")))
                .isInstanceOf(TopicAuthorizationException.class));
        assertThat(ok("team", "grants", "a", "--kafka-config", adminConfig).out()).doesNotContain("calib.b.x");
        assertThat(ok("team", "revoke", "--stream", "b.x", "--to", "a", "--kafka-config", adminConfig).out())
                .contains("nothing to revoke");
    }

    @Test
    void quotasAreSetPerUser() {
        try (AclApplier applier = AclApplier.connect(kafka.clientSettings())) {
            assertThat(applier.quota("a")).isEqualTo(new Quota(1048576, 0));
            assertThat(applier.quota("alice")).isEqualTo(new Quota(1048576, 0));
            assertThat(applier.quota("b")).isEqualTo(new Quota(Quota.DEFAULT_PRODUCE_BYTES_PER_SEC, 0));
            assertThat(applier.quota("gblm-worker")).isEqualTo(Quota.NONE);
        }
    }

    @Test
    void eachServiceDoesItsJobAndNothingElse() throws Exception {
        // worker: consumes calibration topics in its group, writes statistics in a transaction
        Properties wc = as("gblm-worker").consumer("t-worker");
        wc.put(ConsumerConfig.GROUP_ID_CONFIG, "gblm-worker-p1");
        wc.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(wc)) {
            c.subscribe(Topics.CALIBRATION_TOPICS);
            List<String> got = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.size() < 2 && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(r -> got.add(new String(r.value(), StandardCharsets.UTF_8)));
            }
            assertThat(got).contains("a-doc", "b-doc");
            c.commitSync();
        }
        transaction(as("gblm-worker"), "gblm-worker-p1-0", "gblm.stats", null);
        assertThat(denied(() -> produce(as("gblm-worker"), "gblm.masks", "x")))
                .isInstanceOf(TopicAuthorizationException.class);
        assertThat(denied(() -> transaction(as("gblm-worker"), "gblm-exporter-gblm-exporter", "gblm.stats", null)))
                .isInstanceOf(AuthorizationException.class);

        // finalizer: reads team jobs, writes masks transactionally, creates its internal topics, describes ACLs
        assertThat(consume(as("gblm-finalizer"), "gblm.jobs.b")).isEmpty();
        transaction(as("gblm-finalizer"), "gblm-finalizer-process1-0", "gblm.masks", null);
        try (Admin admin = Admin.create(as("gblm-finalizer").admin("t-fin"))) {
            admin.createTopics(List.of(new NewTopic("gblm-finalizer-store-changelog", 1, (short) 1))).all()
                    .get(30, TimeUnit.SECONDS);
            assertThat(admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS)).isNotEmpty();
        }
        assertThat(denied(() -> produce(as("gblm-finalizer"), "gblm.stats", "x")))
                .isInstanceOf(TopicAuthorizationException.class);
        assertThat(denied(() -> produce(as("gblm-finalizer"), "gblm.models", "x")))
                .isInstanceOf(TopicAuthorizationException.class);

        // exporter: reads masks in its group, writes gblm.models with its offsets in one transaction
        Properties ec = as("gblm-exporter").consumer("t-exporter");
        ec.put(ConsumerConfig.GROUP_ID_CONFIG, "gblm-exporter");
        ec.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        ec.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(ec)) {
            c.subscribe(List.of("gblm.masks"));
            ConsumerRecords<byte[], byte[]> got = ConsumerRecords.empty();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (got.isEmpty() && System.nanoTime() < deadline) {
                got = c.poll(Duration.ofMillis(200));
            }
            assertThat(got.isEmpty()).as("the finalizer's mask record").isFalse();
            Map<TopicPartition, OffsetAndMetadata> offsets = new LinkedHashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : got) {
                offsets.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
            }
            transaction(as("gblm-exporter"), "gblm-exporter-gblm-exporter", "gblm.models", producer -> {
                producer.sendOffsetsToTransaction(offsets, c.groupMetadata());
            });
        }
        assertThat(denied(() -> produce(as("gblm-exporter"), "gblm.masks", "x")))
                .isInstanceOf(TopicAuthorizationException.class);
        assertThat(denied(() -> consume(as("gblm-exporter"), "gblm.stats")))
                .isInstanceOf(TopicAuthorizationException.class);
        try (Admin admin = Admin.create(as("gblm-worker").admin("t-w"))) {
            assertThat(denied(() -> admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS)))
                    .isInstanceOf(ClusterAuthorizationException.class);
        }
    }

    interface InTransaction {
        void run(KafkaProducer<byte[], byte[]> producer) throws Exception;
    }

    static void transaction(KafkaSettings s, String transactionalId, String topic, InTransaction more)
            throws Exception {
        Properties p = s.producer("t-tx");
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, "tx".getBytes(StandardCharsets.UTF_8))).get(15, TimeUnit.SECONDS);
            if (more != null) {
                more.run(producer);
            }
            producer.commitTransaction();
        }
    }

    @Test
    void onlyAnAdminAppliesAndBadNamesAreOneLine() {
        GblmCli.Run asTeam = GblmCli.gblm("team", "apply", "a", "--bootstrap-servers", kafka.bootstrapServers(),
                "--kafka-config", writeConfig("a"));
        assertThat(asTeam.exit()).isEqualTo(2);
        assertThat(asTeam.err()).contains(
                "gblm: the user of --kafka-config may not create ACLs (needs ALTER on the cluster: use an admin)");
        GblmCli.Run grant = GblmCli.gblm("team", "grant", "--stream", "b.x", "--to", "a", "--kafka-config",
                writeConfig("b"));
        assertThat(grant.exit()).isEqualTo(2);
        assertThat(grant.err()).contains("may not");
        GblmCli.Run bad = GblmCli.gblm("team", "apply", "Bad.Name", "--kafka-config", adminConfig);
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err().strip()).startsWith("gblm: invalid team name 'Bad.Name'").doesNotContain("\n");
        GblmCli.Run unknown = GblmCli.gblm("team", "grant", "--stream", "b.x", "--to", "nobody", "--kafka-config",
                adminConfig);
        assertThat(unknown.err().strip()).isEqualTo(
                "gblm: team nobody is not applied (no ACLs on gblm.jobs.nobody): run `gblm team apply nobody` first");
        GblmCli.Run own = GblmCli.gblm("team", "grant", "--stream", "a.x", "--to", "a", "--kafka-config", adminConfig);
        assertThat(own.err().strip()).isEqualTo("gblm: stream a.x belongs to team a, which reads it anyway");
    }

    static String writeConfig(String user) {
        try {
            Path f = dir.resolve(user + ".properties");
            StringBuilder sb = new StringBuilder("bootstrap.servers=" + kafka.bootstrapServers() + "\n");
            EmbeddedKafka.saslClientProperties(user, pw(user)).forEach((k, v) -> sb.append(k).append('=')
                    .append(v).append('\n'));
            Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
            return f.toString();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
