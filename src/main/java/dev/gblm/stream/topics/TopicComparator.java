package dev.gblm.stream.topics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Pure comparison of a topic definition with what a cluster reports for that topic. */
public final class TopicComparator {
    private TopicComparator() {}

    /** The observed state of an existing topic. */
    public record Actual(int partitions, int replicationFactor, Map<String, String> configs) {}

    /**
     * Every difference between {@code spec} and {@code actual}, as readable sentences; empty when
     * they agree. {@code brokers} caps the expected replication factor (single-node clusters).
     */
    public static List<String> differences(TopicSpec spec, int brokers, Actual actual) {
        List<String> out = new ArrayList<>();
        if (actual.partitions() != spec.partitions()) {
            out.add("partitions: defined " + spec.partitions() + ", actual " + actual.partitions()
                    + (actual.partitions() < spec.partitions()
                            ? " (can be raised with kafka-topics --alter; keys would move partition)"
                            : " (cannot be lowered: recreate the topic or change the definition)"));
        }
        short rf = spec.effectiveReplicationFactor(brokers);
        if (actual.replicationFactor() != rf) {
            out.add("replication.factor: expected " + rf
                    + (rf != spec.replicationFactor() ? " (defined " + spec.replicationFactor() + ", " + brokers + " broker(s))" : "")
                    + ", actual " + actual.replicationFactor());
        }
        for (Map.Entry<String, String> e : spec.effectiveConfigs(brokers).entrySet()) {
            String have = actual.configs().get(e.getKey());
            if (!e.getValue().equals(have)) {
                out.add("config " + e.getKey() + ": defined " + e.getValue() + ", actual " + (have == null ? "(unset)" : have));
            }
        }
        return out;
    }
}
