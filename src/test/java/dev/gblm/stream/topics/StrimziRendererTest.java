package dev.gblm.stream.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
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
        assertThat(jobs).contains("apiVersion: kafka.strimzi.io/v1\n", "kind: KafkaTopic", "name: gblm.jobs", "partitions: 1", "replicas: 3",
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

    @Test
    void validTopicNamesAreTheirOwnResourceNames() {
        for (String t : List.of("gblm.dlq", "gblm.finalize-acks", "calib.team-a", "calib.a1.b2")) {
            assertThat(StrimziRenderer.resourceName(t)).isEqualTo(t);
        }
    }

    @Test
    void lossyMappingsGetAHashSoTopicsThatDifferOnlyInCaseOrUnderscoreStayApart() {
        String lossless = StrimziRenderer.resourceName("calib.team-a");
        String underscore = StrimziRenderer.resourceName("calib.Team_A");
        String upper = StrimziRenderer.resourceName("calib.TEAM-A");
        assertThat(lossless).isEqualTo("calib.team-a");
        assertThat(underscore).matches("calib\\.team-a-[0-9a-f]{8}");
        assertThat(upper).matches("calib\\.team-a-[0-9a-f]{8}");
        assertThat(List.of(lossless, underscore, upper)).doesNotHaveDuplicates();
        // deterministic
        assertThat(StrimziRenderer.resourceName("calib.Team_A")).isEqualTo(underscore);

        TopicCatalog c = TopicCatalog.load(TopicCatalogTest.TOPICS);
        String yaml = StrimziRenderer.render(c, "gblm", List.of("team-a", "Team_A", "team_a", "TEAM-A"));
        List<String> names = yaml.lines().filter(l -> l.startsWith("  name: ")).toList();
        assertThat(names).hasSize(c.concrete().size() + 4).doesNotHaveDuplicates();
        assertThat(yaml).contains("topicName: \"calib.Team_A\"", "topicName: \"calib.team_a\"");
    }

    @Test
    void namesNeverEndOrStartALabelWithADashOrDot() {
        for (String t : List.of("calib.x-", "calib.x_", "calib.-x", "calib._x", "calib.x.", "calib..x", "calib.-",
                "calib._", "_", "-", ".", "..", "A", "calib.x---", "calib.x.-.y")) {
            String name = StrimziRenderer.resourceName(t);
            assertThat(StrimziRenderer.isDnsSubdomain(name)).as("%s -> %s", t, name).isTrue();
            assertThat(name).as(t).doesNotEndWith("-").doesNotEndWith(".");
        }
        assertThat(StrimziRenderer.resourceName("calib.x-")).matches("calib\\.x-[0-9a-f]{8}");
        assertThat(StrimziRenderer.resourceName("calib.x-")).isNotEqualTo(StrimziRenderer.resourceName("calib.x_"));
        String longName = "calib." + "A".repeat(200) + "." + "b".repeat(60);
        assertThat(StrimziRenderer.resourceName(longName)).hasSizeLessThanOrEqualTo(253)
                .satisfies(n -> assertThat(StrimziRenderer.isDnsSubdomain(n)).isTrue());
    }

    @Test
    void lowercasingDoesNotDependOnTheDefaultLocale() {
        Locale saved = Locale.getDefault();
        try {
            Locale.setDefault(Locale.forLanguageTag("tr-TR"));
            // under tr-TR, "I".toLowerCase() is the dotless U+0131, which no Kubernetes name accepts
            String name = StrimziRenderer.resourceName("calib.TEAM_I");
            assertThat(name).matches("calib\\.team-i-[0-9a-f]{8}");
            assertThat(StrimziRenderer.isDnsSubdomain(name)).isTrue();
            String yaml = StrimziRenderer.render(TopicCatalog.load(TopicCatalogTest.TOPICS), "gblm", List.of("TEAM_I", "Ii"));
            assertThat(yaml).doesNotContain("\u0131").contains("name: calib.ii-");
        } finally {
            Locale.setDefault(saved);
        }
    }

    @Test
    void aCollisionIsAnErrorNotASilentOverwrite() {
        TopicCatalog c = TopicCatalog.load(TopicCatalogTest.TOPICS);
        // the same stream twice is one resource
        assertThat(StrimziRenderer.render(c, "gblm", List.of("a", "a")).split("(?m)^---$")).hasSize(1 + c.concrete().size() + 1);
        // a stream named like the hashed resource name of another topic would collide
        String hashed = StrimziRenderer.resourceName("calib.Team_A").substring("calib.".length());
        assertThatThrownBy(() -> StrimziRenderer.render(c, "gblm", List.of("Team_A", hashed)))
                .isInstanceOf(GblmException.class).hasMessageContaining("same KafkaTopic name");
    }
}
