package dev.gblm.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.StatsCollector;
import dev.gblm.model.Checkpoint;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.Mask;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.prune.batch.MaskFile;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.InvalidSampleException;
import dev.gblm.stream.Json;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.finalizer.CheckpointWeights;
import dev.gblm.stream.finalizer.Finalizer;
import dev.gblm.stream.finalizer.FinalizerSettings;
import dev.gblm.stream.ingest.Ingestor;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.worker.SampleDecoder;
import dev.gblm.stream.worker.Worker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.CloseOptions;

/** Shared helpers of the worker integration tests: topics, ingest, read-back, reference statistics. */
public final class StreamTestSupport {
    public static final Path TINY = Path.of("src/test/resources/fixtures/tiny/model");

    private StreamTestSupport() {}

    /** Short session timeouts so a crashed worker's partitions move quickly. */
    public static Map<String, String> fastGroup() {
        return Map.of(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000",
                ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "500");
    }

    public static void createTopic(Admin admin, String name, int partitions) throws Exception {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    }

    /** Random token-id documents of 2..maxLen tokens, ids in [0, vocab). */
    public static List<int[]> randomDocs(int n, int vocab, int maxLen, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int[] t = new int[2 + r.nextInt(maxLen - 1)];
            t[0] = 1;
            for (int j = 1; j < t.length; j++) {
                t[j] = r.nextInt(vocab);
            }
            out.add(t);
        }
        return out;
    }

    /** Produces raw records round-robin over the topic's partitions (exact spread, no hashing). */
    public static void produce(String bootstrap, String topic, int partitions, List<byte[][]> keyValues, List<String> formats) {
        try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Ingestor.producerProperties(KafkaSettings.of(bootstrap)))) {
            for (int i = 0; i < keyValues.size(); i++) {
                List<Header> h = new ArrayList<>();
                if (formats.get(i) != null) {
                    h.add(new RecordHeader(Topics.HEADER_FORMAT, formats.get(i).getBytes(StandardCharsets.UTF_8)));
                }
                p.send(new ProducerRecord<>(topic, i % partitions, keyValues.get(i)[0], keyValues.get(i)[1], h));
            }
            p.flush();
        }
    }

    public static void produceTokens(String bootstrap, String topic, int partitions, List<int[]> docs) {
        List<byte[][]> kv = new ArrayList<>();
        List<String> f = new ArrayList<>();
        for (int[] d : docs) {
            SampleRecord s = SampleRecord.ofTokens(d);
            kv.add(new byte[][] {(topic + "/" + kv.size()).getBytes(StandardCharsets.UTF_8), s.value()});
            f.add(s.format());
        }
        produce(bootstrap, topic, partitions, kv, f);
    }

    /** Every committed record of {@code topic} (read_committed, up to the last stable offset). */
    public static List<ConsumerRecord<byte[], byte[]>> readCommitted(String bootstrap, String topic) {
        return readCommitted(KafkaSettings.of(bootstrap), topic);
    }

    /** {@link #readCommitted(String, String)} as the client {@code kafka} describes (e.g. a user of a secured broker). */
    public static List<ConsumerRecord<byte[], byte[]>> readCommitted(KafkaSettings kafka, String topic) {
        Properties p = kafka.common();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, Integer.toString(16 << 20));
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = c.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("timed out reading " + topic);
                }
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    public static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** The committed slices of the given streams. */
    public static List<SliceRecord> slices(String bootstrap, Set<String> streams) {
        List<SliceRecord> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(bootstrap, Topics.SLICES.name())) {
            SliceRecord s = Json.read(r.value(), SliceRecord.class);
            if (streams.contains(s.stream())) {
                out.add(s.validate());
            }
        }
        return out;
    }

    /**
     * Asserts that the ranges of the slices (plus any dead-letter-only offsets given) tile every partition of the
     * topics from 0 to its end with no overlap and no gap.
     */
    public static void assertTiling(List<SliceRecord> slices, Map<TopicPartition, Long> ends) {
        Map<TopicPartition, List<long[]>> byTp = new HashMap<>();
        for (SliceRecord s : slices) {
            for (OffsetRange r : s.ranges()) {
                byTp.computeIfAbsent(new TopicPartition(r.topic(), r.partition()), k -> new ArrayList<>())
                        .add(new long[] {r.fromInclusive(), r.toExclusive()});
            }
        }
        assertRangesTile(byTp, ends);
    }

    /** Asserts that the offset ranges {@code [from, to)} of each partition tile it from 0 to its end exactly. */
    public static void assertRangesTile(Map<TopicPartition, List<long[]>> ranges, Map<TopicPartition, Long> ends) {
        assertThat(ranges.keySet()).containsExactlyInAnyOrderElementsOf(ends.keySet());
        ends.forEach((tp, end) -> {
            List<long[]> rs = ranges.get(tp);
            rs.sort((a, b) -> Long.compare(a[0], b[0]));
            long next = 0;
            for (long[] r : rs) {
                assertThat(r[0]).as("start of a range of %s (no gap, no overlap)", tp).isEqualTo(next);
                next = r[1];
            }
            assertThat(next).as("end of %s", tp).isEqualTo(end);
        });
    }

    /** Sums the committed statistics blocks of the given slices, block by block; checks each slice's block count. */
    public static Map<BlockKey, ModuleStats> mergedBlocks(String bootstrap, List<SliceRecord> slices) {
        Map<String, SliceRecord> ids = new HashMap<>();
        slices.forEach(s -> ids.put(s.sliceId(), s));
        Map<String, Integer> counts = new HashMap<>();
        Map<BlockKey, ModuleStats> merged = new TreeMap<>((a, b) -> a.toString().compareTo(b.toString()));
        for (ConsumerRecord<byte[], byte[]> r : readCommitted(bootstrap, Topics.STATS.name())) {
            String slice = header(r, Topics.HEADER_SLICE);
            if (!ids.containsKey(slice)) {
                continue;
            }
            counts.merge(slice, 1, Integer::sum);
            BlockKey key = BlockKey.parse(new String(r.key(), StandardCharsets.UTF_8));
            ModuleStats m = StatsCodec.decode(r.value());
            merged.merge(key, m, (x, y) -> x.merge(y));
        }
        for (SliceRecord s : slices) {
            assertThat(counts.get(s.sliceId())).as("blocks of slice %s", s.sliceId()).isEqualTo(s.blockCount());
        }
        return merged;
    }

    /**
     * Per slice: the statistics computed directly over exactly the token documents its offset ranges cover, compared
     * with the slice's own committed blocks. Returns the largest relative error and prints the worst slice.
     */
    public static double perSliceError(String bootstrap, Checkpoint ckpt, List<SliceRecord> slices, int seqLen) {
        Map<String, int[]> byOffset = new HashMap<>();
        Set<String> topics = new java.util.TreeSet<>();
        slices.forEach(s -> s.ranges().forEach(r -> topics.add(r.topic())));
        for (String t : topics) {
            for (ConsumerRecord<byte[], byte[]> r : readCommitted(bootstrap, t)) {
                try {
                    SampleRecord sr = SampleRecord.decode(r.key(), r.value(), null);
                    if (sr.tokens() != null) {
                        byOffset.put(t + "/" + r.partition() + "/" + r.offset(), sr.tokens());
                    }
                } catch (InvalidSampleException e) {
                    // rejected samples are not part of any statistics
                }
            }
        }
        double worst = 0;
        for (SliceRecord s : slices) {
            List<int[]> docs = new ArrayList<>();
            for (OffsetRange r : s.ranges()) {
                for (long o = r.fromInclusive(); o < r.toExclusive(); o++) {
                    int[] d = byOffset.get(r.topic() + "/" + r.partition() + "/" + o);
                    if (d != null) {
                        docs.add(d);
                    }
                }
            }
            double e = maxRelativeError(mergedBlocks(bootstrap, List.of(s)), reference(ckpt, docs, seqLen, 100f));
            if (e > worst) {
                System.out.println("slice " + s.sliceId() + " " + s.ranges() + ": relative error " + e);
            }
            worst = Math.max(worst, e);
        }
        return worst;
    }

    /**
     * Every accepted sample of {@code topics} decoded exactly as the worker does, keyed {@code topic/partition/offset}
     * (rejected samples are in no statistics and absent).
     */
    public static Map<String, int[]> samplesByOffset(String bootstrap, Collection<String> topics, SampleDecoder decoder) {
        Map<String, int[]> byOffset = new HashMap<>();
        for (String topic : topics) {
            for (ConsumerRecord<byte[], byte[]> r : readCommitted(bootstrap, topic)) {
                if (decoder.decode(r.key(), r.value(), header(r, Topics.HEADER_FORMAT)) instanceof SampleDecoder.Accepted acc) {
                    byOffset.put(topic + "/" + r.partition() + "/" + r.offset(), acc.tokens());
                }
            }
        }
        return byOffset;
    }

    /** The samples the slices' offset ranges cover, slice by slice ({@link #samplesByOffset} keys). */
    public static List<int[]> samplesOf(List<SliceRecord> slices, Map<String, int[]> byOffset) {
        List<int[]> docs = new ArrayList<>();
        for (SliceRecord s : slices) {
            for (OffsetRange r : s.ranges()) {
                for (long off = r.fromInclusive(); off < r.toExclusive(); off++) {
                    int[] d = byOffset.get(r.topic() + "/" + r.partition() + "/" + off);
                    if (d != null) {
                        docs.add(d);
                    }
                }
            }
        }
        return docs;
    }

    /**
     * The exported epoch in {@code epochDir} (its masks.bin) against {@link BatchPruner} one-shot over {@code samples}:
     * asserts the same pruned count per module and returns {differing mask bits, total mask bits}.
     */
    public static long[] batchDisagreement(Path epochDir, Checkpoint ckpt, List<int[]> samples, PruneSettings settings)
            throws IOException {
        Map<String, Mask> streamed = new HashMap<>();
        long total = 0;
        for (MaskFile.Entry e : MaskFile.read(epochDir.resolve("masks.bin"))) {
            streamed.put(e.layer() + "/" + e.module(), e.mask());
            total += e.mask().numel();
        }
        BatchPruner.Result batch;
        try (LlamaModel m = LlamaModel.load(ckpt)) {
            batch = BatchPruner.prune(m, samples, BatchPruneSettings.of(settings, PruneMode.ONE_SHOT), null);
        }
        long differing = 0;
        for (Map.Entry<ModuleKey, Mask> e : batch.masks().entrySet()) {
            Mask s = streamed.get(e.getKey().layer() + "/" + e.getKey().kind().shortName());
            assertThat(s).as("exported mask of %s", e.getKey()).isNotNull();
            assertThat(s.prunedCount()).as("pruned count of %s", e.getKey()).isEqualTo(e.getValue().prunedCount());
            differing += s.differences(e.getValue());
        }
        return new long[] {differing, total};
    }

    /** Statistics computed directly over the documents (truncated to seqLen), no Kafka. */
    public static CalibrationStats reference(Checkpoint ckpt, List<int[]> docs, int seqLen, float gradScale) {
        try (LlamaModel m = LlamaModel.load(ckpt); StatsCollector c = new StatsCollector(m, Worker.KINDS, gradScale)) {
            for (int[] d : docs) {
                c.add(d.length > seqLen ? Arrays.copyOf(d, seqLen) : d);
            }
            return c.snapshot();
        }
    }

    /**
     * Compares merged blocks with the reference; returns the largest relative difference
     * {@code |a-b| / max|ref|} over every statistic array of every module.
     */
    public static double maxRelativeError(Map<BlockKey, ModuleStats> blocks, CalibrationStats ref) {
        double worst = 0;
        int rowsSeen = 0;
        int rowsExpected = 0;
        for (ModuleStats m : ref.modules().values()) {
            rowsExpected += m.rows();
        }
        for (Map.Entry<BlockKey, ModuleStats> e : blocks.entrySet()) {
            ModuleStats got = e.getValue();
            ModuleStats want = ref.get(got.layer(), got.module()).rowBlock(got.rowStart(), got.rowEnd());
            assertThat(got.sampleCount()).isEqualTo(want.sampleCount());
            assertThat(got.tokenCount()).isEqualTo(want.tokenCount());
            worst = Math.max(worst, rel(got.gradL1(), want.gradL1()));
            worst = Math.max(worst, rel(got.gradL2Sq(), want.gradL2Sq()));
            worst = Math.max(worst, rel(got.actSq(), want.actSq()));
            rowsSeen += got.rows();
        }
        assertThat(rowsSeen).as("rows covered by the blocks").isEqualTo(rowsExpected);
        return worst;
    }

    private static double rel(float[] a, float[] b) {
        double scale = 0;
        for (float v : b) {
            scale = Math.max(scale, Math.abs(v));
        }
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return scale == 0 ? d : d / scale;
    }

    public static void await(String what, Duration timeout, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(100);
        }
    }

    /** The end offset of every partition of {@code topic}, as the broker reports it. */
    public static Map<TopicPartition, Long> ends(Admin admin, String topic, int partitions) throws Exception {
        Map<TopicPartition, OffsetSpec> q = new LinkedHashMap<>();
        for (int p = 0; p < partitions; p++) {
            q.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, Long> m = new LinkedHashMap<>();
        admin.listOffsets(q).all().get().forEach((tp, info) -> m.put(tp, info.offset()));
        return m;
    }

    /**
     * Writes TinyStories validation documents {@code [from, to)} of the shared data to {@code file} (blank-line
     * separated, as {@code gblm ingest} reads text) and returns them; the held-out pipeline tests ingest it.
     */
    public static List<String> writeStories(Path file, int from, int to) throws IOException {
        List<String> docs = CalibrationSet.documents(
                Files.readString(TestData.require("corpora/tinystories_val_head.txt")), false).subList(from, to);
        Files.writeString(file, String.join("\n\n", docs) + "\n");
        return docs;
    }

    /**
     * Stops the pipeline's finalizer (leaving the group, so the new member need not wait out the old one's session)
     * and starts a new instance of the same application on the empty state directory {@code state}: every store must
     * then be restored from its changelog.
     */
    public static Finalizer replaceFinalizerOnEmptyState(
            Pipeline p, Path state, Checkpoint ckpt, String instance,
            GblmMetrics metrics) {
        p.finalizer().streams().close(CloseOptions.groupMembershipOperation(
                CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                .withTimeout(Duration.ofSeconds(60)));
        p.finalizer().stop();
        return new Finalizer(FinalizerSettings.builder(p.kafka(),
                state, ckpt.fingerprint()).applicationId("gblm-finalizer-" + instance)
                .startTimeout(Duration.ofMinutes(3)).build(),
                new CheckpointWeights(ckpt), metrics).start();
    }
}
