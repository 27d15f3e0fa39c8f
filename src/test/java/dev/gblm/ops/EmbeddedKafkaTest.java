package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Starts real brokers: one in a kept directory that is restarted, one in a temp dir. */
class EmbeddedKafkaTest {

    @Test
    void keptDataDirSurvivesARestartAndTempDirIsDeleted(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("kafka-data");
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(dir).build().start()) {
            assertThat(kafka.bootstrapServers()).startsWith("127.0.0.1:");
            try (Admin admin = admin(kafka)) {
                admin.createTopics(Set.of(new NewTopic("kept", 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
        }
        assertThat(dir.resolve("kraft/meta.properties")).exists();

        try (EmbeddedKafka again = EmbeddedKafka.builder().dataDir(dir).build().start()) {
            try (Admin admin = admin(again)) {
                assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).contains("kept");
            }
            assertThat(again.isRunning()).isTrue();
            again.stop();
            assertThat(again.isRunning()).isFalse();
        }
        assertThat(dir).exists();
    }

    @Test
    void portInUseIsAClearError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            EmbeddedKafka kafka = EmbeddedKafka.builder().port(taken.getLocalPort()).build();
            assertThatThrownBy(kafka::start)
                    .isInstanceOf(GblmException.class)
                    .hasMessageContaining("port " + taken.getLocalPort())
                    .hasMessageContaining("not usable");
            kafka.stop();
            assertThat(kafka.dataDir()).doesNotExist();
        }
    }

    @Test
    void dataDirThatIsAFileIsAClearError(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        assertThatThrownBy(() -> EmbeddedKafka.builder().dataDir(file).build().start())
                .isInstanceOf(GblmException.class)
                .hasMessageContaining("is a file");
    }

    static Admin admin(EmbeddedKafka kafka) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        return Admin.create(p);
    }
}
