package dev.gblm.stream.ingest;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The record keys present in a topic: what makes {@code gblm ingest} idempotent. Document keys are content-derived
 * ({@code dev.gblm.stream.SampleRecord}), so a document whose key is already in its calibration topic was published
 * before and is not sent again.
 *
 * <p>{@link #read} consumes the whole topic once, from the beginning up to the end offsets taken when it starts
 * ({@code read_committed}, no consumer group, nothing committed) and keeps the keys only, byte for byte. The values
 * are fetched too (Kafka cannot fetch keys alone), which is acceptable for calibration topics of modest size; memory
 * is the key set. A topic that has passed its retention no longer holds the expired keys, so those documents WOULD be
 * published again (and counted again by the workers).
 */
public final class TopicKeys {
    private final Set<ByteBuffer> keys;

    private TopicKeys(Set<ByteBuffer> keys) {
        this.keys = keys;
    }

    /** No key at all (an empty or new topic). */
    public static TopicKeys none() {
        return new TopicKeys(new HashSet<>());
    }

    /** The given keys (tests, or keys known otherwise). */
    public static TopicKeys of(List<byte[]> keys) {
        TopicKeys k = none();
        keys.forEach(k::add);
        return k;
    }

    /**
     * Reads every key of {@code topic} up to its current end.
     *
     * @throws GblmException when the topic does not exist or cannot be read within {@code timeout}
     */
    public static TopicKeys read(KafkaSettings kafka, String topic, Duration timeout) {
        Properties p = kafka.consumer("gblm-ingest-keys");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        TopicKeys out = none();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<PartitionInfo> infos = c.partitionsFor(topic, timeout);
            if (infos == null || infos.isEmpty()) {
                throw new GblmException("topic " + topic + " does not exist");
            }
            List<TopicPartition> tps = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            // read_committed: the end is the last stable offset, so an open transaction cannot make this wait
            Map<TopicPartition, Long> end = c.endOffsets(tps, timeout);
            while (tps.stream().anyMatch(tp -> c.position(tp, timeout) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new GblmException("could not read the keys already in " + topic + " within "
                            + timeout.toSeconds() + " s (use --force to publish without this check)");
                }
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (r.key() != null && r.offset() < end.get(new TopicPartition(r.topic(), r.partition()))) {
                        out.add(r.key());
                    }
                }
            }
        } catch (TimeoutException e) {
            throw new GblmException("could not read the keys already in " + topic + " within " + timeout.toSeconds()
                    + " s: " + e.getMessage() + " (use --force to publish without this check)");
        }
        return out;
    }

    public boolean contains(byte[] key) {
        return keys.contains(ByteBuffer.wrap(key));
    }

    /** Adds a key (the ingest adds what it sends, so a document repeated in one input is sent once). */
    public void add(byte[] key) {
        keys.add(ByteBuffer.wrap(key.clone()));
    }

    public int size() {
        return keys.size();
    }
}
