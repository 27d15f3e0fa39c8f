package dev.gblm.stream.finalizer;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.model.LinearKind;
import dev.gblm.ops.KafkaSettings;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Mask;
import dev.gblm.prune.MaskSelector;
import dev.gblm.prune.Method;
import dev.gblm.prune.Normalization;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.Pruner;
import dev.gblm.prune.Scores;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.BlockAck;
import dev.gblm.stream.BlockInstruction;
import dev.gblm.stream.BlockKey;
import dev.gblm.stream.EpochBase;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.JobStatus;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModuleLayout;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.Profile;
import dev.gblm.stream.SliceRecord;
import dev.gblm.stream.Topics;
import dev.gblm.testing.InMemoryWeights;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The finalizer's planner and block tasks on Kafka's TopologyTestDriver: no broker, one task, every record processed
 * to completion inside the pipe call, wall-clock punctuators fired only by {@code advanceWallClockTime}, so every
 * outcome is deterministic.
 *
 * <p>There is no loop that pipes gblm.finalize and gblm.finalize-acks back into the topology: the driver
 * (kafka-streams-test-utils 4.x, {@code captureOutputsAndReEnqueueInternalResults}) re-enqueues every record a sink
 * writes to a topic the topology also reads, right after the writing processor returns. The planner → block tasks →
 * planner round trips therefore complete within each pipe call, while the output queues of those topics still
 * receive every record for the assertions. Piping them again would deliver each instruction and ack twice
 * ({@link #theDriverItselfFeedsCommandsAndAcksBack} pins this, so a driver upgrade that changes it fails loudly).
 */
class FinalizerTopologyTest {
    static final InMemoryWeights WEIGHTS = InMemoryWeights.randomLlama(2, 8, 24, 5);
    // 600-byte records: q/k/v/o keep one row block, gate/up get 3, down (in 24) gets 4: 14 blocks per layer
    static final Profile PROFILE = new Profile("topo-test-fp", 32, 100f, StatKinds.of(StatKind.GRAD, StatKind.ACT).bits(), 600);
    static final List<ModuleLayout> LAYOUT = WEIGHTS.layout(PROFILE);
    static final int BLOCKS = ModuleLayout.blockCount(LAYOUT);
    static final Duration PLANNER_INTERVAL = Duration.ofSeconds(1);
    static final Duration ORPHAN_RETENTION = Duration.ofMinutes(10);
    /** Longer than any other test advances the clock; retirement then runs every 5 min (its interval's cap). */
    static final Duration SLICE_RETENTION = Duration.ofHours(1);
    /** Another profile of the same model (another sequence length) with the same layout, which no job plans. */
    static final Profile OTHER_PROFILE = new Profile(PROFILE.model(), 64, 100f, PROFILE.stats(), PROFILE.blockBytes());

    @TempDir
    Path tmp;

    private final Random rnd = new Random(17);
    /** The weights the topology reads; {@code failRows} makes reading them throw, an unexpected failure. */
    private final FlakyWeights weights = new FlakyWeights(WEIGHTS);
    private TopologyTestDriver driver;
    private FinalizerMetrics metrics;
    private final Map<String, TestInputTopic<String, byte[]>> inputs = new HashMap<>();
    private TestOutputTopic<String, byte[]> epochsOut;
    private TestOutputTopic<String, byte[]> masksOut;
    private TestOutputTopic<String, byte[]> finalizeOut;
    private TestOutputTopic<String, byte[]> acksOut;
    private TestOutputTopic<String, byte[]> dlqOut;
    private TestOutputTopic<String, byte[]> statusOut;
    /** team|stream pairs the fake cluster's ACLs let the team read (a team always reads its own streams). */
    private final Set<String> grantedReads = new HashSet<>();
    private final StreamGrants grants = new StreamGrants() {
        @Override
        public List<String> refused(String team, List<String> streams) {
            return streams.stream().filter(st -> !st.startsWith(team + ".") && !grantedReads.contains(team + "|" + st)).toList();
        }

        @Override
        public boolean enforced() {
            return true;
        }
    };

    /** One synthetic slice: its record, its whole-module statistics (the reference's input) and its encoded row blocks. */
    record Slice(SliceRecord record, Map<ModuleKey, ModuleStats> whole, Map<BlockKey, byte[]> blocks) {
        String id() {
            return record.sliceId();
        }
    }

    @BeforeEach
    void start() {
        FinalizerSettings settings = FinalizerSettings.builder(KafkaSettings.of("dummy:9092"), tmp.resolve("finalizer"), PROFILE.model())
                .applicationId("fin-ttd").plannerInterval(PLANNER_INTERVAL).orphanRetention(ORPHAN_RETENTION)
                .sliceRetention(SLICE_RETENTION).build();
        metrics = new FinalizerMetrics(new SimpleMeterRegistry());
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, settings.applicationId());
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "dummy:9092");
        p.put(StreamsConfig.STATE_DIR_CONFIG, tmp.resolve("streams").toString());
        // the processors read wall-clock time from the context, which is the driver's mock clock: every wall-clock
        // decision (arrival stamps, orphan reports, retirement) follows advanceWallClockTime alone
        driver = new TopologyTestDriver(FinalizerTopology.build(new Topology(), weights, settings, metrics, grants), p);
        for (Topics.Topic<?, ?> t : List.of(Topics.JOBS, Topics.SLICES, Topics.STATS, Topics.FINALIZE, Topics.ACKS)) {
            inputs.put(t.name(), driver.createInputTopic(t.name(), new StringSerializer(), new ByteArraySerializer()));
        }
        for (String team : List.of("a", "b")) {
            String topic = Topics.teamJobsTopic(team);
            inputs.put(topic, driver.createInputTopic(topic, new StringSerializer(), new ByteArraySerializer()));
        }
        statusOut = output(Topics.JOB_STATUS.name());
        epochsOut = output(Topics.EPOCHS.name());
        masksOut = output(Topics.MASKS.name());
        finalizeOut = output(Topics.FINALIZE.name());
        acksOut = output(Topics.ACKS.name());
        dlqOut = output(Topics.DLQ.name());
    }

    @AfterEach
    void stop() {
        if (driver != null) {
            driver.close();
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    void theDriverItselfFeedsCommandsAndAcksBack() {
        // invariant: without the test piping anything back, every instruction the planner writes and every ack the block
        // tasks write is processed exactly once
        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null));
        Slice s = slice("w1-a-0", "a", 0, 0, 8);
        pipeStats(s);
        pipeSlice(s);
        Map<BlockInstruction.Type, Long> byType = instructions(finalizeOut.readRecordsToList()).stream()
                .collect(Collectors.groupingBy(BlockInstruction::type, Collectors.counting()));
        assertThat(byType).isEqualTo(Map.of(BlockInstruction.Type.CLAIM, (long) BLOCKS, BlockInstruction.Type.FINALIZE, (long) BLOCKS,
                BlockInstruction.Type.RETIRE, (long) BLOCKS));
        assertThat(acksOut.readRecordsToList()).hasSize(BLOCKS);
        // a second delivery of the FINALIZEs would double these; of the acks, overshoot the planner's count
        assertThat(metrics.maskBlocks.count()).isEqualTo(BLOCKS);
        assertThat(Json.read(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.PROGRESS_STORE).get("wanda-24"),
                JobProgress.class).acked()).isEqualTo(BLOCKS);
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty(); // the RETIREs arrived too
    }

    @Test
    void everyRecordKindFlowsToExactlyOneFinalizedEpoch() {
        // invariant: a job whose streams reach minSamples gets one epoch of whole slices in SliceRecord.ORDER, one mask
        // block per layout block, and is finalized (then its slices retired) once every block is acknowledged
        List<Slice> slices = List.of(
                slice("w2-a-0", "a", 1, 0, 8),
                slice("w1-a-1", "a", 0, 100, 8),
                slice("w3-b-0", "b", 0, 0, 16),
                slice("w1-a-0", "a", 0, 0, 8),
                slice("w4-c-0", "c", 0, 0, 8));
        for (Slice s : slices) {
            pipeStats(s);
        }
        for (Slice s : slices) {
            pipeSlice(s);
        }
        assertThat(metrics.slicesAccepted.count()).isEqualTo(5);
        assertThat(metrics.statsStored.count()).isEqualTo(5.0 * BLOCKS);

        // submitted after its slices: only the planner's wall-clock punctuator can declare it
        JobSpec job = job("gblm-u50", List.of("a", "b"), "gblm", 0.5, "unstructured", 20, "l1");
        submit(job);
        submit(job("starved", List.of("c"), "wanda", null, "2:4", 1000, null));
        assertThat(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.JOBS_STORE).get("gblm-u50")).isNotNull();
        assertThat(epochsOut.isEmpty()).isTrue();
        driver.advanceWallClockTime(PLANNER_INTERVAL);

        // a/p0/0 (8) + a/p0/100 (16) + a/p1/0 (24 >= 20): b sorts after a and is not needed, c is not the job's stream
        List<String> chosen = List.of("w1-a-0", "w1-a-1", "w2-a-0");
        assertThat(slices.stream().map(Slice::record).filter(r -> !r.stream().equals("c")).sorted(SliceRecord.ORDER)
                .limit(3).map(SliceRecord::sliceId).toList()).isEqualTo(chosen);
        List<TestRecord<String, byte[]>> epochs = epochsOut.readRecordsToList();
        assertThat(epochs).hasSize(1);
        assertThat(epochs.get(0).key()).isEqualTo("gblm-u50");
        EpochRecord e = Json.read(epochs.get(0).value(), EpochRecord.class);
        assertThat(e.epoch()).isEqualTo(1);
        assertThat(e.sliceIds()).isEqualTo(chosen);
        assertThat(e.samples()).isEqualTo(24);
        assertThat(e.streams()).containsExactly("a");
        assertThat(e.spec()).isEqualTo(job.validated());
        assertThat(e.blocks()).isEqualTo(LAYOUT);
        assertThat(e.blockCount()).isEqualTo(BLOCKS);

        List<TestRecord<String, byte[]>> masks = masksOut.readRecordsToList();
        assertThat(masks).hasSize(BLOCKS);
        assertThat(masks).extracting(TestRecord::key).doesNotHaveDuplicates()
                .containsExactlyInAnyOrderElementsOf(e.blockKeys().stream()
                        .map(k -> MaskBlock.key("gblm-u50", 1, k.layer(), k.module(), k.rowStart())).toList());
        assertThat(masks).allSatisfy(r -> assertThat(header(r, Topics.HEADER_EPOCH)).isEqualTo("1"));
        // the exporter assembles only the blocks of the finalizer the epoch record names
        assertThat(e.finalizer()).isEqualTo("fin-ttd");
        assertThat(masks).allSatisfy(r -> assertThat(header(r, Topics.HEADER_FINALIZER)).isEqualTo(e.finalizer()));

        List<TestRecord<String, byte[]>> acks = acksOut.readRecordsToList();
        assertThat(acks).hasSize(BLOCKS).allSatisfy(r -> {
            assertThat(r.key()).isEqualTo(PROFILE.id());
            assertThat(r.headers().lastHeader(Topics.HEADER_BAD_SLICE)).isNull();
        });
        assertThat(acks.stream().map(r -> Json.read(r.value(), BlockAck.class)).toList())
                .containsExactlyInAnyOrderElementsOf(e.blockKeys().stream().map(k -> new BlockAck("gblm-u50", 1, k.toString())).toList());

        Map<BlockInstruction.Type, List<BlockInstruction>> byType = instructions(finalizeOut.readRecordsToList()).stream()
                .collect(Collectors.groupingBy(BlockInstruction::type));
        assertThat(byType.get(BlockInstruction.Type.CLAIM)).hasSize(5 * BLOCKS);
        assertThat(byType.get(BlockInstruction.Type.FINALIZE)).hasSize(BLOCKS).allSatisfy(c -> {
            assertThat(c.job()).isEqualTo("gblm-u50");
            assertThat(c.epoch()).isEqualTo(1);
            assertThat(c.sliceIds()).isEqualTo(chosen);
        });
        assertThat(byType.get(BlockInstruction.Type.RETIRE)).hasSize(BLOCKS)
                .allSatisfy(c -> assertThat(c.sliceIds()).isEqualTo(chosen));

        JobProgress progress = Json.read(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.PROGRESS_STORE).get("gblm-u50"),
                JobProgress.class);
        assertThat(progress.finalized()).isTrue();
        assertThat(progress.acked()).isEqualTo(BLOCKS);
        assertThat(progress.sliceIds()).isEqualTo(chosen);
        assertThat(metrics.epochsDeclared.count()).isEqualTo(1);
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(metrics.maskBlocks.count()).isEqualTo(BLOCKS);
        assertThat(metrics.statsMerged.count()).isEqualTo(3.0 * BLOCKS);
        assertThat(metrics.slicesRetired.count()).isEqualTo(3);
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();

        // retired: the chosen slices leave both the planner's and the block tasks' state; the unused ones stay
        assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactlyInAnyOrder(PROFILE.id() + "|w3-b-0", PROFILE.id() + "|w4-c-0");
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(Map.of("w3-b-0", BLOCKS, "w4-c-0", BLOCKS));
        assertThat(sliceIdsIn(FinalizerTopology.BLOCK_TIMES_STORE)).isEqualTo(Map.of("w3-b-0", BLOCKS, "w4-c-0", BLOCKS));

        // exactly one epoch: a later slice and later planner rounds declare nothing more
        Slice late = slice("w5-a-0", "a", 2, 0, 8);
        pipeStats(late);
        pipeSlice(late);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        assertThat(epochsOut.isEmpty()).isTrue();
        assertThat(masksOut.isEmpty()).isTrue();
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void masksEqualAnIndependentMergeOfExactlyTheEpochsSlices() {
        // invariant: each epoch's mask blocks are MaskSelector on the plain in-memory sum of exactly its slices, in order
        List<JobSpec> jobs = List.of(
                job("gblm-u50", List.of("a", "b"), "gblm", 0.5, "unstructured", 24, "l1"),
                job("wanda-24", List.of("a"), "wanda", null, "2:4", 16, null),
                job("mag-u50", List.of("b"), "magnitude", 0.5, "unstructured", 16, null),
                job("grad-48-l2", List.of("a", "b"), "gradient", null, "4:8", 40, "l2"));
        jobs.forEach(this::submit);
        Map<String, Slice> slices = new LinkedHashMap<>();
        for (Slice s : List.of(slice("w1-a-0", "a", 0, 0, 8), slice("w1-b-0", "b", 0, 0, 8), slice("w1-a-1", "a", 0, 8, 8),
                slice("w2-b-0", "b", 1, 0, 8), slice("w2-a-0", "a", 1, 0, 8))) {
            slices.put(s.id(), s);
            pipeStats(s);
            pipeSlice(s);
        }

        Map<String, EpochRecord> epochs = new TreeMap<>();
        for (TestRecord<String, byte[]> r : epochsOut.readRecordsToList()) {
            assertThat(epochs.put(r.key(), Json.read(r.value(), EpochRecord.class))).as("one epoch of " + r.key()).isNull();
        }
        assertThat(epochs).containsOnlyKeys("gblm-u50", "wanda-24", "mag-u50", "grad-48-l2");
        assertThat(epochs.get("grad-48-l2").sliceIds()).hasSize(5);
        Map<String, List<TestRecord<String, byte[]>>> masks = masksOut.readRecordsToList().stream()
                .collect(Collectors.groupingBy(r -> r.key().substring(0, r.key().indexOf('/'))));
        for (EpochRecord e : epochs.values()) {
            long samples = e.sliceIds().stream().mapToLong(id -> slices.get(id).record().samples()).sum();
            assertThat(e.samples()).isEqualTo(samples).isGreaterThanOrEqualTo(e.spec().minSamples());
            assertMasksEqualReference(e, masks.get(e.job()), slices);
        }
        assertThat(metrics.epochsFinalized.count()).isEqualTo(4);
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void aNumericAlphaWeighsTheGradientTermByAlphaOverTheProfilesScale() {
        // gblm at alpha 10 on statistics of s = 100: the FINALIZE carries s, the block scores |W|c + |W|(0.1 G)
        JobSpec spec = new JobSpec("gblm-a10", PROFILE.id(), List.of("a"), "gblm", 0.5, "unstructured", null, null, 16, 0, 0,
                null, "10", null, 0);
        submit(spec);
        Map<String, Slice> slices = new LinkedHashMap<>();
        for (Slice s : List.of(slice("w1-a-0", "a", 0, 0, 8), slice("w1-a-1", "a", 0, 8, 8))) {
            slices.put(s.id(), s);
            pipeStats(s);
            pipeSlice(s);
        }
        EpochRecord e = Json.read(epochsOut.readValue(), EpochRecord.class);
        assertThat(e.spec().alpha()).isEqualTo("10");
        List<BlockInstruction> finalizes = instructions(finalizeOut.readRecordsToList()).stream()
                .filter(c -> c.type() == BlockInstruction.Type.FINALIZE).toList();
        assertThat(finalizes).hasSize(BLOCKS).allSatisfy(c -> assertThat(c.gradScale()).isEqualTo(100f));
        List<TestRecord<String, byte[]>> recs = masksOut.readRecordsToList();
        assertThat(recs).hasSize(BLOCKS);
        Map<ModuleKey, List<MaskBlock>> byModule = new HashMap<>();
        for (TestRecord<String, byte[]> r : recs) {
            MaskBlock b = MaskBlock.decode(r.value());
            byModule.computeIfAbsent(new ModuleKey(b.layer(), b.module()), k -> new ArrayList<>()).add(b);
        }
        long differFromDefault = 0;
        for (ModuleLayout m : LAYOUT) {
            ModuleKey mk = new ModuleKey(m.layer(), m.kind());
            ModuleStats merged = slices.get("w1-a-0").whole().get(mk).copy().mergeInPlace(slices.get("w1-a-1").whole().get(mk));
            float[] w = WEIGHTS.matrix(m.layer(), m.kind());
            // independent: the score formula written out (float32, each product rounded, l1 sums), f = fl32(10 / 100)
            float f = (float) (10.0 / 100.0);
            float n = merged.sampleCount();
            float[] scores = new float[m.out() * m.in()];
            for (int r = 0; r < m.out(); r++) {
                for (int j = 0; j < m.in(); j++) {
                    float a = Math.abs(w[r * m.in() + j]);
                    float c = (float) Math.sqrt(merged.actSq()[j] / n);
                    scores[r * m.in() + j] = a * c + a * (f * merged.gradL1()[r * m.in() + j]);
                }
            }
            Mask expected = MaskSelector.select(scores, m.out(), m.in(), spec.validated().patternSpec(), spec.validated().tailRuleEnum());
            List<MaskBlock> blocks = byModule.get(mk);
            blocks.sort(Comparator.comparingInt(MaskBlock::rowStart));
            Mask got = Mask.concatRows(blocks.stream().map(MaskBlock::mask).toList());
            assertThat(got.differences(expected)).as(mk.toString()).isZero();
            Mask paper = MaskSelector.select(Scores.compute(Method.GBLM, GradNorm.L1, w, 0, m.out(), m.in(), merged),
                    m.out(), m.in(), spec.validated().patternSpec(), spec.validated().tailRuleEnum());
            differFromDefault += got.differences(paper);
        }
        assertThat(differFromDefault).as("alpha 10 is not the default alpha 100").isPositive();
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void badRecordsGoToTheDlqAndNeverStopTheTopology() {
        // invariant: every malformed input becomes one dead letter (original key and value, "code: text" reason,
        // source topic-partition@offset) and the topology keeps serving valid records afterwards
        Slice good = slice("w1-a-0", "a", 0, 0, 8);
        SliceRecord r = good.record();
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        byte[] q0Stats = good.blocks().get(q0);

        assertRejected(Topics.SLICES, PROFILE.id(), "{not json".getBytes(UTF_8), null, "invalid-slice");
        assertRejected(Topics.SLICES, PROFILE.id(), Json.write(new SliceRecord("w1-a-9", PROFILE.id(), PROFILE, "a", List.of(), 8, 8, 0,
                BLOCKS, 0)), null, "invalid-slice");
        assertRejected(Topics.SLICES, "0123456789abcdef", Json.write(r), null, "key-mismatch");
        Profile other = new Profile("another-model", PROFILE.seqLen(), PROFILE.gradScale(), PROFILE.stats(), PROFILE.blockBytes());
        assertRejected(Topics.SLICES, other.id(), Json.write(new SliceRecord("x-a-0", other.id(), other, "a", r.ranges(), 8, 8, 0,
                BLOCKS, 0)), null, "wrong-profile");
        assertRejected(Topics.SLICES, PROFILE.id(), Json.write(new SliceRecord(r.sliceId(), r.profile(), r.profileSpec(), r.stream(),
                r.ranges(), r.samples(), r.tokens(), r.rejected(), BLOCKS + 1, r.lastSampleTimestamp())), null, "wrong-layout");

        assertRejected(Topics.STATS, "not-a-block-key", q0Stats, sliceHeader("w1-a-0"), "unknown-block");
        assertRejected(Topics.STATS, PROFILE.id() + "/0/no_proj/0", q0Stats, sliceHeader("w1-a-0"), "unknown-block");
        ModuleStats layer5 = ModuleStats.zeros(5, LinearKind.Q_PROJ, 0, 8, 8, PROFILE.kinds());
        assertRejected(Topics.STATS, new BlockKey(PROFILE.id(), 5, LinearKind.Q_PROJ, 0).toString(), StatsCodec.encode(layer5),
                sliceHeader("w1-a-0"), "unknown-block");
        assertRejected(Topics.STATS, q0.toString(), q0Stats, null, "missing-slice-id");
        assertRejected(Topics.STATS, q0.toString(), q0Stats, sliceHeader("a|b"), "missing-slice-id");
        assertRejected(Topics.STATS, q0.toString(), "garbage".getBytes(UTF_8), sliceHeader("w1-a-0"), "corrupt-stats");
        byte[] flipped = q0Stats.clone();
        flipped[60] ^= 1;
        assertRejected(Topics.STATS, q0.toString(), flipped, sliceHeader("w1-a-0"), "corrupt-stats");

        assertRejected(Topics.FINALIZE, q0.toString(), "{not json".getBytes(UTF_8), null, "invalid-instruction");
        assertRejected(Topics.FINALIZE, q0.toString(), "{\"type\":\"EXPLODE\"}".getBytes(UTF_8), null, "invalid-instruction");
        assertRejected(Topics.FINALIZE, "not-a-block-key", Json.write(BlockInstruction.claim(List.of("w1-a-0"))), null, "invalid-instruction");
        assertRejected(Topics.ACKS, PROFILE.id(), "{not json".getBytes(UTF_8), null, "invalid-ack");

        assertThat(keys(FinalizerTopology.SLICES_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.BAD_SLICES_STORE)).isEmpty();
        assertThat(metrics.registry().find("gblm.finalizer.dlq").tag("reason", "unknown-block").counter().count()).isEqualTo(3);

        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null));
        assertAGoodEpochStillCompletes(good);
    }

    @Test
    void finalizeWaitsInThePendingStoreForAMissingStatisticsBlock() {
        // invariant: a FINALIZE is answered only once every listed slice's block is present, exactly once, and then
        // leaves the pending store
        Slice s1 = slice("w1-a-0", "a", 0, 0, 8);
        Slice s2 = slice("w1-a-1", "a", 0, 8, 8);
        ModuleLayout down = module(0, LinearKind.DOWN_PROJ);
        BlockKey missing = new BlockKey(PROFILE.id(), 0, LinearKind.DOWN_PROJ, down.rowStarts().get(1));
        pipeStats(s1);
        s2.blocks().forEach((k, v) -> {
            if (!k.equals(missing)) {
                pipeStats(k.toString(), v, s2.id());
            }
        });
        JobSpec spec = job("wanda-24", List.of("a"), "wanda", null, "2:4", 16, null).validated();
        BlockInstruction fin = new BlockInstruction(BlockInstruction.Type.FINALIZE, spec.id(), 1, spec, down.rowEnd(1), down.in(),
                List.of(s1.id(), s2.id()), null);

        instruct(missing, fin);
        assertThat(masksOut.isEmpty()).isTrue();
        assertThat(acksOut.isEmpty()).isTrue();
        String pendingKey = missing + "|wanda-24|1";
        KeyValueStore<String, byte[]> pending = driver.getKeyValueStore(FinalizerTopology.PENDING_STORE);
        assertThat(keys(FinalizerTopology.PENDING_STORE)).containsExactly(pendingKey);
        assertThat(Json.read(pending.get(pendingKey), BlockInstruction.class)).isEqualTo(fin);
        assertThat(metrics.pendingBlocks.get()).isEqualTo(1);

        // a block of the same key from a slice the instruction does not list changes nothing
        pipeStats(missing.toString(), slice("w9-a-0", "a", 3, 0, 8).blocks().get(missing), "w9-a-0");
        assertThat(masksOut.isEmpty()).isTrue();
        assertThat(keys(FinalizerTopology.PENDING_STORE)).containsExactly(pendingKey);

        pipeStats(missing.toString(), s2.blocks().get(missing), s2.id());
        List<TestRecord<String, byte[]>> masks = masksOut.readRecordsToList();
        assertThat(masks).hasSize(1);
        assertThat(masks.get(0).key()).isEqualTo(MaskBlock.key("wanda-24", 1, 0, LinearKind.DOWN_PROJ, missing.rowStart()));
        MaskBlock got = MaskBlock.decode(masks.get(0).value());
        assertThat(got.rowStart()).isEqualTo(missing.rowStart());
        assertThat(got.rowEnd()).isEqualTo(down.rowEnd(1));
        ModuleStats sum = s1.whole().get(new ModuleKey(0, LinearKind.DOWN_PROJ)).copy()
                .mergeInPlace(s2.whole().get(new ModuleKey(0, LinearKind.DOWN_PROJ)));
        float[] w = WEIGHTS.rows(0, LinearKind.DOWN_PROJ, got.rowStart(), got.rowEnd());
        Mask expected = MaskSelector.select(Scores.compute(spec.methodEnum(), spec.gradNormEnum(), w, got.rowStart(), got.rowEnd(),
                down.in(), sum), got.rowEnd() - got.rowStart(), down.in(), spec.patternSpec(), spec.tailRuleEnum());
        assertThat(got.mask().differences(expected)).isZero();
        assertThat(acksOut.readRecordsToList()).singleElement().satisfies(a -> {
            assertThat(a.key()).isEqualTo(PROFILE.id());
            assertThat(Json.read(a.value(), BlockAck.class)).isEqualTo(new BlockAck("wanda-24", 1, missing.toString()));
        });
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        assertThat(metrics.pendingBlocks.get()).isZero();

        // a block whose every listed slice is present is answered at once, never pending
        BlockKey up0 = new BlockKey(PROFILE.id(), 0, LinearKind.UP_PROJ, 0);
        ModuleLayout up = module(0, LinearKind.UP_PROJ);
        instruct(up0, new BlockInstruction(BlockInstruction.Type.FINALIZE, spec.id(), 1, spec, up.rowEnd(0), up.in(),
                List.of(s1.id(), s2.id()), null));
        assertThat(masksOut.readRecordsToList()).hasSize(1);
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void retireDeletesBlocksAndTheOrphanSweepKeepsOnlyClaimedOrListedOnes() {
        // invariant: RETIRE deletes a slice's blocks and arrival stamps; the sweep deletes exactly the unclaimed,
        // unlisted blocks older than orphanRetention
        Slice retired = slice("w1-a-0", "a", 0, 0, 8);
        Slice claimed = slice("w1-a-1", "a", 0, 8, 8);
        Slice claimedFirst = slice("w1-a-2", "a", 0, 16, 8);
        Slice orphan = slice("w1-a-3", "a", 0, 24, 8);
        Slice listed = slice("w1-a-4", "a", 0, 32, 8);
        for (Slice s : List.of(retired, claimed, orphan, listed)) {
            pipeStats(s);
        }
        // the CLAIM may overtake the statistics: the late arrival must not turn the block back into an orphan
        instructEveryBlock(BlockInstruction.claim(List.of(claimedFirst.id())));
        pipeStats(claimedFirst);
        instructEveryBlock(BlockInstruction.claim(List.of(retired.id(), claimed.id())));
        instructEveryBlock(BlockInstruction.retire(List.of(retired.id())));
        // a pending FINALIZE that lists `listed` (and waits for a slice that never comes) keeps its blocks alive
        JobSpec spec = job("wanda-24", List.of("a"), "wanda", null, "2:4", 16, null).validated();
        ModuleLayout q = module(0, LinearKind.Q_PROJ);
        instruct(new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0), new BlockInstruction(BlockInstruction.Type.FINALIZE, spec.id(), 1,
                spec, q.rowEnd(0), q.in(), List.of(listed.id(), "never-0"), null));
        assertThat(keys(FinalizerTopology.PENDING_STORE)).hasSize(1);

        Map<String, Integer> live = Map.of(claimed.id(), BLOCKS, claimedFirst.id(), BLOCKS, orphan.id(), BLOCKS, listed.id(), BLOCKS);
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(live);
        assertThat(sliceIdsIn(FinalizerTopology.BLOCK_TIMES_STORE)).isEqualTo(live);
        assertThat(timesOf(claimed.id()).values()).allSatisfy(v -> assertThat(v).isEqualTo(BlockProcessor.CLAIMED));
        assertThat(timesOf(claimedFirst.id()).values()).allSatisfy(v -> assertThat(v).isEqualTo(BlockProcessor.CLAIMED));
        assertThat(timesOf(orphan.id()).values()).allSatisfy(v -> assertThat(v).hasSize(Long.BYTES));
        assertThat(timesOf(listed.id()).values()).allSatisfy(v -> assertThat(v).hasSize(Long.BYTES));

        driver.advanceWallClockTime(ORPHAN_RETENTION.dividedBy(2)); // the first sweep: nothing is old enough yet
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(live);
        assertThat(metrics.orphansDeleted.count()).isZero();

        driver.advanceWallClockTime(ORPHAN_RETENTION); // the next sweep's cutoff is past every arrival stamp
        Map<String, Integer> kept = Map.of(claimed.id(), BLOCKS, claimedFirst.id(), BLOCKS, listed.id(), BLOCKS);
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(kept);
        assertThat(sliceIdsIn(FinalizerTopology.BLOCK_TIMES_STORE)).isEqualTo(kept);
        assertThat(metrics.orphansDeleted.count()).isEqualTo(BLOCKS);
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void aBadSliceNoticeExcludesTheSliceFromEpochs() {
        // invariant: a slice with a statistics block rejected as wrong-shape or key-mismatch never enters an epoch,
        // whether the notice comes before its slice record or after it
        JobSpec job = job("wanda-24", List.of("a"), "wanda", null, "2:4", 16, null);
        submit(job);
        // partitions 0-2 sort first: were they planned, the epoch would be exactly w1-a-0 and w1-a-1
        Slice wrongShape = slice("w1-a-0", "a", 0, 0, 8);
        Slice wrongKey = slice("w1-a-1", "a", 1, 0, 8);
        Slice lateNotice = slice("w1-a-2", "a", 2, 0, 8);
        Slice good1 = slice("w2-a-0", "a", 3, 0, 8);
        Slice good2 = slice("w2-a-1", "a", 4, 0, 8);
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        ModuleStats wide = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 8, 9, PROFILE.kinds());
        wide.addCounts(8, 8);
        byte[] k0 = wrongKey.blocks().get(new BlockKey(PROFILE.id(), 0, LinearKind.K_PROJ, 0));

        pipeStatsExcept(wrongShape, q0);
        pipeStats(q0.toString(), StatsCodec.encode(wide), wrongShape.id());
        pipeStatsExcept(wrongKey, q0);
        pipeStats(q0.toString(), k0, wrongKey.id());
        assertThat(deadLetterCodes()).containsExactly("wrong-shape", "key-mismatch");
        assertThat(keys(FinalizerTopology.BAD_SLICES_STORE))
                .containsExactlyInAnyOrder(PROFILE.id() + "|" + wrongShape.id(), PROFILE.id() + "|" + wrongKey.id());
        assertThat(new String(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.BAD_SLICES_STORE)
                .get(PROFILE.id() + "|" + wrongShape.id()), UTF_8)).isEqualTo("wrong-shape");

        // the slice record arrives after its notice: not accepted, so its blocks stay unclaimed for the orphan sweep
        pipeSlice(wrongShape);
        pipeSlice(wrongKey);
        assertThat(keys(FinalizerTopology.SLICES_STORE)).isEmpty();
        assertThat(timesOf(wrongShape.id()).values()).allSatisfy(v -> assertThat(v).hasSize(Long.BYTES));

        // the notice arrives after the slice was accepted (8 samples, no epoch yet): the slice is dropped and retired
        pipeSlice(lateNotice);
        assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactly(PROFILE.id() + "|" + lateNotice.id());
        pipeStatsExcept(lateNotice, q0);
        pipeStats(q0.toString(), StatsCodec.encode(wide), lateNotice.id());
        assertThat(deadLetterCodes()).containsExactly("wrong-shape");
        assertThat(keys(FinalizerTopology.SLICES_STORE)).isEmpty();
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).doesNotContainKey(lateNotice.id());
        assertThat(metrics.slicesBad.count()).isEqualTo(3);

        for (Slice s : List.of(good1, good2)) {
            pipeStats(s);
            pipeSlice(s);
        }
        assertThat(epochsOut.readRecordsToList()).singleElement()
                .satisfies(r -> assertThat(Json.read(r.value(), EpochRecord.class).sliceIds()).containsExactly(good1.id(), good2.id()));
        assertThat(masksOut.readRecordsToList()).hasSize(BLOCKS);
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
    }

    @Test
    void statisticsOfAnotherRowLayoutEmitNoMaskAndMarkTheSliceBad() {
        // invariant: a stored block that fits the model but not the FINALIZE's rows yields a layout-mismatch dead
        // letter and a bad-slice notice instead of a mask, and the instruction does not wait
        Slice s = slice("w1-a-0", "a", 0, 0, 8);
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        ModuleStats half = s.whole().get(new ModuleKey(0, LinearKind.Q_PROJ)).rowBlock(0, 4);
        pipeStats(q0.toString(), StatsCodec.encode(half), s.id());
        assertThat(dlqOut.isEmpty()).isTrue();

        JobSpec spec = job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null).validated();
        ModuleLayout q = module(0, LinearKind.Q_PROJ);
        instruct(q0, new BlockInstruction(BlockInstruction.Type.FINALIZE, spec.id(), 1, spec, q.rowEnd(0), q.in(), List.of(s.id()), null));
        assertThat(masksOut.isEmpty()).isTrue();
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        List<TestRecord<String, byte[]>> dlq = dlqOut.readRecordsToList();
        assertThat(dlq).singleElement().satisfies(d -> {
            assertThat(header(d, Topics.HEADER_REASON)).startsWith("layout-mismatch: ");
            assertThat(header(d, Topics.HEADER_SLICE)).isEqualTo(s.id());
            assertThat(d.value()).isEqualTo(StatsCodec.encode(half));
        });
        assertThat(acksOut.readRecordsToList()).singleElement()
                .satisfies(a -> assertThat(header(a, Topics.HEADER_BAD_SLICE)).isEqualTo(s.id()));
        assertThat(keys(FinalizerTopology.BAD_SLICES_STORE)).containsExactly(PROFILE.id() + "|" + s.id());
    }

    @Test
    void poisonPillsGoToTheDlqAndTheTopologyKeepsServing() {
        // invariant: records that used to throw out of process() — and, with exactly_once and a replaced thread, were
        // re-read forever — each become one dead letter, change no state, and valid records are served afterwards
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        JobSpec wanda = job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null).validated();
        byte[] jsonNull = "null".getBytes(UTF_8);
        byte[] empty = "{}".getBytes(UTF_8);

        assertRejected(Topics.SLICES, PROFILE.id(), jsonNull, null, "invalid-slice");
        assertRejected(Topics.SLICES, PROFILE.id(), null, null, "invalid-slice");
        Profile gradOnly = new Profile(PROFILE.model(), 32, 100f, StatKinds.of(StatKind.GRAD).bits(), 600);
        SliceRecord r = slice("w1-a-0", "a", 0, 0, 8).record();
        assertRejected(Topics.SLICES, gradOnly.id(), Json.write(new SliceRecord("w1-g-0", gradOnly.id(), gradOnly, "a", r.ranges(),
                8, 256, 0, BLOCKS, 0)), null, "wrong-kinds");

        assertRejected(Topics.ACKS, PROFILE.id(), jsonNull, null, "invalid-ack");
        assertRejected(Topics.ACKS, PROFILE.id(), empty, null, "invalid-ack");
        assertRejected(Topics.ACKS, PROFILE.id(), Json.write(new BlockAck("wanda-24", 0, q0.toString())), null, "invalid-ack");
        assertRejected(Topics.ACKS, PROFILE.id(), empty, header(Topics.HEADER_BAD_SLICE, ""), "invalid-ack");
        assertRejected(Topics.ACKS, "not-a-profile", empty, header(Topics.HEADER_BAD_SLICE, "w1-a-0"), "invalid-ack");
        assertRejected(Topics.ACKS, PROFILE.id(), jsonNull, header(FinalizerTopology.HEADER_UNCLAIMED, "w1-a-0"), "invalid-ack");
        assertRejected(Topics.ACKS, PROFILE.id(), Json.write(new BlockAck(null, 0, new BlockKey(OTHER_PROFILE.id(), 0, LinearKind.Q_PROJ, 0)
                .toString())), header(FinalizerTopology.HEADER_UNCLAIMED, "w1-a-0"), "invalid-ack");

        assertRejected(Topics.FINALIZE, q0.toString(), jsonNull, null, "invalid-instruction");
        assertRejected(Topics.FINALIZE, q0.toString(), empty, null, "invalid-instruction");
        assertRejected(Topics.FINALIZE, q0.toString(), "{\"type\":\"FINALIZE\"}".getBytes(UTF_8), null, "invalid-instruction");
        assertRejected(Topics.FINALIZE, q0.toString(), "{\"type\":\"FINALIZE\",\"sliceIds\":[\"w1-a-0\"]}".getBytes(UTF_8), null,
                "invalid-instruction");
        assertRejected(Topics.FINALIZE, q0.toString(), Json.write(BlockInstruction.retire(List.of())), null, "invalid-instruction");
        BlockInstruction fin = finalizeOf(wanda, q0, List.of("w1-a-0"));
        assertRejected(Topics.FINALIZE, q0.toString(), Json.write(new BlockInstruction(fin.type(), fin.job(), 1, wanda, 99, fin.in(),
                fin.sliceIds(), null)), null, "invalid-instruction");
        assertRejected(Topics.FINALIZE, new BlockKey(PROFILE.id(), 5, LinearKind.Q_PROJ, 0).toString(), Json.write(fin), null,
                "invalid-instruction");

        // statistics of other kinds than the profile's: refused on arrival (stored, they would make the FINALIZE that
        // merges them throw) and their slice is reported bad; likewise statistics of no samples
        ModuleStats grad = ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 8, 8, StatKinds.of(StatKind.GRAD));
        grad.addCounts(8, 256);
        assertRejected(Topics.STATS, q0.toString(), StatsCodec.encode(grad), sliceHeader("w9-a-0"), "wrong-kinds");
        assertRejected(Topics.STATS, q0.toString(), StatsCodec.encode(ModuleStats.zeros(0, LinearKind.Q_PROJ, 0, 8, 8, PROFILE.kinds())),
                sliceHeader("w9-a-1"), "empty-stats");
        assertThat(acksOut.readRecordsToList()).extracting(a -> header(a, Topics.HEADER_BAD_SLICE)).containsExactly("w9-a-0", "w9-a-1");
        assertThat(new String(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.BAD_SLICES_STORE).get(PROFILE.id() + "|w9-a-0"),
                UTF_8)).isEqualTo("wrong-kinds");

        assertThat(keys(FinalizerTopology.SLICES_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.PROGRESS_STORE)).isEmpty();
        assertThat(metrics.registry().find("gblm.finalizer.dlq").tag("reason", "invalid-ack").counter().count()).isEqualTo(7);
        assertThat(metrics.registry().find("gblm.finalizer.dlq").tag("reason", "invalid-instruction").counter().count()).isEqualTo(7);

        submit(wanda);
        assertAGoodEpochStillCompletes(slice("w1-a-0", "a", 0, 0, 8));
    }

    /** After the bad records: one good slice still yields one complete, finalized epoch and no dead letter. */
    private void assertAGoodEpochStillCompletes(Slice good) {
        pipeStats(good);
        pipeSlice(good);
        assertThat(epochsOut.readRecordsToList()).hasSize(1);
        assertThat(masksOut.readRecordsToList()).hasSize(BLOCKS);
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void anUnexpectedFailureCostsOneRecordNotTheStreamThread() {
        // invariant: an exception nobody anticipated (here the weights cannot be read) sends the record being processed to
        // the DLQ as processing-error and processing continues; a failing FINALIZE that waited is the one dropped, not
        // the statistics that woke it up; a job whose declaration fails declares nothing until it can declare whole
        Slice s1 = slice("w1-a-0", "a", 0, 0, 8);
        Slice s2 = slice("w1-a-1", "a", 0, 8, 8);
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        JobSpec wanda = job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null).validated();
        pipeStats(s1);
        weights.failRows = true;

        BlockInstruction only1 = finalizeOf(wanda, q0, List.of(s1.id()));
        assertRejected(Topics.FINALIZE, q0.toString(), Json.write(only1), null, "processing-error");
        assertThat(masksOut.isEmpty()).isTrue();

        BlockInstruction both = finalizeOf(wanda, q0, List.of(s1.id(), s2.id()));
        instruct(q0, both);
        assertThat(keys(FinalizerTopology.PENDING_STORE)).hasSize(1);
        pipeStats(q0.toString(), s2.blocks().get(q0), s2.id());
        assertThat(dlqOut.readRecordsToList()).singleElement().satisfies(d -> {
            assertThat(d.key()).isEqualTo(q0.toString());
            assertThat(d.value()).isEqualTo(Json.write(both));
            assertThat(header(d, Topics.HEADER_REASON)).startsWith("processing-error: ").contains("checkpoint read failed");
        });
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        assertThat(metrics.pendingBlocks.get()).isZero();
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).containsEntry(s2.id(), 1);

        // unstructured magnitude reads the weights at declaration: nothing of the epoch leaves the planner
        submit(job("mag-u50", List.of("a"), "magnitude", 0.5, "unstructured", 8, null));
        pipeSlice(s1);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        assertThat(epochsOut.isEmpty()).isTrue();
        assertThat(instructions(finalizeOut.readRecordsToList())).extracting(BlockInstruction::type)
                .containsOnly(BlockInstruction.Type.CLAIM);
        assertThat(keys(FinalizerTopology.PROGRESS_STORE)).isEmpty();

        weights.failRows = false;
        instruct(q0, only1); // the same FINALIZE once the weights can be read again
        assertThat(masksOut.readRecordsToList()).hasSize(1);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        assertThat(epochsOut.readRecordsToList()).hasSize(1);
        assertThat(masksOut.readRecordsToList()).hasSize(BLOCKS);
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(dlqOut.isEmpty()).isTrue();
        assertThat(metrics.registry().find("gblm.finalizer.dlq").tag("reason", "processing-error").counter().count()).isEqualTo(2);
    }

    @Test
    void retirementRunsOnItsOwnClockForSlicesNoJobNeeds() {
        // invariant: with no declaration or finalization to trigger it, an accepted slice that no live job needs — it came
        // after its job's epoch, or its profile has no job at all — leaves the planner's and the block tasks' state once
        // older than sliceRetention; a slice a live job still waits for stays
        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null));
        submit(job("starved", List.of("c"), "wanda", null, "2:4", 1000, null));
        Slice used = slice("w1-a-0", "a", 0, 0, 8);
        Slice late = slice("w1-a-1", "a", 0, 8, 8);
        Slice nobodys = slice(OTHER_PROFILE, "w2-a-0", "a", 0, 0, 8);
        Slice needed = slice("w1-c-0", "c", 0, 0, 8);
        for (Slice s : List.of(used, late, nobodys, needed)) {
            pipeStats(s);
            pipeSlice(s);
        }
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(metrics.slicesRetired.count()).isEqualTo(1); // `used`, at finalization
        assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactlyInAnyOrder(PROFILE.id() + "|" + late.id(),
                OTHER_PROFILE.id() + "|" + nobodys.id(), PROFILE.id() + "|" + needed.id());
        finalizeOut.readRecordsToList();

        driver.advanceWallClockTime(SLICE_RETENTION.dividedBy(2));
        assertThat(finalizeOut.isEmpty()).isTrue();
        assertThat(metrics.slicesRetired.count()).isEqualTo(1);

        driver.advanceWallClockTime(SLICE_RETENTION);
        assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactly(PROFILE.id() + "|" + needed.id());
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(Map.of(needed.id(), BLOCKS));
        assertThat(sliceIdsIn(FinalizerTopology.BLOCK_TIMES_STORE)).isEqualTo(Map.of(needed.id(), BLOCKS));
        List<TestRecord<String, byte[]>> retires = finalizeOut.readRecordsToList();
        assertThat(retires).hasSize(2 * BLOCKS);
        assertThat(retires).extracting(rec -> Json.read(rec.value(), BlockInstruction.class))
                .allSatisfy(c -> assertThat(c.type()).isEqualTo(BlockInstruction.Type.RETIRE))
                .extracting(c -> c.sliceIds().get(0)).containsOnly(late.id(), nobodys.id());
        assertThat(metrics.slicesRetired.count()).isEqualTo(3);
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void anUnclaimedBlockOfASliceThePlannerNeverAcceptedExpiresTheSlice() {
        // invariant: the block tasks never delete an unclaimed block themselves; they report it after orphanRetention,
        // and the planner, which has not accepted the slice, expires it — so a slice record arriving later is never
        // planned over deleted blocks — and RETIREs the reported block
        Slice s = slice("w1-a-0", "a", 0, 0, 8);
        pipeStats(s); // its slice record is still on its way: the planner lags behind gblm.stats
        driver.advanceWallClockTime(ORPHAN_RETENTION.dividedBy(2));
        assertThat(acksOut.isEmpty()).isTrue();
        assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(Map.of(s.id(), BLOCKS));

        driver.advanceWallClockTime(ORPHAN_RETENTION);
        List<TestRecord<String, byte[]>> notices = acksOut.readRecordsToList();
        assertThat(notices).hasSize(BLOCKS).allSatisfy(n -> {
            assertThat(n.key()).isEqualTo(PROFILE.id());
            assertThat(header(n, FinalizerTopology.HEADER_UNCLAIMED)).isEqualTo(s.id());
        });
        assertThat(notices).extracting(n -> Json.read(n.value(), BlockAck.class).block())
                .containsExactlyInAnyOrderElementsOf(s.blocks().keySet().stream().map(BlockKey::toString).toList());
        assertThat(new String(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.BAD_SLICES_STORE).get(PROFILE.id() + "|" + s.id()),
                UTF_8)).isEqualTo(PlannerProcessor.EXPIRED);
        assertThat(instructions(finalizeOut.readRecordsToList())).hasSize(BLOCKS)
                .allSatisfy(c -> assertThat(c).isEqualTo(BlockInstruction.retire(List.of(s.id()))));
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.BLOCK_TIMES_STORE)).isEmpty();
        assertThat(metrics.orphansReported.count()).isEqualTo(BLOCKS);
        assertThat(metrics.orphansDeleted.count()).isEqualTo(BLOCKS);
        assertThat(metrics.slicesExpired.count()).isEqualTo(1);

        // the slice record comes at last: a job that would take it declares nothing, and later slices are unaffected
        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null));
        pipeSlice(s);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        assertThat(keys(FinalizerTopology.SLICES_STORE)).isEmpty();
        assertThat(epochsOut.isEmpty()).isTrue();
        Slice next = slice("w1-a-1", "a", 0, 8, 8);
        pipeStats(next);
        pipeSlice(next);
        assertThat(epochsOut.readRecordsToList()).singleElement()
                .satisfies(e -> assertThat(Json.read(e.value(), EpochRecord.class).sliceIds()).containsExactly(next.id()));
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void anUnclaimedBlockOfAnAcceptedSliceIsClaimedAgain() {
        // invariant: a report that crossed the slice's acceptance (the block task reported while the planner still
        // lagged; the planner then reached the slice record before the report) keeps the block: the planner CLAIMs it
        // again, the slice stays plannable, and its epoch completes
        Slice s = slice("w1-a-0", "a", 0, 0, 8);
        BlockKey up1 = new BlockKey(PROFILE.id(), 0, LinearKind.UP_PROJ, module(0, LinearKind.UP_PROJ).rowStarts().get(1));
        pipeStats(s);
        pipeSlice(s);
        finalizeOut.readRecordsToList();
        Record<String, byte[]> notice = BlockProcessor.unclaimedNotice(up1, s.id(), 0);
        pipe(Topics.ACKS.name(), notice.key(), notice.value(), notice.headers());

        assertThat(finalizeOut.readRecordsToList()).singleElement().satisfies(c -> {
            assertThat(c.key()).isEqualTo(up1.toString());
            assertThat(Json.read(c.value(), BlockInstruction.class)).isEqualTo(BlockInstruction.claim(List.of(s.id())));
        });
        assertThat(keys(FinalizerTopology.BAD_SLICES_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactly(PROFILE.id() + "|" + s.id());
        assertThat(timesOf(s.id())).hasSize(BLOCKS).allSatisfy((k, v) -> assertThat(v).isEqualTo(BlockProcessor.CLAIMED));
        assertThat(metrics.orphansReclaimed.count()).isEqualTo(1);
        assertThat(metrics.orphansDeleted.count()).isZero();

        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null));
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        assertThat(epochsOut.readRecordsToList()).hasSize(1);
        assertThat(masksOut.readRecordsToList()).hasSize(BLOCKS);
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void retireWaitsForThePendingFinalizeThatStillListsTheSlice() {
        // invariant (RETIRE's contract): a slice's block is deleted only once no pending FINALIZE of that block lists it;
        // elsewhere RETIRE deletes at once
        Slice s1 = slice("w1-a-0", "a", 0, 0, 8);
        Slice s2 = slice("w1-a-1", "a", 0, 8, 8);
        BlockKey missing = new BlockKey(PROFILE.id(), 0, LinearKind.DOWN_PROJ, module(0, LinearKind.DOWN_PROJ).rowStarts().get(1));
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        pipeStats(s1);
        pipeStatsExcept(s2, missing);
        JobSpec wanda = job("wanda-24", List.of("a"), "wanda", null, "2:4", 16, null).validated();
        instruct(missing, finalizeOf(wanda, missing, List.of(s1.id(), s2.id())));
        assertThat(keys(FinalizerTopology.PENDING_STORE)).hasSize(1);

        instructEveryBlock(BlockInstruction.retire(List.of(s1.id(), s2.id())));
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).containsExactly(missing + "|" + s1.id());
        assertThat(timesOf(s1.id())).containsOnlyKeys(missing + "|" + s1.id())
                .allSatisfy((k, v) -> assertThat(v).isEqualTo(BlockProcessor.RETIRING));
        // s2's block is not here yet; it is retired the moment the FINALIZE is answered
        assertThat(timesOf(s2.id())).containsOnlyKeys(missing + "|" + s2.id())
                .allSatisfy((k, v) -> assertThat(v).isEqualTo(BlockProcessor.RETIRING));

        pipeStats(missing.toString(), s2.blocks().get(missing), s2.id());
        assertThat(masksOut.readRecordsToList()).singleElement()
                .satisfies(m -> assertThat(m.key()).isEqualTo(MaskBlock.key("wanda-24", 1, 0, LinearKind.DOWN_PROJ, missing.rowStart())));
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty();
        assertThat(keys(FinalizerTopology.BLOCK_TIMES_STORE)).isEmpty();
        // a FINALIZE that is answered at once never delays a RETIRE
        pipeStats(q0.toString(), s1.blocks().get(q0), s1.id());
        instruct(q0, BlockInstruction.retire(List.of(s1.id())));
        assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty();
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void aReplayedAckCountsOnce() {
        // invariant: an epoch is finalized when every one of its blocks is acknowledged, not when as many acks arrived:
        // a replayed ack cannot stand in for the block still missing; an ack of a block outside the epoch is a dead letter
        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 8, null));
        Slice s = slice("w1-a-0", "a", 0, 0, 8);
        BlockKey missing = new BlockKey(PROFILE.id(), 1, LinearKind.GATE_PROJ, 0);
        pipeStatsExcept(s, missing);
        pipeSlice(s);
        List<TestRecord<String, byte[]>> acks = acksOut.readRecordsToList();
        assertThat(acks).hasSize(BLOCKS - 1);
        assertThat(progress("wanda-24").acked()).isEqualTo(BLOCKS - 1);

        pipe(Topics.ACKS.name(), acks.get(0).key(), acks.get(0).value(), null);
        pipe(Topics.ACKS.name(), acks.get(5).key(), acks.get(5).value(), null);
        assertThat(progress("wanda-24").acked()).isEqualTo(BLOCKS - 1);
        assertThat(progress("wanda-24").finalized()).isFalse();
        assertThat(metrics.acksDuplicate.count()).isEqualTo(2);
        assertThat(metrics.epochsFinalized.count()).isZero();
        assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactly(PROFILE.id() + "|" + s.id()); // not retired
        assertRejected(Topics.ACKS, PROFILE.id(), Json.write(new BlockAck("wanda-24", 1, PROFILE.id() + "/7/q_proj/0")), null,
                "invalid-ack");

        pipeStats(missing.toString(), s.blocks().get(missing), s.id());
        assertThat(progress("wanda-24").acked()).isEqualTo(BLOCKS);
        assertThat(progress("wanda-24").finalized()).isTrue();
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        pipe(Topics.ACKS.name(), acks.get(0).key(), acks.get(0).value(), null);
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(metrics.acksDuplicate.count()).isEqualTo(3);
    }

    @Test
    void aWindowedJobRePrunesEveryRefreshAndRetiresSlicesThatFellOutOfTheWindow() {
        // invariant: with refreshEvery R and window W, epoch e+1 is declared once R new samples arrived after epoch e
        // was finalized, holds the newest W samples (whole slices), equals the merge of exactly those, and afterwards
        // only the slices of the last window stay in the planner's and the block tasks' state
        JobSpec job = new JobSpec("win", PROFILE.id(), List.of("a"), "gblm", 0.5, "unstructured", null, "l1", 32, 16, 32);
        submit(job);
        Map<String, Slice> all = new LinkedHashMap<>();
        List<List<String>> expected = List.of(List.of("s0", "s1", "s2", "s3"), List.of("s2", "s3", "s4", "s5"),
                List.of("s4", "s5", "s6", "s7"));
        for (int wave = 0; wave < 4; wave++) {
            for (int i = 2 * wave; i < 2 * wave + 2; i++) { // a wave: 16 samples in two slices of stream a, partition 0
                Slice s = slice("s" + i, "a", 0, 8L * i, 8);
                all.put(s.id(), s);
                pipeStats(s);
                pipeSlice(s);
            }
            List<TestRecord<String, byte[]>> epochs = epochsOut.readRecordsToList();
            if (wave == 0) {
                assertThat(epochs).as("16 < minSamples").isEmpty();
                continue;
            }
            assertThat(epochs).hasSize(1);
            EpochRecord e = Json.read(epochs.get(0).value(), EpochRecord.class);
            assertThat(e.epoch()).isEqualTo(wave);
            assertThat(e.sliceIds()).isEqualTo(expected.get(wave - 1));
            assertThat(e.base()).isNull();
            assertThat(e.samples()).isEqualTo(32);
            assertMasksEqualReference(e, masksOut.readRecordsToList(), all);
            assertThat(progress("win").finalized()).isTrue();
            // bounded: exactly the last window's slices are left
            assertThat(keys(FinalizerTopology.SLICES_STORE)).containsExactlyInAnyOrderElementsOf(
                    e.sliceIds().stream().map(id -> PROFILE.id() + "|" + id).toList());
            Map<String, Integer> perSlice = new TreeMap<>();
            e.sliceIds().forEach(id -> perSlice.put(id, BLOCKS));
            assertThat(sliceIdsIn(FinalizerTopology.BLOCKS_STORE)).isEqualTo(perSlice);
            assertThat(sliceIdsIn(FinalizerTopology.BLOCK_TIMES_STORE)).isEqualTo(perSlice);
            assertThat(progress("win").firstUsed()).containsOnlyKeys(e.sliceIds());
        }
        // one new slice (8 < refreshEvery 16): no epoch 4
        Slice s8 = slice("s8", "a", 0, 64, 8);
        pipeStats(s8);
        pipeSlice(s8);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        assertThat(epochsOut.isEmpty()).isTrue();
        assertThat(metrics.epochsFinalized.count()).isEqualTo(3);
        assertThat(metrics.slicesRetired.count()).isEqualTo(4);
        assertThat(keys(FinalizerTopology.BASES_STORE)).isEmpty();
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    @Test
    void windowZeroFoldsEachFinalizedEpochIntoABaseSumAndAReplayedFoldChangesNothing() {
        // invariant: with window 0, a finalized epoch is folded into the job's per-block base sum, its slices leave
        // state, and epoch e+1 = base e + the new slices, equal to the merge of every slice so far in merge order
        JobSpec job = new JobSpec("all", PROFILE.id(), List.of("a"), "wanda", null, "2:4", null, null, 16, 16, 0);
        submit(job);
        Map<String, Slice> all = new LinkedHashMap<>();
        EpochRecord last = null;
        for (int wave = 0; wave < 3; wave++) {
            for (int i = 2 * wave; i < 2 * wave + 2; i++) {
                Slice s = slice("s" + i, "a", 0, 8L * i, 8);
                all.put(s.id(), s);
                pipeStats(s);
                pipeSlice(s);
            }
            List<TestRecord<String, byte[]>> epochs = epochsOut.readRecordsToList();
            assertThat(epochs).hasSize(1);
            EpochRecord e = Json.read(epochs.get(0).value(), EpochRecord.class).validate();
            assertThat(e.epoch()).isEqualTo(wave + 1);
            assertThat(e.sliceIds()).containsExactly("s" + 2 * wave, "s" + (2 * wave + 1));
            assertThat(e.samples()).isEqualTo(16L * (wave + 1));
            if (wave == 0) {
                assertThat(e.base()).isNull();
            } else {
                assertThat(e.base().epoch()).isEqualTo(wave);
                assertThat(e.base().sliceIds()).isEqualTo(all.keySet().stream().limit(2L * wave).toList());
                assertThat(e.base().samples()).isEqualTo(16L * wave);
            }
            assertMasksEqualReference(e, masksOut.readRecordsToList(), all);
            Map<BlockInstruction.Type, List<BlockInstruction>> byType = instructions(finalizeOut.readRecordsToList()).stream()
                    .collect(Collectors.groupingBy(BlockInstruction::type));
            assertThat(byType.get(BlockInstruction.Type.FOLD)).hasSize(BLOCKS).allSatisfy(c -> {
                assertThat(c.epoch()).isEqualTo(e.epoch());
                assertThat(c.sliceIds()).isEqualTo(e.sliceIds());
            });
            // bounded: no slice left anywhere, one base entry per block, at the epoch just finalized
            assertThat(keys(FinalizerTopology.SLICES_STORE)).isEmpty();
            assertThat(keys(FinalizerTopology.BLOCKS_STORE)).isEmpty();
            assertThat(keys(FinalizerTopology.BLOCK_TIMES_STORE)).isEmpty();
            assertThat(keys(FinalizerTopology.BASES_STORE)).hasSize(BLOCKS).allMatch(k -> k.endsWith("|all"));
            KeyValueStore<String, byte[]> bases = driver.getKeyValueStore(FinalizerTopology.BASES_STORE);
            try (KeyValueIterator<String, byte[]> it = bases.all()) {
                it.forEachRemaining(kv -> assertThat(BlockAggregation.baseVersion(kv.value)).isEqualTo(e.epoch()));
            }
            last = e;
        }
        assertThat(metrics.basesFolded.count()).isEqualTo(3);

        // replays: the FOLD of version 2 again, and epoch 3's FINALIZE again, change no base and emit no mask
        Map<String, byte[]> before = new TreeMap<>();
        KeyValueStore<String, byte[]> bases = driver.getKeyValueStore(FinalizerTopology.BASES_STORE);
        try (KeyValueIterator<String, byte[]> it = bases.all()) {
            it.forEachRemaining(kv -> before.put(kv.key, kv.value));
        }
        instructEveryBlock(BlockInstruction.fold("all", 2, new EpochBase("all", 1, List.of(), 16, 512), List.of("s2", "s3")));
        BlockKey q0 = new BlockKey(PROFILE.id(), 0, LinearKind.Q_PROJ, 0);
        BlockInstruction fin = finalizeOf(last.spec(), q0, last.sliceIds());
        instruct(q0, new BlockInstruction(fin.type(), fin.job(), 3, fin.spec(), fin.rowEnd(), fin.in(), fin.sliceIds(), null,
                last.base().reference()));
        assertThat(metrics.foldsReplayed.count()).isEqualTo(BLOCKS);
        assertThat(masksOut.isEmpty()).isTrue();
        assertThat(keys(FinalizerTopology.PENDING_STORE)).isEmpty();
        try (KeyValueIterator<String, byte[]> it = bases.all()) {
            it.forEachRemaining(kv -> assertThat(kv.value).isEqualTo(before.get(kv.key)));
        }
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    // ------------------------------------------------------------------ reference

    /** Whole-module merge of the epoch's slices in epoch order, scored and selected by the pure core, per module. */
    @Test
    void anAutoAlphaJobGetsOneMaskPerGridAlphaPerBlockAndOneAckPerBlock() {
        // workers holding out a quarter; the job chooses among alpha 0, 10 and inf (gradient scale s = 100)
        Profile held = new Profile(PROFILE.model(), 32, 100f, PROFILE.stats(), PROFILE.blockBytes(), 0.25);
        JobSpec spec = new JobSpec("gblm-auto", held.id(), List.of("a"), "gblm", 0.5, "unstructured", null, null, 16, 0, 0,
                null, "auto", null, 0.25, List.of("inf", "10", "0"));
        submit(spec);
        Map<String, Slice> slices = new LinkedHashMap<>();
        for (Slice s : List.of(slice(held, "w1-a-0", "a", 0, 0, 8), slice(held, "w1-a-1", "a", 0, 8, 8))) {
            slices.put(s.id(), s);
            pipeStats(s);
            pipeSlice(s);
        }
        EpochRecord e = Json.read(epochsOut.readValue(), EpochRecord.class);
        assertThat(e.spec().alphaGrid()).containsExactly("0", "10", "inf");
        assertThat(e.profileSpec()).isEqualTo(held);
        List<BlockInstruction> finalizes = instructions(finalizeOut.readRecordsToList()).stream()
                .filter(c -> c.type() == BlockInstruction.Type.FINALIZE).toList();
        assertThat(finalizes).hasSize(BLOCKS).allSatisfy(c -> {
            assertThat(c.gradScale()).isEqualTo(100f);
            assertThat(c.spec().alphaGridValues()).containsExactly(0.0, 10.0, Double.POSITIVE_INFINITY);
        });

        List<TestRecord<String, byte[]>> recs = masksOut.readRecordsToList();
        assertThat(recs).hasSize(3 * BLOCKS);
        // grid index -> module -> row blocks
        Map<Integer, Map<ModuleKey, List<MaskBlock>>> byPoint = new HashMap<>();
        for (TestRecord<String, byte[]> r : recs) {
            MaskBlock b = MaskBlock.decode(r.value());
            assertThat(r.key()).isEqualTo(MaskBlock.key(e.job(), 1, b.layer(), b.module(), b.rowStart()));
            assertThat(header(r, Topics.HEADER_EPOCH)).isEqualTo("1");
            int point = Integer.parseInt(header(r, Topics.HEADER_ALPHA));
            byPoint.computeIfAbsent(point, k -> new HashMap<>())
                    .computeIfAbsent(new ModuleKey(b.layer(), b.module()), k -> new ArrayList<>()).add(b);
        }
        assertThat(byPoint).containsOnlyKeys(0, 1, 2);
        List<Double> grid = List.of(0.0, 10.0, Double.POSITIVE_INFINITY);
        JobSpec v = spec.validated();
        long zeroVsInf = 0;
        for (ModuleLayout m : LAYOUT) {
            ModuleKey mk = new ModuleKey(m.layer(), m.kind());
            ModuleStats merged = slices.get("w1-a-0").whole().get(mk).copy().mergeInPlace(slices.get("w1-a-1").whole().get(mk));
            float[] w = WEIGHTS.matrix(m.layer(), m.kind());
            List<Mask> got = new ArrayList<>();
            for (int i = 0; i < grid.size(); i++) {
                // independent: the whole matrix at this alpha through the pure entry point the batch pruner uses
                PruneSettings at = new PruneSettings(Method.GBLM, GradNorm.L1, v.patternSpec(), v.tailRuleEnum(), grid.get(i),
                        Normalization.SUM);
                Mask expected = Pruner.mask(at, 100f, w, 0, m.out(), m.in(), merged, null);
                List<MaskBlock> blocks = byPoint.get(i).get(mk);
                blocks.sort(Comparator.comparingInt(MaskBlock::rowStart));
                assertThat(blocks).extracting(MaskBlock::rowStart).isEqualTo(m.rowStarts());
                Mask mask = Mask.concatRows(blocks.stream().map(MaskBlock::mask).toList());
                assertThat(mask.differences(expected)).as(mk + " alpha " + grid.get(i)).isZero();
                got.add(mask);
            }
            zeroVsInf += got.get(0).differences(got.get(2));
        }
        assertThat(zeroVsInf).as("activation-only and gradient-only masks differ").isPositive();

        List<BlockAck> acks = acksOut.readRecordsToList().stream().map(r -> Json.read(r.value(), BlockAck.class)).toList();
        assertThat(acks).containsExactlyInAnyOrderElementsOf(
                e.blockKeys().stream().map(k -> new BlockAck("gblm-auto", 1, k.toString())).toList());
        assertThat(metrics.epochsFinalized.count()).isEqualTo(1);
        assertThat(progress("gblm-auto").finalized()).isTrue();
        assertThat(dlqOut.isEmpty()).isTrue();
    }

    private static void assertMasksEqualReference(EpochRecord e, List<TestRecord<String, byte[]>> recs, Map<String, Slice> slices) {
        assertThat(recs).as("mask blocks of " + e.job()).hasSize(BLOCKS);
        Map<ModuleKey, List<MaskBlock>> byModule = new HashMap<>();
        for (TestRecord<String, byte[]> r : recs) {
            assertThat(header(r, Topics.HEADER_EPOCH)).isEqualTo(Integer.toString(e.epoch()));
            assertThat(r.headers().lastHeader(Topics.HEADER_ALPHA)).as("no grid index without alpha=auto").isNull();
            MaskBlock b = MaskBlock.decode(r.value());
            assertThat(r.key()).isEqualTo(MaskBlock.key(e.job(), e.epoch(), b.layer(), b.module(), b.rowStart()));
            byModule.computeIfAbsent(new ModuleKey(b.layer(), b.module()), k -> new ArrayList<>()).add(b);
        }
        JobSpec spec = e.spec();
        for (ModuleLayout m : LAYOUT) {
            ModuleKey mk = new ModuleKey(m.layer(), m.kind());
            ModuleStats merged = null;
            for (String id : e.mergeOrder()) { // the base's slices, then the listed ones
                ModuleStats st = slices.get(id).whole().get(mk);
                merged = merged == null ? st.copy() : merged.mergeInPlace(st);
            }
            float[] w = WEIGHTS.matrix(m.layer(), m.kind());
            Mask expected = spec.needsMatrixThreshold()
                    ? MaskSelector.magnitudeThreshold(w, m.out(), m.in(), spec.sparsity())
                    : MaskSelector.select(Scores.compute(spec.methodEnum(), spec.gradNormEnum(), w, 0, m.out(), m.in(), merged),
                            m.out(), m.in(), spec.patternSpec(), spec.tailRuleEnum());
            List<MaskBlock> blocks = byModule.get(mk);
            blocks.sort(Comparator.comparingInt(MaskBlock::rowStart));
            assertThat(blocks).extracting(MaskBlock::rowStart).isEqualTo(m.rowStarts());
            Mask got = Mask.concatRows(blocks.stream().map(MaskBlock::mask).toList());
            assertThat(got.differences(expected)).as(e.job() + " " + mk).isZero();
            assertThat(expected.prunedCount()).isPositive();
        }
    }

    // ------------------------------------------------------------------ teams

    @Test
    void teamJobsAreRelayedWithTheTeamOfTheirTopicAndForeignIdsAreRefused() {
        // invariant: a job's team is the team of the topic it was written to, whatever its JSON claims; a team names only
        // ids of its own namespace, so it can neither replace nor delete another team's job or an admin job
        JobSpec forged = job("a.j1", List.of("a.x"), "wanda", null, "2:4", 8, null).withTeam("b");
        pipe(Topics.teamJobsTopic("a"), "a.j1", Json.write(forged), null);
        KeyValueStore<String, byte[]> jobs = driver.getKeyValueStore(FinalizerTopology.JOBS_STORE);
        assertThat(Json.read(jobs.get("a.j1"), JobSpec.class).team()).isEqualTo("a");

        submit(job("admin-job", List.of("a.x"), "wanda", null, "2:4", 8, null));
        for (String foreign : List.of("b.j1", "admin-job")) {
            pipe(Topics.teamJobsTopic("a"), foreign, null, null); // a delete of someone else's job
            pipe(Topics.teamJobsTopic("a"), foreign, Json.write(job(foreign, List.of("a.x"), "wanda", null, "2:4", 8, null)), null);
        }
        assertThat(deadLetterCodes()).containsExactly("foreign-job-id", "foreign-job-id", "foreign-job-id", "foreign-job-id");
        assertThat(jobs.get("admin-job")).isNotNull();
        assertThat(jobs.get("b.j1")).isNull();

        byte[] invalid = Json.write(job("a.bad", List.of("a.x"), "sparsegpt", 0.5, "unstructured", 8, null));
        pipe(Topics.teamJobsTopic("a"), "a.bad", invalid, null);
        assertThat(deadLetterCodes()).containsExactly("invalid-job");
        JobStatus refused = Json.read(statusOut.readRecordsToList().get(0).value(), JobStatus.class);
        assertThat(refused.state()).isEqualTo(JobStatus.State.REFUSED);
        assertThat(refused.reason()).contains("batch-only");

        pipe(Topics.teamJobsTopic("a"), "a.j1", null, null);
        assertThat(jobs.get("a.j1")).isNull();
    }

    @Test
    void aTeamJobWaitsForTheGrantOfEveryStreamItNames() {
        // invariant: no epoch of a team job uses a stream its team may not read; the refusal is explained once on the
        // DLQ and in the job's status, and the job proceeds as soon as the owner grants the stream
        Slice own = slice("w1-a-0", "a.own", 0, 0, 8);
        Slice shared = slice("w1-b-0", "b.data", 0, 0, 8);
        for (Slice s : List.of(own, shared)) {
            pipeStats(s);
            pipeSlice(s);
        }
        statusOut.readRecordsToList();
        JobSpec wantsB = job("a.uses-b", List.of("a.own", "b.data"), "wanda", null, "2:4", 16, null);
        pipe(Topics.teamJobsTopic("a"), wantsB.id(), Json.write(wantsB), null);
        JobSpec ownOnly = job("a.own-only", List.of("a.own"), "wanda", null, "2:4", 8, null);
        pipe(Topics.teamJobsTopic("a"), ownOnly.id(), Json.write(ownOnly), null);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        driver.advanceWallClockTime(PLANNER_INTERVAL);

        assertThat(epochsOut.readRecordsToList()).extracting(TestRecord::key).containsExactly("a.own-only");
        List<TestRecord<String, byte[]>> dlq = dlqOut.readRecordsToList();
        assertThat(dlq).hasSize(1); // once, not every round
        assertThat(dlq.get(0).key()).isEqualTo("a.uses-b");
        assertThat(header(dlq.get(0), Topics.HEADER_REASON)).startsWith("stream-not-granted: team a may not read stream b.data");
        Map<String, JobStatus> status = latestStatus();
        assertThat(status.get("a.uses-b").state()).isEqualTo(JobStatus.State.REFUSED);
        assertThat(status.get("a.uses-b").reason()).contains("gblm team grant --stream b.data --to a");
        assertThat(status.get("a.own-only").state()).isEqualTo(JobStatus.State.FINALIZED);
        assertThat(status.get("a.own-only").epoch()).isEqualTo(1);

        grantedReads.add("a|b.data");
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        List<TestRecord<String, byte[]>> epochs = epochsOut.readRecordsToList();
        assertThat(epochs).extracting(TestRecord::key).containsExactly("a.uses-b");
        EpochRecord e = Json.read(epochs.get(0).value(), EpochRecord.class);
        assertThat(e.spec().team()).isEqualTo("a");
        assertThat(e.sliceIds()).containsExactlyInAnyOrder("w1-a-0", "w1-b-0");
        status = latestStatus();
        assertThat(status.get("a.uses-b").state()).isEqualTo(JobStatus.State.FINALIZED);
        assertThat(status.get("a.uses-b").reason()).isNull();
        assertThat(status.get("a.uses-b").samples()).isZero(); // every sample is used by epoch 1
    }

    @Test
    void aJobHoldingOutMoreThanItsProfileIsRefusedWithTheReason() {
        // the workers of PROFILE hold out nothing, so a job's held-out records would be in the statistics
        submit(new JobSpec("held", PROFILE.id(), List.of("a"), "gblm", 0.5, "unstructured", null, null, 16, 0, 0, null,
                null, null, 0.1));
        Slice s1 = slice("w1-a-0", "a", 0, 0, 16);
        pipeStats(s1);
        pipeSlice(s1);
        assertThat(epochsOut.isEmpty()).isTrue();
        JobStatus st = latestStatus().get("held");
        assertThat(st.state()).isEqualTo(JobStatus.State.REFUSED);
        assertThat(st.reason()).contains("holds out 0.1", "--holdout 0.1");
    }

    @Test
    void aJobStatusIsWrittenWhenItChanges() {
        // invariant: gblm.job-status carries one record per change of a job's state (waiting with its sample count,
        // finalizing, finalized), not one per planner round
        submit(job("wanda-24", List.of("a"), "wanda", null, "2:4", 16, null));
        Slice s1 = slice("w1-a-0", "a", 0, 0, 8);
        pipeStats(s1);
        pipeSlice(s1);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        driver.advanceWallClockTime(PLANNER_INTERVAL);
        List<JobStatus> seen = statusOut.readRecordsToList().stream().map(r -> Json.read(r.value(), JobStatus.class)).toList();
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0).state()).isEqualTo(JobStatus.State.WAITING);
        assertThat(seen.get(0).samples()).isEqualTo(8);
        assertThat(seen.get(0).nextEpochAt()).isEqualTo(16);
        Slice s2 = slice("w1-a-1", "a", 0, 8, 8);
        pipeStats(s2);
        pipeSlice(s2);
        seen = statusOut.readRecordsToList().stream().map(r -> Json.read(r.value(), JobStatus.class)).toList();
        assertThat(seen).extracting(JobStatus::state).endsWith(JobStatus.State.FINALIZED);
        assertThat(seen.get(seen.size() - 1).epoch()).isEqualTo(1);
    }

    private Map<String, JobStatus> latestStatus() {
        Map<String, JobStatus> out = new HashMap<>();
        for (TestRecord<String, byte[]> r : statusOut.readRecordsToList()) {
            out.put(r.key(), Json.read(r.value(), JobStatus.class));
        }
        return out;
    }

    // ------------------------------------------------------------------ records

    private Slice slice(String id, String stream, int partition, long from, int samples) {
        return slice(PROFILE, id, stream, partition, from, samples);
    }

    private Slice slice(Profile profile, String id, String stream, int partition, long from, int samples) {
        Map<ModuleKey, ModuleStats> whole = new LinkedHashMap<>();
        Map<BlockKey, byte[]> blocks = new LinkedHashMap<>();
        for (ModuleLayout m : LAYOUT) {
            ModuleStats s = ModuleStats.zeros(m.layer(), m.kind(), 0, m.out(), m.in(), PROFILE.kinds());
            fill(s.gradL1());
            fill(s.gradL2Sq());
            fill(s.actSq());
            s.addCounts(samples, samples * 32L);
            whole.put(new ModuleKey(m.layer(), m.kind()), s);
            for (int b = 0; b < m.rowStarts().size(); b++) {
                int start = m.rowStarts().get(b);
                blocks.put(new BlockKey(profile.id(), m.layer(), m.kind(), start), StatsCodec.encode(s.rowBlock(start, m.rowEnd(b))));
            }
        }
        SliceRecord r = new SliceRecord(id, profile.id(), profile, stream,
                List.of(new OffsetRange(Topics.calibrationTopic(stream), partition, from, from + samples)), samples, samples * 32L, 0,
                blocks.size(), System.currentTimeMillis());
        return new Slice(r, whole, blocks);
    }

    private void fill(float[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = rnd.nextFloat() * 10f;
        }
    }

    private static JobSpec job(String id, List<String> streams, String method, Double sparsity, String pattern, int min, String norm) {
        return new JobSpec(id, PROFILE.id(), streams, method, sparsity, pattern, null, norm, min, 0, 0);
    }

    private static ModuleLayout module(int layer, LinearKind k) {
        return LAYOUT.stream().filter(m -> m.layer() == layer && m.kind() == k).findFirst().orElseThrow();
    }

    private static Headers sliceHeader(String sliceId) {
        return header(Topics.HEADER_SLICE, sliceId);
    }

    private static Headers header(String name, String value) {
        return new RecordHeaders().add(name, value.getBytes(UTF_8));
    }

    private static BlockInstruction finalizeOf(JobSpec spec, BlockKey key, List<String> sliceIds) {
        ModuleLayout m = module(key.layer(), key.module());
        int b = m.rowStarts().indexOf(key.rowStart());
        return new BlockInstruction(BlockInstruction.Type.FINALIZE, spec.id(), 1, spec, m.rowEnd(b), m.in(), sliceIds, null);
    }

    private JobProgress progress(String job) {
        return Json.read(driver.<String, byte[]>getKeyValueStore(FinalizerTopology.PROGRESS_STORE).get(job), JobProgress.class);
    }

    /** Delegates to in-memory weights; reading rows throws while {@code failRows} is set. */
    static final class FlakyWeights implements DenseWeights {
        private final DenseWeights delegate;
        volatile boolean failRows;

        FlakyWeights(DenseWeights delegate) {
            this.delegate = delegate;
        }

        @Override
        public float[] rows(int layer, LinearKind k, int rowStart, int rowEnd) {
            if (failRows) {
                throw new IllegalStateException("checkpoint read failed");
            }
            return delegate.rows(layer, k, rowStart, rowEnd);
        }

        @Override
        public int[] shape(int layer, LinearKind k) {
            return delegate.shape(layer, k);
        }

        @Override
        public int numLayers() {
            return delegate.numLayers();
        }
    }

    // ------------------------------------------------------------------ driver plumbing

    private TestOutputTopic<String, byte[]> output(String topic) {
        return driver.createOutputTopic(topic, new StringDeserializer(), new ByteArrayDeserializer());
    }

    private void pipe(String topic, String key, byte[] value, Headers headers) {
        inputs.get(topic).pipeInput(new TestRecord<>(key, value, headers == null ? new RecordHeaders() : headers));
    }

    private void submit(JobSpec spec) {
        pipe(Topics.JOBS.name(), spec.id(), Json.write(spec), null);
    }

    private void pipeSlice(Slice s) {
        pipe(Topics.SLICES.name(), s.record().profile(), Json.write(s.record()), null);
    }

    private void pipeStats(Slice s) {
        s.blocks().forEach((k, v) -> pipeStats(k.toString(), v, s.id()));
    }

    private void pipeStatsExcept(Slice s, BlockKey skip) {
        s.blocks().forEach((k, v) -> {
            if (!k.equals(skip)) {
                pipeStats(k.toString(), v, s.id());
            }
        });
    }

    private void pipeStats(String key, byte[] value, String sliceId) {
        pipe(Topics.STATS.name(), key, value, sliceHeader(sliceId));
    }

    private void instruct(BlockKey key, BlockInstruction c) {
        pipe(Topics.FINALIZE.name(), key.toString(), Json.write(c), null);
    }

    private void instructEveryBlock(BlockInstruction c) {
        for (ModuleLayout m : LAYOUT) {
            for (int start : m.rowStarts()) {
                instruct(new BlockKey(PROFILE.id(), m.layer(), m.kind(), start), c);
            }
        }
    }

    /** Pipes one bad record and checks that it, and only it, comes out on the DLQ, unchanged and explained. */
    private void assertRejected(Topics.Topic<?, ?> topic, String key, byte[] value, Headers headers, String code) {
        pipe(topic.name(), key, value, headers);
        List<TestRecord<String, byte[]>> dlq = dlqOut.readRecordsToList();
        assertThat(dlq).as(code + " on " + topic).hasSize(1);
        TestRecord<String, byte[]> d = dlq.get(0);
        assertThat(d.key()).isEqualTo(key);
        assertThat(d.value()).isEqualTo(value);
        String reason = header(d, Topics.HEADER_REASON);
        assertThat(reason).as(code + " on " + topic).startsWith(code + ": ");
        assertThat(reason.substring(code.length() + 2)).isNotBlank();
        assertThat(header(d, Topics.HEADER_SOURCE)).matches(Pattern.quote(topic.name()) + "-0@\\d+");
        if (headers != null) {
            for (Header h : headers) {
                assertThat(d.headers().lastHeader(h.key()).value()).as("original header " + h.key()).isEqualTo(h.value());
            }
        }
    }

    private List<String> deadLetterCodes() {
        return dlqOut.readRecordsToList().stream().map(r -> {
            String reason = header(r, Topics.HEADER_REASON);
            return reason.substring(0, reason.indexOf(':'));
        }).toList();
    }

    private static String header(TestRecord<String, byte[]> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), UTF_8);
    }

    private static List<BlockInstruction> instructions(List<TestRecord<String, byte[]>> recs) {
        return recs.stream().map(r -> Json.read(r.value(), BlockInstruction.class)).toList();
    }

    private List<String> keys(String store) {
        KeyValueStore<String, byte[]> s = driver.getKeyValueStore(store);
        List<String> out = new ArrayList<>();
        try (KeyValueIterator<String, byte[]> it = s.all()) {
            it.forEachRemaining(kv -> out.add(kv.key));
        }
        return out;
    }

    /** Slice id → number of its entries in a {@code blockKey|sliceId} store. */
    private Map<String, Integer> sliceIdsIn(String store) {
        Map<String, Integer> out = new TreeMap<>();
        for (String k : keys(store)) {
            out.merge(k.substring(k.lastIndexOf('|') + 1), 1, Integer::sum);
        }
        return out;
    }

    /** blockKey|sliceId → block-times value, for one slice. */
    private Map<String, byte[]> timesOf(String sliceId) {
        KeyValueStore<String, byte[]> s = driver.getKeyValueStore(FinalizerTopology.BLOCK_TIMES_STORE);
        Map<String, byte[]> out = new TreeMap<>();
        try (KeyValueIterator<String, byte[]> it = s.all()) {
            it.forEachRemaining(kv -> {
                if (kv.key.endsWith("|" + sliceId)) {
                    out.put(kv.key, kv.value);
                }
            });
        }
        return out;
    }
}
