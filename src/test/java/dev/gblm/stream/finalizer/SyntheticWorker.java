package dev.gblm.stream.finalizer;

import dev.gblm.model.LinearKind;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.RowBlockPlanner;
import dev.gblm.stats.RowRange;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.Json;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.Profile;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Test stand-in for the real worker: per slice, random whole-module statistics, split by RowBlockPlanner at the
 * profile's byte limit, written with the slice record in ONE Kafka transaction, exactly as the worker must.
 * Remembers every slice's whole-module statistics for the in-memory reference merge.
 */
final class SyntheticWorker implements AutoCloseable {
    final Map<String, Map<ModuleKey, ModuleStats>> slices = new LinkedHashMap<>();
    final Map<String, SliceRecord> records = new LinkedHashMap<>();
    final Map<String, SliceRecord> badRecords = new LinkedHashMap<>();
    private final KafkaProducer<String, byte[]> producer;
    private final DenseWeights weights;
    private final Profile profile;
    private final String workerId;
    private final Random rnd;
    private int seq;

    SyntheticWorker(String bootstrap, String workerId, DenseWeights weights, Profile profile, long seed) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "synthetic-" + workerId);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        producer.initTransactions();
        this.weights = weights;
        this.profile = profile;
        this.workerId = workerId;
        this.rnd = new Random(seed);
    }

    /** Writes one slice of {@code samples} samples from {@code stream}, partition {@code partition}, offsets starting at {@code from}. */
    SliceRecord writeSlice(String stream, int partition, long from, int samples) {
        return writeSlice(stream, partition, from, samples, false);
    }

    /**
     * With {@code oneBlockWrongIn}, the slice's first statistics block claims one column more than the model has: a
     * bad slice, remembered only in {@link #badRecords} (no reference merge may use it).
     */
    SliceRecord writeSlice(String stream, int partition, long from, int samples, boolean oneBlockWrongIn) {
        String sliceId = workerId + "-" + stream + "-" + (seq++);
        long tokens = samples * 50L;
        Map<ModuleKey, ModuleStats> whole = new LinkedHashMap<>();
        int blocks = 0;
        producer.beginTransaction();
        for (int l = 0; l < weights.numLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                int[] s = weights.shape(l, k);
                ModuleStats m = ModuleStats.zeros(l, k, 0, s[0], s[1], profile.kinds());
                fill(m.gradL1());
                fill(m.gradL2Sq());
                fill(m.actSq());
                m.addCounts(samples, tokens);
                whole.put(new ModuleKey(l, k), m);
                for (RowRange r : RowBlockPlanner.plan(s[0], s[1], profile.kinds(), profile.blockBytes())) {
                    ModuleStats block = m.rowBlock(r.start(), r.end());
                    if (oneBlockWrongIn && blocks == 0) {
                        block = ModuleStats.zeros(l, k, r.start(), r.end(), s[1] + 1, profile.kinds());
                        block.addCounts(samples, tokens);
                    }
                    ProducerRecord<String, byte[]> rec = new ProducerRecord<>(Topics.STATS.name(),
                            new BlockKey(profile.id(), l, k, r.start()).toString(), StatsCodec.encode(block));
                    rec.headers().add(Topics.HEADER_SLICE, sliceId.getBytes(StandardCharsets.UTF_8));
                    producer.send(rec);
                    blocks++;
                }
            }
        }
        SliceRecord sr = new SliceRecord(sliceId, profile.id(), profile, stream,
                List.of(new OffsetRange("calib." + stream, partition, from, from + samples)), samples, tokens, 0, blocks,
                System.currentTimeMillis());
        producer.send(new ProducerRecord<>(Topics.SLICES.name(), profile.id(), Json.write(sr)));
        producer.commitTransaction();
        if (oneBlockWrongIn) {
            badRecords.put(sliceId, sr);
            return sr;
        }
        slices.put(sliceId, whole);
        records.put(sliceId, sr);
        return sr;
    }

    private void fill(float[] a) {
        if (a == null) {
            return;
        }
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 10f;
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}
