package dev.gblm.stream.topics;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class StrimziRendererTest {

    @Test
    void rendersOneKafkaTopicPerConcreteTopicWithItsConfigs() {
        TopicCatalog c = TopicCatalog.load(TopicCatalogTest.TOPICS);
        String yaml = StrimziRenderer.render(c, "prod", List.of("team-a"));
        String[] docs = yaml.split("(?m)^---$");
        // header comment + one document per concrete topic + calib.team-a
        assertThat(docs).hasSize(1 + c.concrete().size() + 1);
        assertThat(yaml).contains("strimzi.io/cluster: \"prod\"");
        String jobs = java.util.Arrays.stream(docs).filter(d -> d.contains("topicName: \"gblm.jobs\"")).findFirst().orElseThrow();
        assertThat(jobs).contains("kind: KafkaTopic", "name: gblm.jobs", "partitions: 1", "replicas: 3",
                "cleanup.policy: \"compact\"");
        String calib = java.util.Arrays.stream(docs).filter(d -> d.contains("topicName: \"calib.team-a\"")).findFirst().orElseThrow();
        assertThat(calib).contains("partitions: 3", "max.message.bytes: 4194304");
        assertThat(yaml).doesNotContain("topicName: \"calib.*\"");
    }

    @Test
    void committedDeployFileIsUpToDate() throws Exception {
        // regenerate with: java -jar target/gblm.jar topics render --out deploy/strimzi/topics.yaml
        String committed = Files.readString(Path.of("deploy/strimzi/topics.yaml"));
        assertThat(committed).isEqualTo(StrimziRenderer.render(TopicCatalog.load(TopicCatalogTest.TOPICS), "gblm", List.of()));
    }
}
