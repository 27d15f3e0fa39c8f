package dev.gblm.stream.finalizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.LinearKind;
import dev.gblm.ops.EmbeddedKafka;
import dev.gblm.ops.GblmMetrics;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.Mask;
import dev.gblm.prune.MaskSelector;
import dev.gblm.prune.Method;
import dev.gblm.prune.Scores;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.Profile;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.stream.job.JobClient;
import dev.gblm.testing.InMemoryWeights;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The finalizer against a real embedded broker: a synthetic transactional worker writes slices of random statistics
 * of a tiny random model over 2 streams; jobs for gblm, wanda, magnitude and gradient; the finalizer is restarted
 * mid-run with a wiped state directory (restore from changelogs); bad records are injected, poison pills among them
 * (JSON null and {} on the finalizer's inputs, statistics of the wrong kinds), which must reach the DLQ without a single
 * stream-thread failure. The epoch's masks must equal MaskSelector on the plain in-memory merge of exactly the epoch's
 * slices, each mask block exactly once, carrying the finalizer's application id; the changelogs get the replication
 * computed for this single-node broker.
 */
class FinalizerIntegrationTest {
    static EmbeddedKafka kafka;
    static final Duration ORPHAN_RETENTION = Duration.ofSeconds(15);
    static final String ORPHAN = "orphan-1";
    static final InMemoryWeights WEIGHTS = InMemoryWeights.randomLlama(2, 16, 40, 7);
    // 1000-byte records: q/k/v/o get 3 row blocks, gate/up 7, down 8 (68 blocks per slice)
    static final Profile PROFILE = new Profile("test-model-fp", 64, 100f, StatKinds.of(StatKind.GRAD, StatKind.ACT).bits(), 1000);

    @BeforeAll
    static void broker() {
        kafka = EmbeddedKafka.builder().heapMb(512).build().start();
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.stop();
        }
    }

    private static FinalizerSettings settings(String bs, Path stateDir) {
        return FinalizerSettings.builder(KafkaSettings.of(bs), stateDir, PROFILE.model()).applicationId("fin-it")
                .plannerInterval(Duration.ofMillis(300)).orphanRetention(ORPHAN_RETENTION)
                .startTimeout(Duration.ofSeconds(120)).build();
    }

    @Test
    void epochsEqualInMemoryMergeAcrossARestartAndBadRecordsGoToTheDlq(@TempDir Path tmp) throws Exception {
        String bs = kafka.bootstrapServers();
        FinalizerSettings settings = settings(bs, tmp.resolve("state1"));
        GblmMetrics metrics = new GblmMetrics("finalizer");
        Finalizer f1 = new Finalizer(settings, WEIGHTS, metrics).start();

        JobClient jobs = new JobClient(KafkaSettings.of(bs));
        List<JobSpec> specs = List.of(
                job("gblm-u50", List.of("a", "b"), "gblm", 0.5, "unstructured", 64, "l1"),
                job("wanda-24", List.of("a", "b"), "wanda", null, "2:4", 64, null),
                job("mag-u50", List.of("a"), "magnitude", 0.5, "unstructured", 32, null),
                job("grad-48-l2", List.of("b"), "gradient", null, "4:8", 40, "l2"));
        for (JobSpec s : specs) {
            jobs.submit(s);
        }
        assertThat(jobs.list()).containsKeys("gblm-u50", "wanda-24", "mag-u50", "grad-48-l2");

        try (SyntheticWorker w = new SyntheticWorker(bs, "w1", WEIGHTS, PROFILE, 11)) {
            // a bad slice first (one block with the wrong `in`): it must never be planned. Were it planned, phase 1
            // would reach 64 samples of a+b and declare gblm-u50 with an epoch that can never complete.
            w.writeSlice("b", 3, 0, 16, true);
            awaitCount(metrics, "gblm.finalizer.slices.bad", 1);
            // phase 1: 48 samples (a:32, b:16) -> only mag-u50 (32 of stream a) can be declared
            w.writeSlice("a", 0, 0, 16);
            w.writeSlice("b", 1, 0, 16);
            w.writeSlice("a", 1, 0, 16);
            List<EpochRecord> early = awaitEpochs(1);
            assertThat(early).extracting(EpochRecord::job).containsExactly("mag-u50");

            // restart with a WIPED state dir: everything must come back from the changelogs
            f1.close();
            Finalizer f2 = new Finalizer(settings(bs, tmp.resolve("state2")), WEIGHTS, metrics).start();
            try {
                injectBadRecords(bs);
                w.writeSlice("b", 0, 0, 16);  // 64 samples now: gblm-u50 and wanda-24
                w.writeSlice("b", 2, 0, 24);  // 56 in b: grad-48-l2 (minSamples 40)
                w.writeSlice("a", 2, 0, 16);  // arrives after every job is declared: used by none
                long liveWrittenAt = System.currentTimeMillis();
                awaitStore(f2, keys -> keys.stream().anyMatch(k -> k.endsWith("|" + ORPHAN)));

                List<EpochRecord> epochs = awaitEpochs(4);
                Map<String, EpochRecord> byJob = new HashMap<>();
                for (EpochRecord e : epochs) {
                    assertThat(byJob.put(e.job(), e)).as("one epoch record per job").isNull();
                    assertThat(e.epoch()).isEqualTo(1);
                    long planned = e.sliceIds().stream().mapToLong(id -> w.records.get(id).samples()).sum();
                    assertThat(e.samples()).isEqualTo(planned).isGreaterThanOrEqualTo(e.spec().minSamples());
                }
                assertThat(byJob.get("mag-u50").samples()).isEqualTo(32);
                assertThat(byJob.get("gblm-u50").samples()).isEqualTo(64);
                assertThat(byJob.get("wanda-24").sliceIds()).isEqualTo(byJob.get("gblm-u50").sliceIds());
                assertThat(byJob.get("grad-48-l2").samples()).isEqualTo(56); // whole slices in (stream, partition) order: 16 + 16 < 40, + 24

                Map<String, List<ConsumerRecord<String, byte[]>>> masks = awaitMasks(byJob);
                for (EpochRecord e : byJob.values()) {
                    assertMasksEqualReference(e, masks.get(e.job()), w);
                }

                // bounded state: every slice used by a finalized epoch is gone from the block store
                Set<String> used = new HashSet<>();
                byJob.values().forEach(e -> used.addAll(e.sliceIds()));
                String unused = w.records.keySet().stream().filter(id -> !used.contains(id)).findFirst().orElseThrow();
                awaitStore(f2, keys -> keys.stream().noneMatch(k -> used.contains(k.substring(k.indexOf('|') + 1))));
                // orphan sweep: the orphan block goes; the unused but accepted (claimed) slice outlives the retention
                awaitStore(f2, keys -> keys.stream().noneMatch(k -> k.endsWith("|" + ORPHAN)));
                long pastRetention = liveWrittenAt + ORPHAN_RETENTION.toMillis() * 2;
                while (System.currentTimeMillis() < pastRetention) {
                    Thread.sleep(200);
                }
                assertThat(metrics.registry().get("gblm.finalizer.orphans.deleted").counter().count()).isGreaterThanOrEqualTo(1);
                List<String> left = storeKeys(f2);
                assertThat(left).allMatch(k -> k.endsWith("|" + unused));
                assertThat(left).hasSize(68);

                Map<String, String> dlq = readDlqReasons(bs, 12);
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("corrupt-stats: ") && r.contains("CRC"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("corrupt-stats: ") && r.contains("bytes, header implies"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("wrong-shape: "));
                String badSlice = w.badRecords.keySet().iterator().next();
                assertThat(byJob.values()).allSatisfy(e -> assertThat(e.sliceIds()).doesNotContain(badSlice));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("unknown-block: "));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("invalid-slice: "));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("wrong-profile: "));
                // poison pills: on the dead-letter queue, and no stream thread failed on them
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("invalid-slice: ") && r.contains("JSON null"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("invalid-ack: ") && r.contains("JSON null"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("invalid-ack: ") && r.contains("ack needs job"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("invalid-instruction: ") && r.contains("JSON null"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("invalid-instruction: ") && r.contains("no type"));
                assertThat(dlq.values()).anyMatch(r -> r.startsWith("wrong-kinds: "));
                assertThat(metrics.registry().get("gblm.finalizer.thread.failures").counter().count()).isZero();
                assertThat(f2.health().up()).as(f2.health().detail()).isTrue();
                assertChangelogReplication(bs, "fin-it-" + FinalizerTopology.BLOCKS_STORE + "-changelog");
                assertThat(metrics.registry().find("gblm.finalizer.dlq").tag("reason", "corrupt-stats").counter().count()).isEqualTo(2);
                assertThat(metrics.registry().get("gblm.finalizer.epochs.finalized").counter().count()).isGreaterThanOrEqualTo(3);
                assertThat(metrics.registry().get("gblm.finalizer.stats.merged.bytes").counter().count()).isPositive();
                assertThat(metrics.registry().get("gblm.finalizer.blocks.pending").gauge().value()).isZero();
                assertThat(metrics.registry().scrape()).contains("kafka_stream");
            } finally {
                f2.close();
                metrics.close();
            }
        }
    }

    static JobSpec job(String id, List<String> streams, String method, Double sparsity, String pattern, int min, String norm) {
        return new JobSpec(id, PROFILE.id(), streams, method, sparsity, pattern, null, norm, min, 0, 0);
    }

    private static void assertMasksEqualReference(EpochRecord e, List<ConsumerRecord<String, byte[]>> recs, SyntheticWorker w) {
        assertThat(recs).as("mask blocks of " + e.job()).hasSize(e.blockCount());
        Set<String> keys = new HashSet<>();
        Map<ModuleKey, List<MaskBlock>> byModule = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : recs) {
            assertThat(keys.add(r.key())).as("mask block " + r.key() + " emitted once").isTrue();
            assertThat(new String(r.headers().lastHeader(Topics.HEADER_EPOCH).value(), StandardCharsets.UTF_8)).isEqualTo("1");
            assertThat(e.finalizer()).isEqualTo("fin-it");
            assertThat(new String(r.headers().lastHeader(Topics.HEADER_FINALIZER).value(), StandardCharsets.UTF_8)).isEqualTo(e.finalizer());
            MaskBlock b = MaskBlock.decode(r.value());
            byModule.computeIfAbsent(new ModuleKey(b.layer(), b.module()), k -> new ArrayList<>()).add(b);
        }
        JobSpec spec = e.spec();
        long total = 0;
        for (int l = 0; l < WEIGHTS.numLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                int[] s = WEIGHTS.shape(l, k);
                ModuleStats merged = null;
                for (String id : e.sliceIds()) {
                    ModuleStats m = w.slices.get(id).get(new ModuleKey(l, k));
                    merged = merged == null ? m.copy() : merged.mergeInPlace(m);
                }
                float[] wm = WEIGHTS.matrix(l, k);
                Mask expected = spec.needsMatrixThreshold()
                        ? MaskSelector.magnitudeThreshold(wm, s[0], s[1], spec.sparsity())
                        : MaskSelector.select(Scores.compute(spec.methodEnum(), spec.gradNormEnum(), wm, 0, s[0], s[1],
                                spec.methodEnum() == Method.MAGNITUDE ? null : merged), s[0], s[1], spec.patternSpec(), spec.tailRuleEnum());
                List<MaskBlock> blocks = byModule.get(new ModuleKey(l, k));
                blocks.sort(Comparator.comparingInt(MaskBlock::rowStart));
                Mask got = Mask.concatRows(blocks.stream().map(MaskBlock::mask).toList());
                assertThat(got.differences(expected)).as(e.job() + " layer " + l + " " + k).isZero();
                total += got.prunedCount();
            }
        }
        assertThat(total).isPositive();
    }

    private static void injectBadRecords(String bs) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
        try (KafkaProducer<String, byte[]> prod = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
            String key = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0).toString();
            ModuleStats good = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 5, 16, PROFILE.kinds());
            good.addCounts(1, 1);
            byte[] enc = StatsCodec.encode(good);
            byte[] flipped = enc.clone();
            flipped[60] ^= 1;
            byte[] truncated = java.util.Arrays.copyOf(enc, enc.length - 8);
            ModuleStats wide = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 5, 17, PROFILE.kinds());
            send(prod, Topics.STATS.name(), key, flipped, "bad-1");
            send(prod, Topics.STATS.name(), key, truncated, "bad-2");
            send(prod, Topics.STATS.name(), key, StatsCodec.encode(wide), "bad-3");
            send(prod, Topics.STATS.name(), "not-a-block-key", enc, "bad-4");
            send(prod, Topics.STATS.name(), key, enc, ORPHAN); // valid, but no slice record will ever name it
            send(prod, Topics.SLICES.name(), PROFILE.id(), "{not json".getBytes(StandardCharsets.UTF_8), null);
            Profile other = new Profile("another-model", 64, 100f, PROFILE.stats(), 1000);
            SliceRecord foreign = new SliceRecord("x-a-0", other.id(), other, "a", List.of(new OffsetRange("calib.a", 0, 0, 1)),
                    1, 1, 0, 68, 0);
            send(prod, Topics.SLICES.name(), other.id(), Json.write(foreign), null);
            // poison pills: each once threw out of process(), and a replaced thread re-read it forever
            byte[] jsonNull = "null".getBytes(StandardCharsets.UTF_8);
            byte[] empty = "{}".getBytes(StandardCharsets.UTF_8);
            send(prod, Topics.SLICES.name(), PROFILE.id(), jsonNull, null);
            send(prod, Topics.ACKS.name(), PROFILE.id(), jsonNull, null);
            send(prod, Topics.ACKS.name(), PROFILE.id(), empty, null);
            send(prod, Topics.FINALIZE.name(), key, jsonNull, null);
            send(prod, Topics.FINALIZE.name(), key, empty, null);
            ModuleStats gradOnly = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 5, 16, StatKinds.of(StatKind.GRAD));
            gradOnly.addCounts(1, 1);
            send(prod, Topics.STATS.name(), key, StatsCodec.encode(gradOnly), "bad-kinds-1");
            prod.flush();
        }
    }

    /** The changelog has the replication computed for this one-broker cluster, set on the topic, not a broker default. */
    private static void assertChangelogReplication(String bs, String changelog) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bs);
        try (Admin admin = Admin.create(p)) {
            TopicDescription d = admin.describeTopics(List.of(changelog)).allTopicNames().get(30, TimeUnit.SECONDS).get(changelog);
            assertThat(d.partitions()).allSatisfy(tp -> assertThat(tp.replicas()).hasSize(1));
            ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, changelog);
            Config c = admin.describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res);
            ConfigEntry isr = c.get("min.insync.replicas");
            assertThat(isr.value()).isEqualTo("1");
            assertThat(isr.source()).isEqualTo(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG);
        }
    }

    private static void send(KafkaProducer<String, byte[]> prod, String topic, String key, byte[] v, String slice) throws Exception {
        ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, key, v);
        if (slice != null) {
            r.headers().add(Topics.HEADER_SLICE, slice.getBytes(StandardCharsets.UTF_8));
        }
        prod.send(r).get();
    }

    private static KafkaConsumer<String, byte[]> consumer(String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    /** Reads the topic until {@code done} holds for everything read so far (and then 1 s more, to catch duplicates). */
    private static List<ConsumerRecord<String, byte[]>> readUntil(String topic, Predicate<List<ConsumerRecord<String, byte[]>>> done) {
        List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> c = consumer(topic)) {
            long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
            long settleUntil = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settleUntil)) {
                c.poll(Duration.ofMillis(200)).forEach(all::add);
                if (settleUntil == Long.MAX_VALUE && done.test(all)) {
                    settleUntil = System.nanoTime() + Duration.ofSeconds(1).toNanos();
                }
            }
        }
        assertThat(done.test(all)).as("condition on " + topic + " after " + all.size() + " records").isTrue();
        return all;
    }

    private static List<EpochRecord> awaitEpochs(int n) {
        return readUntil(Topics.EPOCHS.name(), l -> l.size() >= n).stream().map(r -> Json.read(r.value(), EpochRecord.class)).toList();
    }

    private static Map<String, List<ConsumerRecord<String, byte[]>>> awaitMasks(Map<String, EpochRecord> epochs) {
        int expected = epochs.values().stream().mapToInt(EpochRecord::blockCount).sum();
        Map<String, List<ConsumerRecord<String, byte[]>>> out = new HashMap<>();
        for (ConsumerRecord<String, byte[]> r : readUntil(Topics.MASKS.name(), l -> l.size() >= expected)) {
            out.computeIfAbsent(r.key().substring(0, r.key().indexOf('/')), k -> new ArrayList<>()).add(r);
        }
        return out;
    }

    private static Map<String, String> readDlqReasons(String bs, int n) {
        Map<String, String> out = new HashMap<>();
        int i = 0;
        for (ConsumerRecord<String, byte[]> r : readUntil(Topics.DLQ.name(), l -> l.size() >= n)) {
            Header h = r.headers().lastHeader(Topics.HEADER_REASON);
            out.put((i++) + ":" + r.key(), h == null ? "" : new String(h.value(), StandardCharsets.UTF_8));
        }
        return out;
    }

    private static List<String> storeKeys(Finalizer f) {
        ReadOnlyKeyValueStore<String, byte[]> store = f.streams().store(
                StoreQueryParameters.fromNameAndType(FinalizerTopology.BLOCKS_STORE, QueryableStoreTypes.keyValueStore()));
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            it.forEachRemaining(kv -> keys.add(kv.key));
        }
        return keys;
    }

    private static void awaitCount(GblmMetrics metrics, String counter, double atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && metrics.registry().get(counter).counter().count() < atLeast) {
            Thread.sleep(100);
        }
        assertThat(metrics.registry().get(counter).counter().count()).as(counter).isGreaterThanOrEqualTo(atLeast);
    }

    private static void awaitStore(Finalizer f, Predicate<List<String>> cond) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (cond.test(storeKeys(f))) {
                return;
            }
            Thread.sleep(200);
        }
        assertThat(cond.test(storeKeys(f))).as("store condition").isTrue();
    }
}
