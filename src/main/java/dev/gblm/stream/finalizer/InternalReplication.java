package dev.gblm.stream.finalizer;

import dev.gblm.stream.topics.TopicSpec;
import java.util.Properties;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Replication of the finalizer's internal topics (the stores' changelogs). Left to Kafka Streams they get the
 * broker's default replication factor, often 1, so losing one broker would lose the planner's and block tasks'
 * state; they hold what gblm.stats holds (every block's statistics), so they get its replication.
 *
 * @param replicationFactor Streams' {@code replication.factor}
 * @param minInsyncReplicas {@code min.insync.replicas} of every internal topic ({@code topic.} prefix)
 */
public record InternalReplication(short replicationFactor, int minInsyncReplicas) {
    public InternalReplication {
        if (replicationFactor < 1 || minInsyncReplicas < 1 || minInsyncReplicas > replicationFactor) {
            throw new IllegalArgumentException("bad internal replication " + replicationFactor + "/" + minInsyncReplicas);
        }
    }

    /**
     * @param configured {@link FinalizerSettings#internalReplicationFactor()}; 0 = the replication factor of
     *                   {@code stats}, the catalog's gblm.stats definition
     * @param brokers    brokers the cluster has: both numbers are capped by it, so a single-node cluster still works
     *                   (with exactly_once_v2 a min.insync.replicas above the replicas would fail every commit)
     */
    public static InternalReplication of(int configured, TopicSpec stats, int brokers) {
        int wanted = configured > 0 ? configured : stats.replicationFactor();
        short rf = (short) Math.max(1, Math.min(wanted, brokers));
        String defined = stats.configs().get(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);
        // without a definition, tolerate one replica down, as Kafka's usual 3/2
        int isr = defined != null ? Integer.parseInt(defined.trim()) : rf - 1;
        return new InternalReplication(rf, Math.max(1, Math.min(isr, rf)));
    }

    void applyTo(Properties p) {
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) replicationFactor);
        p.put(StreamsConfig.topicPrefix(TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG), Integer.toString(minInsyncReplicas));
    }
}
