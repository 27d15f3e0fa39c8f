package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.testing.GblmCli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A secured embedded broker (SASL_PLAINTEXT, SCRAM-SHA-512, StandardAuthorizer), one for the class: the super user
 * can do everything, another user nothing until ACLs allow it, a wrong password is one clear CLI line.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SecuredEmbeddedKafkaTest {
    static final String ADMIN_PW = "adm1n-Secret";
    static final String BOB_PW = "b0b:pass";
    static EmbeddedKafka kafka;

    @BeforeAll
    static void start() {
        kafka = EmbeddedKafka.builder()
                .scramUsers(ScramUsers.of(Map.of("admin", ADMIN_PW, "bob", BOB_PW)))
                .build().start();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    @Test
    void superUserCreatesTopicsProducesAndConsumes() throws Exception {
        assertThat(kafka.secured()).isTrue();
        assertThat(kafka.superUsers()).containsExactly("admin");
        KafkaSettings admin = kafka.clientSettings();
        assertThat(admin.clientProperties()).containsEntry("security.protocol", "SASL_PLAINTEXT")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
        try (Admin a = Admin.create(admin.admin("t-admin"))) {
            a.createTopics(List.of(new NewTopic("sec.super", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        produce(kafka.clientSettings("admin", ADMIN_PW), "sec.super", "hello");
        assertThat(consume(kafka.clientSettings("admin", ADMIN_PW), "sec.super")).isEqualTo("hello");

        // secrets stay off the command line, out of the log, and the files holding them are private
        Path dir = kafka.dataDir();
        assertThat(dir.resolve("format-scram.txt")).doesNotExist();
        assertThat(Files.readString(dir.resolve("broker.log"), StandardCharsets.UTF_8)).doesNotContain(ADMIN_PW, BOB_PW);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("server.properties"))))
                .isEqualTo("rw-------");
        assertThat(kafka.processHandle().orElseThrow().info().commandLine().orElse("")).doesNotContain(ADMIN_PW);
    }

    @Test
    void userWithoutAclsIsDeniedUntilAnAclAllows() throws Exception {
        try (Admin a = Admin.create(kafka.clientSettings().admin("t-admin"))) {
            a.createTopics(List.of(new NewTopic("sec.team", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        KafkaSettings bob = kafka.clientSettings("bob", BOB_PW);
        assertThatThrownBy(() -> produce(bob, "sec.team", "denied"))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(TopicAuthorizationException.class);

        ResourcePattern topic = new ResourcePattern(ResourceType.TOPIC, "sec.team", PatternType.LITERAL);
        try (Admin a = Admin.create(kafka.clientSettings().admin("t-admin"))) {
            a.createAcls(List.of(
                    new AclBinding(topic, new AccessControlEntry("User:bob", "*", AclOperation.WRITE, AclPermissionType.ALLOW)),
                    new AclBinding(topic, new AccessControlEntry("User:bob", "*", AclOperation.READ, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        // ACLs reach the authorizer through the metadata log: allow a moment
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                produce(bob, "sec.team", "allowed");
                break;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicAuthorizationException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
        assertThat(consume(bob, "sec.team")).isEqualTo("allowed");
    }

    @Test
    void wrongPasswordFailsWithOneClearLine(@TempDir Path tmp) throws Exception {
        KafkaSettings wrong = kafka.clientSettings("bob", "not-the-password");
        assertThatThrownBy(() -> produce(wrong, "sec.super", "x"))
                .hasRootCauseInstanceOf(SaslAuthenticationException.class);

        Path config = tmp.resolve("wrong.properties");
        StringBuilder sb = new StringBuilder("bootstrap.servers=" + kafka.bootstrapServers() + "\n");
        wrong.clientProperties().forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        Files.writeString(config, sb.toString());
        GblmCli.Run run = GblmCli.gblm("topics", "check", "--kafka-config", config.toString());
        assertThat(run.exit()).isEqualTo(2);
        List<String> lines = run.err().lines().toList();
        assertThat(lines).hasSize(1);
        assertThat(lines.get(0)).startsWith("gblm: ").containsIgnoringCase("authentication")
                .doesNotContain("not-the-password");
    }

    @Test
    void brokerCommandRejectsBadUsersFilesInOneLine(@TempDir Path tmp) throws Exception {
        GblmCli.Run missing = GblmCli.gblm("broker", "--users", tmp.resolve("none").toString());
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err().strip()).isEqualTo("gblm: users file " + tmp.resolve("none") + ": no such file");

        Path dup = Files.writeString(tmp.resolve("dup"), "admin:a\nbob:b\nbob:c\n");
        GblmCli.Run duplicate = GblmCli.gblm("broker", "--users", dup.toString());
        assertThat(duplicate.exit()).isEqualTo(2);
        assertThat(duplicate.err().strip()).isEqualTo("gblm: users file " + dup + " line 3: duplicate user bob (first on line 2)");

        Path noAdmin = Files.writeString(tmp.resolve("noadmin"), "bob:b\n");
        GblmCli.Run run = GblmCli.gblm("broker", "--users", noAdmin.toString());
        assertThat(run.exit()).isEqualTo(2);
        assertThat(run.err().strip()).startsWith("gblm: users file " + noAdmin + " has no line for the broker user admin");

        GblmCli.Run plain = GblmCli.gblm("broker", "--write-client-configs");
        assertThat(plain.exit()).isEqualTo(2);
        assertThat(plain.err().strip()).isEqualTo("gblm: --broker-user, --super-user and --write-client-configs need --users FILE");
    }

    static void produce(KafkaSettings s, String topic, String value) throws Exception {
        Properties p = s.producer("t-producer");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8))).get(30, TimeUnit.SECONDS);
        }
    }

    static String consume(KafkaSettings s, String topic) {
        Properties p = s.consumer("t-consumer");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(Set.of(tp));
            consumer.seekToBeginning(Set.of(tp));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    return new String(r.value(), StandardCharsets.UTF_8);
                }
            }
        }
        throw new AssertionError("nothing consumed from " + topic + " within 30 s");
    }
}
