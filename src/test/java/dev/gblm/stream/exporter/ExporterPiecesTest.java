package dev.gblm.stream.exporter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.prune.Mask;
import dev.gblm.prune.batch.MaskFile;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ModuleLayout;
import dev.gblm.stream.Profile;
import dev.gblm.stream.finalizer.CheckpointWeights;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exporter's logic without Kafka: assembling an epoch from mask blocks ({@link EpochAssembly}), drift against the
 * previous epoch ({@link ExportReport#drift}), and the write-once decision and commit offsets of {@link EpochExports}.
 * On the tiny fixture model with a 4 KiB row-block layout, so every module is several blocks.
 */
class ExporterPiecesTest {
    static final Path TINY = Path.of("src/test/resources/fixtures/tiny/model");
    static Checkpoint ckpt;
    static Profile profile;
    static List<ModuleLayout> layout;

    @BeforeAll
    static void load() {
        ckpt = Checkpoints.load(TINY);
        profile = Profile.forCheckpoint(ckpt, 0, 100f, 4096);
        layout = new CheckpointWeights(ckpt).layout(profile);
    }

    @Test
    void theLayoutSplitsModulesIntoSeveralBlocks() {
        assertThat(layout).hasSize(ckpt.config().numLayers() * 7);
        assertThat(layout).allMatch(m -> m.rowStarts().size() >= 2);
    }

    @Test
    void anEpochIsCompleteOnlyWithItsRecordAndEveryBlockAndDuplicatesAreIgnored() {
        Map<ModuleKey, Mask> masks = randomMasks(1);
        List<MaskBlock> blocks = blocksOf(masks);
        Collections.shuffle(blocks, new Random(2));
        EpochAssembly a = new EpochAssembly("j", 1);
        for (MaskBlock b : blocks) {
            assertThat(a.add(arrival(b))).isNull();
        }
        a.add(arrival(blocks.get(5)));
        assertThat(a.duplicates()).as("a replay before the record").isEqualTo(1);
        assertThat(a.missing()).as("record unknown").isEqualTo(-1);
        assertThat(a.complete()).isFalse();
        assertThat(a.setRecord(record("j", 1))).isEmpty();
        assertThat(a.complete()).isTrue();
        assertThat(a.add(arrival(blocks.get(3)))).isNull();
        assertThat(a.add(arrival(blocks.get(3)))).isNull();
        assertThat(a.duplicates()).isEqualTo(3);
        assertThat(a.blocksReceived()).isEqualTo(blocks.size()).isEqualTo(record("j", 1).blockCount());
        assertThat(a.masks()).isEqualTo(masks);
        assertThat(EpochAssembly.sparsity(a.masks())).hasSize(masks.size())
                .containsEntry("layers.0.q_proj", masks.get(new ModuleKey(0, dev.gblm.model.LinearKind.Q_PROJ)).sparsity());
    }

    @Test
    void aMissingBlockKeepsTheEpochIncomplete() {
        List<MaskBlock> blocks = blocksOf(randomMasks(3));
        EpochAssembly a = new EpochAssembly("j", 1);
        a.setRecord(record("j", 1));
        blocks.subList(1, blocks.size()).forEach(b -> a.add(arrival(b)));
        assertThat(a.missing()).isEqualTo(1);
        assertThatThrownBy(a::masks).isInstanceOf(IllegalStateException.class).hasMessageContaining("incomplete");
        assertThatThrownBy(() -> a.setRecord(record("j", 1))).isInstanceOf(IllegalStateException.class);
        EpochAssembly b = new EpochAssembly("j", 1);
        assertThatThrownBy(() -> b.setRecord(record("other", 1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.setRecord(record("j", 2))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void driftIsTheFractionOfMaskBitsChangedSinceThePreviousEpoch(@TempDir Path tmp) {
        Map<ModuleKey, Mask> prev = randomMasks(5);
        Path file = tmp.resolve("masks.bin");
        MaskFile.write(file, entries(prev));
        assertThat(ExportReport.drift(null, prev)).as("first epoch").isNull();
        assertThat(ExportReport.drift(tmp.resolve("absent.bin"), prev)).isNull();
        assertThat(ExportReport.drift(file, prev)).isEqualTo(0.0);

        Map<ModuleKey, Mask> now = copy(prev);
        long total = now.values().stream().mapToLong(Mask::numel).sum();
        int flipped = 0;
        for (Mask m : now.values()) {
            for (int r = 0; r < m.rows(); r += 3) {
                // set bits cannot be cleared in place: flip unpruned ones only
                if (!m.isPruned(r, 0)) {
                    m.prune(r, 0);
                    flipped++;
                }
            }
        }
        assertThat(flipped).isPositive();
        assertThat(ExportReport.drift(file, now)).isEqualTo((double) flipped / total);

        Map<ModuleKey, Mask> fewer = new TreeMap<>(prev);
        fewer.remove(fewer.keySet().iterator().next());
        assertThat(ExportReport.drift(file, fewer)).as("a module missing now").isNull();
        Map<ModuleKey, Mask> reshaped = new TreeMap<>(prev);
        ModuleKey k = reshaped.keySet().iterator().next();
        reshaped.put(k, new Mask(prev.get(k).rows() + 1, prev.get(k).cols()));
        assertThat(ExportReport.drift(file, reshaped)).as("another shape").isNull();
    }

    @Test
    void anEpochIsWrittenOnceAndAReplayNeitherRewritesNorDuplicatesIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        Map<ModuleKey, Mask> masks = randomMasks(6);
        EpochExports first = exports(out);
        feed(first, record("j", 1), blocksOf(masks), 100);
        List<ModelReady> ready = first.exportComplete();
        assertThat(ready).hasSize(1);
        ModelReady m = ready.get(0);
        assertThat(m.written()).isTrue();
        assertThat(m.samples()).isEqualTo(10);
        assertThat(m.drift()).as("first epoch").isNull();
        Path dir = EpochExports.epochDir(out, "j", 1);
        assertThat(readMasks(dir)).isEqualTo(masks);
        byte[] report = Files.readAllBytes(dir.resolve(PrunedModelWriter.REPORT_FILE));
        long mtime = Files.getLastModifiedTime(dir.resolve(PrunedModelWriter.MASKS_FILE)).toMillis();
        assertThat(first.exportComplete()).as("nothing left").isEmpty();

        // the same process sees a block of the exported epoch again (redelivery): ignored, nothing pending
        feed(first, null, blocksOf(masks).subList(0, 1), 500);
        assertThat(first.pendingEpochs()).isZero();
        assertThat(first.exportComplete()).isEmpty();

        // a new process replays everything (offsets lost): assembled again, not rewritten, same figures
        EpochExports replay = exports(out);
        feed(replay, record("j", 1), blocksOf(masks), 100);
        List<ModelReady> again = replay.exportComplete();
        assertThat(again).hasSize(1);
        assertThat(again.get(0).written()).isFalse();
        assertThat(again.get(0).sparsity()).isEqualTo(m.sparsity());
        assertThat(Files.readAllBytes(dir.resolve(PrunedModelWriter.REPORT_FILE))).isEqualTo(report);
        assertThat(Files.getLastModifiedTime(dir.resolve(PrunedModelWriter.MASKS_FILE)).toMillis()).isEqualTo(mtime);
        try (var s = Files.list(out.resolve("j"))) {
            assertThat(s.map(p -> p.getFileName().toString()).toList()).containsExactly("epoch-1");
        }
    }

    @Test
    void theNextEpochRecordsItsDriftFromThePreviousExport(@TempDir Path tmp) {
        Path out = tmp.resolve("out");
        Map<ModuleKey, Mask> e1 = randomMasks(7);
        Map<ModuleKey, Mask> e2 = randomMasks(8);
        long total = e1.values().stream().mapToLong(Mask::numel).sum();
        long diff = 0;
        for (ModuleKey k : e1.keySet()) {
            diff += e1.get(k).differences(e2.get(k));
        }
        EpochExports x = exports(out);
        feed(x, record("j", 1), blocksOf(e1), 0);
        feed(x, record("j", 2), blocksOf(e2), 1000);
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).extracting(ModelReady::epoch).containsExactly(1, 2);
        assertThat(ready.get(1).drift()).isEqualTo((double) diff / total);
    }

    @Test
    void offsetsAreNotCommittedPastRecordsOfAnEpochStillBeingAssembled(@TempDir Path tmp) {
        EpochExports x = exports(tmp.resolve("out"));
        List<MaskBlock> blocks = blocksOf(randomMasks(9));
        x.epochRecord("j", Json.write(record("j", 1)), "gblm.epochs-0", 7);
        x.maskBlock(key("j", 1, blocks.get(0)), blocks.get(0).encode(), FINALIZER, "gblm.masks-2", 40);
        x.maskBlock(key("j", 1, blocks.get(1)), blocks.get(1).encode(), FINALIZER, "gblm.masks-2", 41);
        assertThat(x.safeOffset("gblm.epochs-0", 8)).isEqualTo(7);
        assertThat(x.safeOffset("gblm.masks-2", 42)).isEqualTo(40);
        assertThat(x.safeOffset("gblm.masks-3", 5)).as("a partition holding nothing").isEqualTo(5);
        for (int i = 2; i < blocks.size(); i++) {
            x.maskBlock(key("j", 1, blocks.get(i)), blocks.get(i).encode(), FINALIZER, "gblm.masks-3", 100 + i);
        }
        assertThat(x.exportComplete()).hasSize(1);
        assertThat(x.safeOffset("gblm.masks-2", 42)).as("exported: everything may be committed").isEqualTo(42);
        assertThat(x.safeOffset("gblm.epochs-0", 8)).isEqualTo(8);
    }

    @Test
    void unusableRecordsAreCountedAndSkipped(@TempDir Path tmp) {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        EpochExports x = new EpochExports(tmp.resolve("out"), ckpt, null, reg);
        MaskBlock b = blocksOf(randomMasks(10)).get(0);
        byte[] corrupt = b.encode();
        corrupt[corrupt.length - 1] ^= 1;
        x.epochRecord("j", "{not json".getBytes(StandardCharsets.UTF_8), "gblm.epochs-0", 0);
        x.maskBlock("j/x/0/q_proj/0", b.encode(), FINALIZER, "gblm.masks-0", 0);
        x.maskBlock(key("j", 1, b), corrupt, FINALIZER, "gblm.masks-0", 1);
        assertThat(x.pendingEpochs()).isZero();
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason, EpochExports.DeadLetter::source)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("bad-epoch-record", "gblm.epochs-0@0"),
                        org.assertj.core.groups.Tuple.tuple("bad-mask-key", "gblm.masks-0@0"),
                        org.assertj.core.groups.Tuple.tuple("corrupt-mask-block", "gblm.masks-0@1"));
        assertThat(x.drainDeadLetters()).as("drained").isEmpty();
        for (String reason : List.of("bad-epoch-record", "bad-mask-key", "corrupt-mask-block")) {
            assertThat(reg.get("gblm.exporter.rejected").tag("reason", reason).counter().count()).as(reason).isEqualTo(1);
        }
    }

    // ------------------------------------------------------------------ fixtures

    static final String FINALIZER = "test-finalizer";

    static EpochExports exports(Path out) {
        return new EpochExports(out, ckpt, null, new SimpleMeterRegistry());
    }

    /** Feeds the blocks (from {@link #FINALIZER}) on gblm.masks-0 from {@code firstOffset}, then the record. */
    static void feed(EpochExports x, EpochRecord r, List<MaskBlock> blocks, long firstOffset) {
        long o = firstOffset;
        for (MaskBlock b : blocks) {
            String job = r != null ? r.job() : "j";
            int epoch = r != null ? r.epoch() : 1;
            x.maskBlock(key(job, epoch, b), b.encode(), FINALIZER, "gblm.masks-0", o++);
        }
        if (r != null) {
            x.epochRecord(r.job(), Json.write(r), "gblm.epochs-0", o);
        }
    }

    static String key(String job, int epoch, MaskBlock b) {
        return MaskBlock.key(job, epoch, b.layer(), b.module(), b.rowStart());
    }

    static EpochAssembly.Arrival arrival(MaskBlock b) {
        return new EpochAssembly.Arrival(key("j", 1, b), b.encode(), b, FINALIZER, "gblm.masks-0", 0);
    }

    static EpochRecord record(String job, int epoch) {
        return record(job, epoch, FINALIZER);
    }

    static EpochRecord record(String job, int epoch, String finalizer) {
        JobSpec spec = new JobSpec(job, profile.id(), List.of("a"), "gblm", 0.5, "unstructured", null, "l1", 10, 0, 0)
                .validated();
        return new EpochRecord(job, epoch, profile.id(), spec, List.of("s-" + epoch), 10, 300, List.of("a"), layout,
                1000L * epoch, null, 500L * epoch, finalizer);
    }

    /** Random masks (about half the bits set) for every module of the layout. */
    static Map<ModuleKey, Mask> randomMasks(long seed) {
        Random r = new Random(seed);
        Map<ModuleKey, Mask> out = new TreeMap<>();
        for (ModuleLayout m : layout) {
            Mask mask = new Mask(m.out(), m.in());
            for (int i = 0; i < m.out(); i++) {
                for (int j = 0; j < m.in(); j++) {
                    if (r.nextBoolean()) {
                        mask.prune(i, j);
                    }
                }
            }
            out.put(new ModuleKey(m.layer(), m.kind()), mask);
        }
        return out;
    }

    /** The row blocks of the layout cut from full masks, as the finalizer emits them. */
    static List<MaskBlock> blocksOf(Map<ModuleKey, Mask> masks) {
        List<MaskBlock> out = new ArrayList<>();
        for (ModuleLayout m : layout) {
            Mask full = masks.get(new ModuleKey(m.layer(), m.kind()));
            for (int i = 0; i < m.rowStarts().size(); i++) {
                int start = m.rowStarts().get(i);
                int end = m.rowEnd(i);
                Mask part = new Mask(end - start, m.in());
                for (int row = start; row < end; row++) {
                    for (int c = 0; c < m.in(); c++) {
                        if (full.isPruned(row, c)) {
                            part.prune(row - start, c);
                        }
                    }
                }
                out.add(new MaskBlock(m.layer(), m.kind(), start, end, part));
            }
        }
        return out;
    }

    private static List<MaskFile.Entry> entries(Map<ModuleKey, Mask> masks) {
        List<MaskFile.Entry> e = new ArrayList<>();
        masks.forEach((k, m) -> e.add(new MaskFile.Entry(k.layer(), k.kind().shortName(), m)));
        return e;
    }

    private static Map<ModuleKey, Mask> copy(Map<ModuleKey, Mask> masks) {
        Map<ModuleKey, Mask> out = new TreeMap<>();
        masks.forEach((k, m) -> out.put(k, Mask.fromPackedBytes(m.rows(), m.cols(), m.toPackedBytes())));
        return out;
    }

    static Map<ModuleKey, Mask> readMasks(Path dir) {
        Map<ModuleKey, Mask> out = new TreeMap<>();
        for (MaskFile.Entry e : MaskFile.read(dir.resolve(PrunedModelWriter.MASKS_FILE))) {
            out.put(new ModuleKey(e.layer(), dev.gblm.model.LinearKind.fromShortName(e.module())), e.mask());
        }
        return out;
    }
}
