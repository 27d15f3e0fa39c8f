package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import dev.gblm.testing.GblmCli;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The three client security setups a user puts in {@code --kafka-config}, each against one real broker with TLS
 * (runtime-generated certificates), the StandardAuthorizer and two client listeners: SASL_SSL with SCRAM-SHA-512 or
 * PLAIN, and SSL with required client certificates. Real gblm commands (topics check, ingest, job list) run through
 * the written properties files; every wrong secret or certificate is one {@code gblm: } line with exit code 2.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ClientSecurityModesTest {
    static final String ADMIN_PW = "adm1n-Tls-Secret";
    static final String ALICE_PW = "al1ce-Tls-Secret";
    static final String CERTIFICATE = "certificate";

    @TempDir
    static Path dir;
    static TlsMaterial tls;
    static EmbeddedKafka kafka;
    static Path docs;

    @BeforeAll
    static void start() throws Exception {
        tls = TlsMaterial.generate(dir.resolve("tls"), List.of("admin", "alice"));
        kafka = EmbeddedKafka.builder()
                .scramUsers(ScramUsers.of(Map.of("admin", ADMIN_PW, "alice", ALICE_PW)))
                .saslMechanisms(List.of(EmbeddedKafka.SCRAM_MECHANISM, EmbeddedKafka.PLAIN_MECHANISM))
                .tls(tls)
                .certificateListener(true)
                .build().start();
        docs = Files.writeString(dir.resolve("docs.txt"),
                "Once upon a time there was a little fox.\n\nThe fox ran to the river.\n\nThen it slept in the sun.\n");
        Path admin = kafka.clientSettings().writeClientConfig(dir.resolve("admin-setup.properties"));
        GblmCli.Run apply = GblmCli.gblm("topics", "apply", "--kafka-config", admin.toString());
        assertThat(apply.exit()).as(apply.err()).isZero();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    /** The admin's settings in each mode: SASL_SSL with a mechanism, or its certificate on the SSL listener. */
    static KafkaSettings adminSettings(String mode) {
        return mode.equals(CERTIFICATE) ? kafka.certificateClientSettings("admin")
                : kafka.clientSettings("admin", ADMIN_PW, mode);
    }

    @ParameterizedTest
    @ValueSource(strings = {EmbeddedKafka.SCRAM_MECHANISM, EmbeddedKafka.PLAIN_MECHANISM, CERTIFICATE})
    void gblmCommandsWorkThroughKafkaConfig(String mode) throws Exception {
        Path config = adminSettings(mode).writeClientConfig(dir.resolve("admin-" + mode + ".properties"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(config))).isEqualTo("rw-------");
        String text = Files.readString(config);
        assertThat(text).contains("security.protocol=" + (mode.equals(CERTIFICATE) ? "SSL" : "SASL_SSL"),
                "ssl.truststore.location=" + tls.truststore().toAbsolutePath());
        if (mode.equals(CERTIFICATE)) {
            assertThat(text).contains("ssl.keystore.location=" + tls.clientKeystore("admin").toAbsolutePath())
                    .contains("bootstrap.servers=" + kafka.certificateBootstrapServers())
                    .doesNotContain("sasl.");
        } else {
            assertThat(text).contains("sasl.mechanism=" + mode, "bootstrap.servers=" + kafka.bootstrapServers());
        }

        GblmCli.Run check = GblmCli.gblm("topics", "check", "--kafka-config", config.toString());
        assertThat(check.exit()).as(check.err()).isZero();
        assertThat(check.out()).contains("gblm.jobs");

        String stream = "modes." + mode.toLowerCase().replace('-', '_');
        GblmCli.Run ingest = GblmCli.gblm("ingest", "--stream", stream, "--file", docs.toString(),
                "--kafka-config", config.toString());
        assertThat(ingest.exit()).as(ingest.err()).isZero();
        assertThat(ingest.out()).contains("ingested 3 documents").contains("calib." + stream);

        GblmCli.Run jobs = GblmCli.gblm("job", "list", "--kafka-config", config.toString());
        assertThat(jobs.exit()).as(jobs.err()).isZero();
        assertThat(jobs.out().strip()).isEqualTo("no jobs");
    }

    /**
     * The SSL listener's principal is the certificate's CN: alice (not a super user) may not create her stream until
     * an ACL for {@code User:alice} allows it, exactly as for a SASL user. The admin certificate working in
     * {@link #gblmCommandsWorkThroughKafkaConfig} shows the other half: {@code CN=admin,O=gblm} is the super user.
     */
    @Test
    void certificatePrincipalIsTheCommonNameUnderTheSameAcls() throws Exception {
        Path config = kafka.certificateClientSettings("alice").writeClientConfig(dir.resolve("alice-cert.properties"));
        String[] ingest = {"ingest", "--stream", "alice.notes", "--file", docs.toString(), "--kafka-config", config.toString()};
        GblmCli.Run denied = GblmCli.gblm(ingest);
        assertThat(denied.exit()).isEqualTo(2);
        assertThat(denied.err().lines().toList()).hasSize(1);
        assertThat(denied.err()).startsWith("gblm: ").containsIgnoringCase("authoriz");

        ResourcePattern topics = new ResourcePattern(ResourceType.TOPIC, "calib.alice.", PatternType.PREFIXED);
        try (Admin a = Admin.create(kafka.clientSettings().admin("t-admin"))) {
            a.createAcls(List.of(new AclBinding(topics,
                    new AccessControlEntry("User:alice", "*", AclOperation.ALL, AclPermissionType.ALLOW))))
                    .all().get(30, TimeUnit.SECONDS);
        }
        // ACLs reach the authorizer through the metadata log: allow a moment
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        GblmCli.Run allowed = GblmCli.gblm(ingest);
        while (allowed.exit() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(300);
            allowed = GblmCli.gblm(ingest);
        }
        assertThat(allowed.exit()).as(allowed.err()).isZero();
        assertThat(allowed.out()).contains("ingested 3 documents").contains("into calib.alice.notes");
    }

    @Test
    void wrongSecretsAndCertificatesFailWithOneClearLine() {
        TlsMaterial otherCa = TlsMaterial.generate(dir.resolve("other-ca"), List.of("admin"));
        Map<String, String> noCertificate = new LinkedHashMap<>(Map.of("security.protocol", "SSL"));
        noCertificate.putAll(tls.truststoreProperties());
        Map<String, String> untrusted = new LinkedHashMap<>(kafka.clientSettings("admin", ADMIN_PW).clientProperties());
        untrusted.putAll(otherCa.truststoreProperties());
        Map<String, String> foreignCertificate = new LinkedHashMap<>(kafka.certificateClientSettings("admin").clientProperties());
        foreignCertificate.putAll(otherCa.keystoreProperties("admin"));
        List<Case> cases = List.of(
                new Case("wrong SCRAM password", "Authentication failed",
                        kafka.clientSettings("admin", "wrong-Secret", EmbeddedKafka.SCRAM_MECHANISM)),
                new Case("wrong PLAIN password", "Invalid username or password",
                        kafka.clientSettings("alice", "wrong-Secret", EmbeddedKafka.PLAIN_MECHANISM)),
                new Case("no client certificate", "the broker refused the client certificate",
                        new KafkaSettings(kafka.certificateBootstrapServers(), noCertificate)),
                new Case("broker certificate of an untrusted authority", "not signed by an authority of ssl.truststore",
                        new KafkaSettings(kafka.bootstrapServers(), untrusted)),
                new Case("client certificate of another authority", "the broker refused the client certificate",
                        new KafkaSettings(kafka.certificateBootstrapServers(), foreignCertificate)));
        int n = 0;
        for (Case c : cases) {
            Path config = c.settings().writeClientConfig(dir.resolve("wrong-" + n++ + ".properties"));
            GblmCli.Run run = GblmCli.gblm("topics", "check", "--kafka-config", config.toString());
            assertThat(run.exit()).as(c.what()).isEqualTo(2);
            List<String> lines = run.err().lines().toList();
            assertThat(lines).as(c.what()).hasSize(1);
            assertThat(lines.get(0)).as(c.what()).startsWith("gblm: cannot reach Kafka: ").contains(c.expected())
                    .doesNotContain("wrong-Secret", tls.password());
        }
    }

    record Case(String what, String expected, KafkaSettings settings) {}

    /** GBLM_KAFKA_* variables override the file, secrets included (KafkaOptions passes System.getenv() to resolve). */
    @Test
    void environmentOverridesTheKafkaConfigFile() throws Exception {
        Map<String, String> props = new LinkedHashMap<>(kafka.certificateClientSettings("admin").clientProperties());
        props.put("ssl.keystore.password", "not-the-password");
        props.put("ssl.key.password", "not-the-password");
        Path config = new KafkaSettings(kafka.certificateBootstrapServers(), props)
                .writeClientConfig(dir.resolve("env-override.properties"));
        KafkaSettings settings = KafkaSettings.resolve(null, config, Map.of(
                "GBLM_KAFKA_SSL_KEYSTORE_PASSWORD", tls.password(), "GBLM_KAFKA_SSL_KEY_PASSWORD", tls.password()));
        assertThat(settings.clientProperties()).containsEntry("ssl.keystore.password", tls.password());
        try (TopicAdmin admin = TopicAdmin.connect(settings)) {
            assertThat(admin.check(TopicCatalog.loadOrDefault(null))).allMatch(TopicReport::healthy);
        }
    }

    @Test
    void brokerCommandRefusesIncompleteTlsOptionsInOneLine() throws Exception {
        GblmCli.Run noUsers = GblmCli.gblm("broker", "--tls");
        assertThat(noUsers.exit()).isEqualTo(2);
        assertThat(noUsers.err().strip()).isEqualTo("gblm: --tls, --sasl-mechanism and --client-certificates need --users FILE");
        Path users = Files.writeString(dir.resolve("users.txt"), "admin:" + ADMIN_PW + "\n");
        GblmCli.Run noTls = GblmCli.gblm("broker", "--users", users.toString(), "--client-certificates");
        assertThat(noTls.exit()).isEqualTo(2);
        assertThat(noTls.err().strip()).isEqualTo("gblm: --client-certificates needs --tls");
        GblmCli.Run badMechanism = GblmCli.gblm("broker", "--users", users.toString(), "--sasl-mechanism", "GSSAPI");
        assertThat(badMechanism.exit()).isEqualTo(2);
        assertThat(badMechanism.err().strip()).startsWith("gblm: unsupported SASL mechanism GSSAPI");
    }

    @Test
    void secretsStayOffTheCommandLineAndOutOfSharedFiles() throws Exception {
        Path data = kafka.dataDir();
        assertThat(data.resolve("start-secrets.properties")).doesNotExist();
        String serverProperties = Files.readString(data.resolve("server.properties"), StandardCharsets.UTF_8);
        assertThat(serverProperties).contains("listeners=SASL_SSL://", ",SSL://", "listener.name.ssl.ssl.client.auth=required",
                "sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN").doesNotContain(ALICE_PW, tls.password());
        assertThat(Files.readString(data.resolve("broker.log"), StandardCharsets.UTF_8))
                .doesNotContain(ADMIN_PW, ALICE_PW, tls.password());
        assertThat(kafka.processHandle().orElseThrow().info().commandLine().orElse(""))
                .doesNotContain(ADMIN_PW, ALICE_PW, tls.password());
        for (Path p : List.of(tls.truststore(), tls.brokerKeystore(), tls.clientKeystore("alice"))) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).as(p.toString()).isEqualTo("rw-------");
        }
    }
}
