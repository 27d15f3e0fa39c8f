package dev.gblm.ops;

import dev.gblm.GblmException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * How every gblm Kafka client connects: the bootstrap servers and the client properties all clients share
 * (security protocol, SASL and TLS settings, timeouts, ...). This is the one place client properties start from;
 * each service then adds only what is specific to its role (transactional id, isolation level, ...), so a
 * connection setting is added here once and reaches the worker, finalizer, exporter, ingest, job and topic clients.
 *
 * @param bootstrapServers Kafka bootstrap servers ({@code host:port,...})
 * @param clientProperties properties given to every client (admin, producer, consumer, Kafka Streams)
 */
public record KafkaSettings(String bootstrapServers, Map<String, String> clientProperties) {
    public KafkaSettings {
        if (bootstrapServers == null || bootstrapServers.isBlank()) {
            throw new GblmException("no Kafka bootstrap servers given");
        }
        clientProperties = clientProperties == null ? Map.of() : Map.copyOf(clientProperties);
    }

    /** Environment variable naming the bootstrap servers when no flag gives them. */
    public static final String ENV_BOOTSTRAP = "GBLM_BOOTSTRAP_SERVERS";
    /** Prefix of environment variables that set client properties: {@code GBLM_KAFKA_SASL_MECHANISM} → {@code sasl.mechanism}. */
    public static final String ENV_PREFIX = "GBLM_KAFKA_";

    /**
     * The settings of a command from its three sources, for containers and secured clusters alike: a Kafka client
     * properties file ({@code --kafka-config}, as Kafka's own tools take {@code --command-config}), then environment
     * variables {@code GBLM_KAFKA_<KEY>} (upper case, '.' written '_') that override it, and the bootstrap servers
     * from the flag, else {@value #ENV_BOOTSTRAP}, else {@code bootstrap.servers} of the sources above.
     *
     * @param bootstrapServers the flag's value, or null
     * @param configFile       a properties file, or null
     * @param env              the environment (System.getenv() in the CLI)
     */
    public static KafkaSettings resolve(String bootstrapServers, java.nio.file.Path configFile, Map<String, String> env) {
        Map<String, String> props = new java.util.TreeMap<>();
        if (configFile != null) {
            Properties p = new Properties();
            try (java.io.Reader r = java.nio.file.Files.newBufferedReader(configFile, java.nio.charset.StandardCharsets.UTF_8)) {
                p.load(r);
            } catch (java.io.IOException | IllegalArgumentException e) {
                throw new GblmException("cannot read the Kafka client properties --kafka-config " + configFile + ": "
                        + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
            }
            p.stringPropertyNames().forEach(k -> props.put(k, p.getProperty(k).trim()));
        }
        env.forEach((k, v) -> {
            if (k.startsWith(ENV_PREFIX) && k.length() > ENV_PREFIX.length()) {
                props.put(k.substring(ENV_PREFIX.length()).toLowerCase(java.util.Locale.ROOT).replace('_', '.'), v);
            }
        });
        String servers = bootstrapServers != null ? bootstrapServers
                : env.get(ENV_BOOTSTRAP) != null ? env.get(ENV_BOOTSTRAP)
                : props.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        props.remove(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        if (servers == null || servers.isBlank()) {
            throw new GblmException("no Kafka bootstrap servers: give --bootstrap-servers, " + ENV_BOOTSTRAP
                    + ", or bootstrap.servers in --kafka-config");
        }
        return new KafkaSettings(servers.trim(), props);
    }

    /** Bootstrap servers only (a plaintext cluster such as the embedded broker). */
    public static KafkaSettings of(String bootstrapServers) {
        return new KafkaSettings(bootstrapServers, Map.of());
    }

    /** The shared properties: bootstrap servers, then every common client property. */
    public Properties common() {
        Properties p = new Properties();
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.putAll(clientProperties);
        return p;
    }

    /** An admin client's properties. */
    public Properties admin(String clientId) {
        Properties p = common();
        p.put(CommonClientConfigs.CLIENT_ID_CONFIG, clientId);
        return p;
    }

    /** A producer of byte[] keys and values (pass serializer instances to the constructor for other types). */
    public Properties producer(String clientId) {
        Properties p = common();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return p;
    }

    /** A consumer of byte[] keys and values that never commits on its own. */
    public Properties consumer(String clientId) {
        Properties p = common();
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        return p;
    }

    /**
     * A Kafka Streams application's base properties. Kafka Streams passes unprefixed client properties on to its
     * consumers, producers and admin client, so the common properties apply to all of them.
     */
    public Properties streams(String applicationId) {
        Properties p = common();
        p.put("application.id", applicationId);
        return p;
    }

    /**
     * These settings as the text of a Kafka client properties file, what {@code --kafka-config FILE} and Kafka's own
     * {@code --command-config} read: {@code bootstrap.servers}, then the client properties by key.
     */
    public String toClientConfig() {
        StringBuilder sb = new StringBuilder();
        sb.append(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG).append('=').append(bootstrapServers).append('\n');
        new java.util.TreeMap<>(clientProperties).forEach((k, v) ->
                sb.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
        return sb.toString();
    }

    /** Writes {@link #toClientConfig()} to {@code file}, readable by its owner only (it may hold passwords). */
    public Path writeClientConfig(Path file) {
        try {
            EmbeddedKafka.writePrivate(file, toClientConfig());
        } catch (java.io.IOException e) {
            throw new GblmException("cannot write the client properties " + file + ": " + e.getMessage(), e);
        }
        return file;
    }

    @Override
    public String toString() {
        // never print property values: they may hold passwords
        return bootstrapServers + (clientProperties.isEmpty() ? "" : " (+" + clientProperties.size() + " client properties)");
    }
}
