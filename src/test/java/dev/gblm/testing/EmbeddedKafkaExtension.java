package dev.gblm.testing;

import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicReport;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One real embedded broker per test class:
 * {@code @RegisterExtension static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();}
 * Starts before the class's first test, stops (and deletes its data) after its last.
 */
public final class EmbeddedKafkaExtension implements BeforeAllCallback, AfterAllCallback {
    private EmbeddedKafka kafka;
    private Admin admin;

    @Override
    public void beforeAll(ExtensionContext context) {
        kafka = EmbeddedKafka.builder().build().start();
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        admin = Admin.create(p);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (admin != null) {
            admin.close();
        }
        if (kafka != null) {
            kafka.stop();
        }
    }

    public EmbeddedKafka broker() {
        return kafka;
    }

    public String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** An admin client owned by the extension (do not close it). */
    public Admin admin() {
        return admin;
    }

    /** Creates the repository's topics ({@code topics/}); fails on any mismatch. */
    public List<TopicReport> createTopics() {
        try (TopicAdmin ta = new TopicAdmin(admin)) {
            List<TopicReport> reports = ta.apply(TopicCatalog.load(Path.of("topics")));
            if (!reports.stream().allMatch(TopicReport::healthy)) {
                throw new AssertionError("topics differ from their definitions:\n" + TopicAdmin.format(reports));
            }
            return reports;
        }
    }
}
