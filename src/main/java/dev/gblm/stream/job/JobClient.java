package dev.gblm.stream.job;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.RecordFormatException;
import dev.gblm.stream.Topics;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Writes and reads job definitions on the compacted topic {@code gblm.jobs}. */
public final class JobClient {
    public static final String TOPIC = "gblm.jobs";

    private final KafkaSettings kafka;

    public JobClient(KafkaSettings kafka) {
        this.kafka = kafka;
    }

    /** What a submit did: the normalized spec, and the streams whose topic does not exist yet (a warning, not an error). */
    public record Submitted(JobSpec spec, List<String> missingStreams) {}

    /** Validates, ensures the topics, and writes the job (idempotent producer, waits for the ack). */
    public Submitted submit(JobSpec job) {
        JobSpec spec = job.validated();
        List<String> missing;
        try (TopicAdmin admin = TopicAdmin.connect(kafka)) {
            admin.apply(TopicCatalog.fromClasspath());
            Set<String> topics = admin.listTopics();
            missing = spec.streams().stream().filter(s -> !topics.contains(Topics.calibrationTopic(s))).toList();
        }
        Properties p = kafka.producer("gblm-job-client");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(TOPIC, spec.id(), Json.write(spec))).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new GblmException("cannot write job " + spec.id() + " to " + TOPIC + ": " + e.getMessage(), e);
        }
        return new Submitted(spec, missing);
    }

    /** Deletes a job (tombstone). */
    public void delete(String id) {
        Properties p = kafka.producer("gblm-job-client");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(TOPIC, id, null)).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new GblmException("cannot delete job " + id + ": " + e.getMessage(), e);
        }
    }

    /** The current jobs (latest value per key, tombstones removed), by id; unparsable values are listed as errors. */
    public Map<String, Object> list() {
        Properties p = kafka.consumer("gblm-job-client");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, Object> jobs = new TreeMap<>();
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = c.partitionsFor(TOPIC, Duration.ofSeconds(30)).stream()
                    .map(i -> new TopicPartition(TOPIC, i.partition())).collect(Collectors.toList());
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new GblmException("timed out reading " + TOPIC);
                }
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    if (r.value() == null) {
                        jobs.remove(r.key());
                    } else {
                        try {
                            jobs.put(r.key(), Json.read(r.value(), JobSpec.class));
                        } catch (RecordFormatException e) {
                            jobs.put(r.key(), "invalid: " + e.getMessage() + " (" + new String(r.value(), StandardCharsets.UTF_8) + ")");
                        }
                    }
                }
            }
        }
        return jobs;
    }

}
