package dev.gblm.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Every client kind starts from the same common settings, so a connection property is set once for all. */
class KafkaSettingsTest {
    private static final Map<String, String> SECURITY = Map.of("security.protocol", "SASL_SSL",
            "sasl.mechanism", "SCRAM-SHA-512",
            "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"u\" password=\"secret\";");

    @Test
    void commonClientPropertiesReachEveryClientKind() {
        KafkaSettings k = new KafkaSettings("b1:9092,b2:9092", SECURITY);
        for (Properties p : new Properties[] {k.admin("a"), k.producer("p"), k.consumer("c"), k.streams("app")}) {
            assertThat(p.getProperty("bootstrap.servers")).isEqualTo("b1:9092,b2:9092");
            SECURITY.forEach((key, v) -> assertThat(p.getProperty(key)).as(key).isEqualTo(v));
        }
        assertThat(k.producer("p").getProperty("client.id")).isEqualTo("p");
        assertThat(k.consumer("c").getProperty("enable.auto.commit")).isEqualTo("false");
        assertThat(k.streams("app").getProperty("application.id")).isEqualTo("app");
    }

    @Test
    void toStringNeverShowsPropertyValues() {
        assertThat(new KafkaSettings("b:9092", SECURITY).toString()).doesNotContain("secret").contains("b:9092");
    }

    @Test
    void bootstrapServersAreRequired() {
        assertThatThrownBy(() -> KafkaSettings.of(" ")).isInstanceOf(GblmException.class)
                .hasMessageContaining("bootstrap");
    }

    @Test
    void settingsComeFromAFileTheEnvironmentAndTheFlagInThatOrder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path file = dir.resolve("client.properties");
        java.nio.file.Files.writeString(file, "bootstrap.servers=file:9092\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n");
        KafkaSettings fromFile = KafkaSettings.resolve(null, file, Map.of());
        assertThat(fromFile.bootstrapServers()).isEqualTo("file:9092");
        assertThat(fromFile.clientProperties()).containsEntry("security.protocol", "SASL_SSL")
                .doesNotContainKey("bootstrap.servers");
        KafkaSettings env = KafkaSettings.resolve(null, file,
                Map.of("GBLM_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "GBLM_BOOTSTRAP_SERVERS", "env:9092", "PATH", "/bin"));
        assertThat(env.bootstrapServers()).isEqualTo("env:9092");
        assertThat(env.clientProperties()).containsEntry("sasl.mechanism", "SCRAM-SHA-512").hasSize(2);
        assertThat(KafkaSettings.resolve("flag:9092", file, Map.of("GBLM_BOOTSTRAP_SERVERS", "env:9092"))
                .bootstrapServers()).isEqualTo("flag:9092");
        assertThatThrownBy(() -> KafkaSettings.resolve(null, null, Map.of())).isInstanceOf(GblmException.class)
                .hasMessageContaining("--bootstrap-servers");
        assertThatThrownBy(() -> KafkaSettings.resolve("b:1", dir.resolve("missing.properties"), Map.of()))
                .isInstanceOf(GblmException.class).hasMessageContaining("--kafka-config").hasMessageContaining("no such file");
    }
}
