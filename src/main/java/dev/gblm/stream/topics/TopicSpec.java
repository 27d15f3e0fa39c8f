package dev.gblm.stream.topics;

import dev.gblm.GblmException;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One topic definition from {@code topics/}. A name ending in {@code .*} is a template
 * (e.g. {@code calib.*}): never created by itself, instantiated per stream with {@link #forName}.
 */
public record TopicSpec(
        String name,
        String description,
        int partitions,
        short replicationFactor,
        SortedMap<String, String> configs) {

    /** Characters Kafka allows in a topic name (and at most 249 of them). */
    private static final Pattern LEGAL_TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public TopicSpec {
        Objects.requireNonNull(name, "name");
        description = description == null ? "" : description;
        configs = Collections.unmodifiableSortedMap(new TreeMap<>(configs));
        String base = name.endsWith(".*") ? name.substring(0, name.length() - 2) + ".x" : name;
        if (!LEGAL_TOPIC.matcher(base).matches() || base.equals(".") || base.equals("..")) {
            throw new GblmException("illegal topic name '" + name + "': use 1-249 of [a-zA-Z0-9._-]");
        }
        if (partitions < 1) {
            throw new GblmException("topic " + name + ": partitions must be >= 1, got " + partitions);
        }
        if (replicationFactor < 1) {
            throw new GblmException("topic " + name + ": replication.factor must be >= 1, got " + replicationFactor);
        }
    }

    /** Parses the keys documented in {@code topics/README.md}; {@code origin} names the file in errors. */
    public static TopicSpec fromProperties(Properties p, String origin) {
        String name = p.getProperty("name");
        if (name == null || name.isBlank()) {
            throw new GblmException(origin + ": missing 'name'");
        }
        SortedMap<String, String> configs = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.startsWith("config.")) {
                configs.put(key.substring("config.".length()), p.getProperty(key).trim());
            } else if (!key.equals("name") && !key.equals("description")
                    && !key.equals("partitions") && !key.equals("replication.factor")) {
                throw new GblmException(origin + ": unknown key '" + key + "' (topic configs are written config.<key>)");
            }
        }
        return new TopicSpec(
                name.trim(),
                p.getProperty("description", "").trim(),
                intKey(p, "partitions", origin),
                (short) intKey(p, "replication.factor", origin),
                configs);
    }

    private static int intKey(Properties p, String key, String origin) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new GblmException(origin + ": missing '" + key + "'");
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new GblmException(origin + ": '" + key + "' is not an integer: " + v);
        }
    }

    public boolean isTemplate() {
        return name.endsWith(".*");
    }

    /** The prefix of a template ({@code "calib."} for {@code calib.*}), or the name itself. */
    public String prefix() {
        return isTemplate() ? name.substring(0, name.length() - 1) : name;
    }

    /** Whether a concrete topic is described by this spec (exact name, or prefix of a template). */
    public boolean matches(String topic) {
        return isTemplate() ? topic.startsWith(prefix()) && topic.length() > prefix().length() : topic.equals(name);
    }

    /** A concrete topic from this template; validates the resulting name. */
    public TopicSpec forName(String topic) {
        if (!isTemplate()) {
            throw new IllegalStateException(name + " is not a template");
        }
        if (!matches(topic)) {
            throw new GblmException("topic '" + topic + "' does not match template " + name);
        }
        return new TopicSpec(topic, description, partitions, replicationFactor, configs);
    }

    /** Replication factor to use on a cluster of {@code brokers} brokers. */
    public short effectiveReplicationFactor(int brokers) {
        return (short) Math.max(1, Math.min(replicationFactor, brokers));
    }

    /**
     * The configs to create the topic with on a cluster of {@code brokers}: as defined, except that
     * {@code min.insync.replicas} never exceeds the effective replication factor (on a single-node cluster a
     * definition's 2 would make every acks=all write fail).
     */
    public Map<String, String> effectiveConfigs(int brokers) {
        String isr = configs.get(MIN_ISR);
        short rf = effectiveReplicationFactor(brokers);
        if (isr == null || Integer.parseInt(isr) <= rf) {
            return configs;
        }
        Map<String, String> m = new java.util.TreeMap<>(configs);
        m.put(MIN_ISR, Integer.toString(rf));
        return m;
    }

    static final String MIN_ISR = "min.insync.replicas";

    public Map<String, String> configMap() {
        return configs;
    }
}
