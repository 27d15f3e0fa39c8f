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
}
