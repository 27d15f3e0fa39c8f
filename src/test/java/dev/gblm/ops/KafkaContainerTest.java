package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.cli.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same CLI against the official apache/kafka image, as an operator would run it against a real cluster. Runs
 * only where that image is already in the local Docker daemon: no registry is reachable on the build machines here,
 * and Testcontainers' own Docker check (its Ryuk image) would retry a pull for minutes before giving up, so the
 * condition asks the Docker CLI directly and Ryuk is disabled for the tests (pom.xml).
 */
@EnabledIf(value = "imagePresent", disabledReason = "image " + KafkaContainerTest.IMAGE
        + " is not in the local Docker daemon (pull or load it to run this test)")
class KafkaContainerTest {
    static final String IMAGE = "apache/kafka:4.3.1";
    static KafkaContainer kafka;

    static boolean imagePresent() {
        try {
            Process p = new ProcessBuilder("docker", "image", "inspect", IMAGE).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false; // no docker CLI
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @BeforeAll
    static void start() {
        kafka = new KafkaContainer(IMAGE);
        kafka.start();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    @Test
    void topicsApplyAndIngestAgainstAContainer(@TempDir Path dir) throws Exception {
        String bootstrap = kafka.getBootstrapServers();
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
