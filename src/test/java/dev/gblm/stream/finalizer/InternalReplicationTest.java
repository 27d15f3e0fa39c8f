package dev.gblm.stream.finalizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.stream.topics.TopicSpec;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Replication of the finalizer's changelog topics: gblm.stats' definition (or the setting), capped by the brokers. */
class InternalReplicationTest {
    static TopicSpec stats(int rf, Map<String, String> configs) {
        return new TopicSpec(Topics.STATS.name(), "", 6, (short) rf, new TreeMap<>(configs));
    }

    @Test
    void followsTheStatsDefinitionCappedByTheBrokers() {
        TopicSpec s = stats(3, Map.of("min.insync.replicas", "2", "retention.ms", "1"));
        assertThat(InternalReplication.of(0, s, 1)).isEqualTo(new InternalReplication((short) 1, 1));
        assertThat(InternalReplication.of(0, s, 2)).isEqualTo(new InternalReplication((short) 2, 2));
        assertThat(InternalReplication.of(0, s, 3)).isEqualTo(new InternalReplication((short) 3, 2));
        assertThat(InternalReplication.of(0, s, 9)).isEqualTo(new InternalReplication((short) 3, 2));
        assertThat(InternalReplication.of(0, s, 0)).isEqualTo(new InternalReplication((short) 1, 1));
    }

    @Test
    void anExplicitFactorWinsButIsCappedToo() {
        TopicSpec s = stats(3, Map.of("min.insync.replicas", "2"));
        assertThat(InternalReplication.of(5, s, 9)).isEqualTo(new InternalReplication((short) 5, 2));
        assertThat(InternalReplication.of(5, s, 4)).isEqualTo(new InternalReplication((short) 4, 2));
        assertThat(InternalReplication.of(1, s, 9)).isEqualTo(new InternalReplication((short) 1, 1));
    }

    @Test
    void withoutAMinInsyncDefinitionOneReplicaMayBeDown() {
        assertThat(InternalReplication.of(0, stats(3, Map.of()), 3)).isEqualTo(new InternalReplication((short) 3, 2));
        assertThat(InternalReplication.of(0, stats(3, Map.of()), 2)).isEqualTo(new InternalReplication((short) 2, 1));
        assertThat(InternalReplication.of(0, stats(1, Map.of()), 3)).isEqualTo(new InternalReplication((short) 1, 1));
    }

    @Test
    void thePackagedCatalogWorksOnASingleNode() {
        InternalReplication r = InternalReplication.of(0, TopicCatalog.fromClasspath().get(Topics.STATS.name()), 1);
        assertThat(r).isEqualTo(new InternalReplication((short) 1, 1));
        Properties p = new Properties();
        r.applyTo(p);
        assertThat(p).containsEntry("replication.factor", 1).containsEntry("topic.min.insync.replicas", "1");
    }
}
