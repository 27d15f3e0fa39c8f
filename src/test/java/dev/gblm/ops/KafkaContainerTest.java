package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same CLI against the official apache/kafka image, as an operator would run it against a
 * real cluster. Needs Docker; skipped where there is none (as on the build machines here).
 */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerTest {
    @Container
    static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.3.1");

    @Test
    void topicsApplyAndIngestAgainstAContainer(@TempDir Path dir) throws Exception {
        String bootstrap = KAFKA.getBootstrapServers();
        assertThat(Main.run("topics", "apply", "--bootstrap-servers", bootstrap)).isZero();
        assertThat(Main.run("topics", "check", "--bootstrap-servers", bootstrap)).isZero();

        Path input = Files.writeString(dir.resolve("docs.txt"), "one\n\ntwo\n\nthree\n");
        assertThat(Main.run("ingest", "--stream", "tc", "--file", input.toString(),
                "--bootstrap-servers", bootstrap)).isZero();

        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            assertThat(admin.listTopics().names().get()).contains("calib.tc", "gblm.stats", "gblm.jobs");
            long records = admin.listOffsets(java.util.Map.of(
                            new org.apache.kafka.common.TopicPartition("calib.tc", 0),
                            org.apache.kafka.clients.admin.OffsetSpec.latest(),
                            new org.apache.kafka.common.TopicPartition("calib.tc", 1),
                            org.apache.kafka.clients.admin.OffsetSpec.latest(),
                            new org.apache.kafka.common.TopicPartition("calib.tc", 2),
                            org.apache.kafka.clients.admin.OffsetSpec.latest()))
                    .all().get().values().stream().mapToLong(i -> i.offset()).sum();
            assertThat(records).isEqualTo(3);
            assertThat(admin.describeTopics(Set.of("gblm.stats")).allTopicNames().get().get("gblm.stats")
                    .partitions()).hasSize(6);
        }
    }
}
