package dev.gblm.stream.exporter;

import dev.gblm.ops.KafkaRetry;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.HoldOut;
import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * Reads held-out records from a calibration topic with a group-less, read_committed consumer (assigned one partition
 * at a time, from its beginning to its end offset as of the scan): the exporter never commits anything here.
 */
final class KafkaHeldOutSource implements HeldOutSource {
    private static final Duration READ_LIMIT = Duration.ofSeconds(120);
    private final KafkaSettings kafka;
    private final String clientId;

    KafkaHeldOutSource(KafkaSettings kafka, String clientId) {
        this.kafka = kafka;
        this.clientId = clientId;
    }

    @Override
    public boolean scan(String topic, double fraction, Visitor visitor) {
        Properties p = kafka.consumer(clientId);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = KafkaRetry.onTimeout("reading the partitions of " + topic, KafkaRetry.SERVICE_WAIT,
                    () -> c.partitionsFor(topic, Duration.ofSeconds(30))).stream()
                    .map(i -> new TopicPartition(topic, i.partition()))
                    .sorted(Comparator.comparingInt(TopicPartition::partition)).toList();
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            for (TopicPartition tp : tps) {
                c.assign(List.of(tp));
                c.seekToBeginning(List.of(tp));
                long deadline = System.nanoTime() + READ_LIMIT.toNanos();
                while (c.position(tp) < end.get(tp)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("reading held-out records of " + tp + " took more than "
                                + READ_LIMIT.toSeconds() + " s");
                    }
                    for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                        if (r.offset() >= end.get(tp) || !HoldOut.isHeldOut(topic, r.key(), fraction)) {
                            continue;
                        }
                        Header h = r.headers().lastHeader(Topics.HEADER_FORMAT);
                        String format = h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
                        if (!visitor.accept(new Sample(topic, r.partition(), r.offset(), r.key(), r.value(), format))) {
                            return false;
                        }
                    }
                }
            }
        }
        return true;
    }
}
