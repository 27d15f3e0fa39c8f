package dev.gblm.stream.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TopicCatalogTest {
    static final Path TOPICS = Path.of("topics");

    @Test
    void repositoryDefinitionsHoldEveryTopicOfTheArchitecture() {
        TopicCatalog c = TopicCatalog.load(TOPICS);
        assertThat(c.all()).extracting(TopicSpec::name).containsExactly(
                "calib.*", "gblm.dlq", "gblm.epochs", "gblm.finalize", "gblm.finalize-acks", "gblm.job-status", "gblm.jobs", "gblm.masks", "gblm.models", "gblm.slices", "gblm.stats");
        assertThat(c.templates()).extracting(TopicSpec::name).containsExactly("calib.*");
        assertThat(c.get("gblm.jobs").configs()).containsEntry("cleanup.policy", "compact");
        TopicSpec stats = c.get("gblm.stats");
        assertThat(stats.partitions()).isEqualTo(6);
        assertThat(stats.configs()).containsEntry("max.message.bytes", "2097152");
        assertThat(c.get("calib.*").partitions()).isEqualTo(3);
        long dlqRetention = Long.parseLong(c.get("gblm.dlq").configs().get("retention.ms"));
        long statsRetention = Long.parseLong(stats.configs().get("retention.ms"));
        assertThat(dlqRetention).isGreaterThan(statsRetention);
    }

    @Test
    void minInsyncReplicasNeverExceedTheReplicationFactorACluster() {
        TopicSpec stats = TopicCatalog.load(TOPICS).get("gblm.stats");
        assertThat(stats.configs()).containsEntry("min.insync.replicas", "2");
        assertThat(stats.effectiveConfigs(3)).containsEntry("min.insync.replicas", "2");
        // one broker: acks=all must still succeed
        assertThat(stats.effectiveConfigs(1)).containsEntry("min.insync.replicas", "1")
                .containsEntry("retention.ms", stats.configs().get("retention.ms"));
    }

    @Test
    void packagedCopyEqualsTheRepositoryFolder() {
        assertThat(TopicCatalog.fromClasspath().all()).isEqualTo(TopicCatalog.load(TOPICS).all());
    }

    @Test
    void templateInstantiatesPerStreamAndValidatesNames() {
        TopicCatalog c = TopicCatalog.load(TOPICS);
        TopicSpec t = c.calibrationTopic("team-a.v2");
        assertThat(t.name()).isEqualTo("calib.team-a.v2");
        assertThat(t.isTemplate()).isFalse();
        assertThat(t.configs()).isEqualTo(c.get("calib.*").configs());
        assertThat(c.specFor("calib.x")).map(TopicSpec::name).hasValue("calib.x");
        assertThat(c.specFor("gblm.stats")).map(TopicSpec::partitions).hasValue(6);
        assertThat(c.specFor("other")).isEmpty();
        assertThat(c.specFor("calib.")).isEmpty();
        assertThatThrownBy(() -> c.calibrationTopic("bad name")).isInstanceOf(GblmException.class)
                .hasMessageContaining("invalid stream name 'bad name'");
        assertThatThrownBy(() -> c.calibrationTopic("ümlaut")).isInstanceOf(GblmException.class);
        assertThatThrownBy(() -> c.calibrationTopic("")).isInstanceOf(GblmException.class);
    }

    @Test
    void malformedDefinitionsNameTheFileAndTheProblem(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a.properties"), "name=a\nreplication.factor=1\n");
        assertThatThrownBy(() -> TopicCatalog.load(dir)).hasMessageContaining("a.properties").hasMessageContaining("partitions");
        Files.writeString(dir.resolve("a.properties"), "name=a\npartitions=x\nreplication.factor=1\n");
        assertThatThrownBy(() -> TopicCatalog.load(dir)).hasMessageContaining("not an integer");
        Files.writeString(dir.resolve("a.properties"), "name=a\npartitions=1\nreplication.factor=1\nretention.ms=5\n");
        assertThatThrownBy(() -> TopicCatalog.load(dir)).hasMessageContaining("unknown key 'retention.ms'");
        Files.writeString(dir.resolve("a.properties"), "name=a b\npartitions=1\nreplication.factor=1\n");
        assertThatThrownBy(() -> TopicCatalog.load(dir)).hasMessageContaining("illegal topic name");
        Files.writeString(dir.resolve("a.properties"), "name=a\npartitions=1\nreplication.factor=1\nconfig.x=1\n");
        Files.writeString(dir.resolve("b.properties"), "name=a\npartitions=2\nreplication.factor=1\n");
        assertThatThrownBy(() -> TopicCatalog.load(dir)).hasMessageContaining("defined twice");
        assertThatThrownBy(() -> TopicCatalog.load(dir.resolve("nope"))).hasMessageContaining("not found");
    }

    @Test
    void comparatorReportsEachDifferenceAndCapsReplicationToTheClusterSize() {
        TopicSpec spec = new TopicSpec("t", "", 6, (short) 3,
                new java.util.TreeMap<>(Map.of("cleanup.policy", "compact", "max.message.bytes", "2097152")));
        var same = new TopicComparator.Actual(6, 1, Map.of("cleanup.policy", "compact", "max.message.bytes", "2097152"));
        assertThat(TopicComparator.differences(spec, 1, same)).isEmpty();
        assertThat(TopicComparator.differences(spec, 5, same))
                .containsExactly("replication.factor: expected 3, actual 1");

        var wrong = new TopicComparator.Actual(3, 1, Map.of("cleanup.policy", "delete"));
        assertThat(TopicComparator.differences(spec, 1, wrong)).containsExactly(
                "partitions: defined 6, actual 3 (can be raised with kafka-topics --alter; keys would move partition)",
                "config cleanup.policy: defined compact, actual delete",
                "config max.message.bytes: defined 2097152, actual (unset)");
    }
}
