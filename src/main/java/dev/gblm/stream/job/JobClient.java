package dev.gblm.stream.job;

import dev.gblm.GblmException;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.Ids;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes and reads job definitions: admin jobs on the compacted topic {@code gblm.jobs}, a team's jobs on its own
 * {@code gblm.jobs.<team>} (which only the team may write; the finalizer relays it to gblm.jobs); and the state of a
 * job ({@code gblm.job-status}, {@code gblm.epochs}, {@code gblm.models}) for {@code gblm job status}.
 */
public final class JobClient {
    public static final String TOPIC = Topics.JOBS.name();
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    private final KafkaSettings kafka;

    public JobClient(KafkaSettings kafka) {
        this.kafka = kafka;
    }

    /** What a submit did: the normalized spec, and the streams whose topic does not exist yet (a warning, not an error). */
    public record Submitted(JobSpec spec, List<String> missingStreams) {}

    /**
     * Validates, and writes the job (idempotent producer, waits for the ack) to gblm.jobs, or to the team's job topic
     * when the spec names a team. An admin submit creates gblm's topics; a team's needs its topic made by
     * {@code gblm team apply}, since a team may not create gblm's topics.
     */
    public Submitted submit(JobSpec job) {
        JobSpec spec = job.validated();
        String topic = jobsTopic(spec.team());
        List<String> missing;
        try (TopicAdmin admin = TopicAdmin.connect(kafka)) {
            if (spec.team() == null) {
                admin.apply(TopicCatalog.fromClasspath());
            }
            Set<String> topics = admin.listTopics();
            if (!topics.contains(topic)) {
                throw new GblmException("topic " + topic + " does not exist or this user may not see it: onboard team "
                        + spec.team() + " first (gblm team apply " + spec.team() + ") and use its credentials (--kafka-config)");
            }
            missing = spec.streams().stream().filter(s -> !topics.contains(Topics.calibrationTopic(s))).toList();
        }
        write(topic, spec.id(), Json.write(spec), "cannot write job " + spec.id() + " to " + topic);
        return new Submitted(spec, missing);
    }

    /** Deletes a job (tombstone) from gblm.jobs, or from the team's job topic. */
    public void delete(String id, String team) {
        Ids.requireSafe("job id", id);
        JobSpec.requireOwnId(id, team);
        String topic = jobsTopic(team);
        write(topic, id, null, "cannot delete job " + id + " from " + topic);
    }

    /** Deletes a job of gblm.jobs (tombstone). */
    public void delete(String id) {
        delete(id, null);
    }

    private static String jobsTopic(String team) {
        return team == null ? TOPIC : Topics.teamJobsTopic(team);
    }

    private void write(String topic, String key, byte[] value, String failure) {
        Properties p = kafka.producer("gblm-job-client");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new GblmException(failure + ": " + e.getCause().getMessage(), e.getCause());
        } catch (Exception e) {
            throw new GblmException(failure + ": " + e.getMessage(), e);
        }
    }

    /** The current jobs of gblm.jobs (every team's, relayed), by id; unparsable values are listed as errors. */
    public Map<String, Object> list() {
        return list(null);
    }

    /** The current jobs of gblm.jobs, or of one team's job topic (latest value per key, tombstones removed). */
    public Map<String, Object> list(String team) {
        Map<String, Object> jobs = new TreeMap<>();
        readAll(jobsTopic(team), r -> {
            if (r.value() == null) {
                jobs.remove(r.key());
            } else {
                try {
                    jobs.put(r.key(), Json.read(r.value(), JobSpec.class));
                } catch (RecordFormatException e) {
                    jobs.put(r.key(), "invalid: " + e.getMessage() + " (" + new String(r.value(), StandardCharsets.UTF_8) + ")");
                }
            }
        });
        return jobs;
    }

    /**
     * Everything known about one job: its definition (null when deleted or never submitted), its latest status, its
     * declared epochs and its exported models, oldest first.
     */
    public record Report(String id, JobSpec spec, JobStatus status, List<EpochRecord> epochs, List<ModelReady> models) {}

    /** The {@link Report} of job {@code id}, read from the topics {@code team} (null = admin) may read. */
    public Report status(String id, String team) {
        Ids.requireSafe("job id", id);
        JobSpec.requireOwnId(id, team);
        Object def = list(team).get(id);
        JobStatus[] status = new JobStatus[1];
        readAll(Topics.JOB_STATUS.name(), r -> {
            if (id.equals(r.key())) {
                status[0] = r.value() == null ? null : parseOrNull(r.value(), JobStatus.class);
            }
        });
        Map<Integer, EpochRecord> epochs = new TreeMap<>();
        readAll(Topics.EPOCHS.name(), r -> {
            EpochRecord e = id.equals(r.key()) ? parseOrNull(r.value(), EpochRecord.class) : null;
            if (e != null) {
                epochs.put(e.epoch(), e);
            }
        });
        Map<Integer, ModelReady> models = new TreeMap<>();
        readAll(Topics.MODELS.name(), r -> {
            ModelReady m = id.equals(r.key()) ? parseOrNull(r.value(), ModelReady.class) : null;
            if (m != null) {
                models.put(m.epoch(), m);
            }
        });
        return new Report(id, def instanceof JobSpec js ? js : null, status[0], List.copyOf(epochs.values()),
                List.copyOf(models.values()));
    }

    private static <T> T parseOrNull(byte[] value, Class<T> type) {
        try {
            return Json.read(value, type);
        } catch (RecordFormatException e) {
            return null;
        }
    }

    /** Reads {@code topic} from its beginning to its end now (read_committed, no consumer group). */
    private void readAll(String topic, Consumer<ConsumerRecord<String, byte[]>> each) {
        Properties p = kafka.consumer("gblm-job-client");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(30));
            if (infos == null || infos.isEmpty()) {
                throw new GblmException("topic " + topic + " does not exist or this user may not read it");
            }
            List<TopicPartition> parts = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            Map<TopicPartition, Long> end = c.endOffsets(parts);
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new GblmException("timed out reading " + topic);
                }
                for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
                    each.accept(r);
                }
            }
        } catch (org.apache.kafka.common.errors.AuthorizationException e) {
            throw new GblmException("not allowed to read " + topic + ": " + e.getMessage());
        }
    }
}
