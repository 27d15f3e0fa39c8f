package dev.gblm.stream.exporter;

import static dev.gblm.stream.exporter.ExporterPiecesTest.FINALIZER;
import static dev.gblm.stream.exporter.ExporterPiecesTest.blocksOf;
import static dev.gblm.stream.exporter.ExporterPiecesTest.ckpt;
import static dev.gblm.stream.exporter.ExporterPiecesTest.feed;
import static dev.gblm.stream.exporter.ExporterPiecesTest.key;
import static dev.gblm.stream.exporter.ExporterPiecesTest.layout;
import static dev.gblm.stream.exporter.ExporterPiecesTest.randomMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.readMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.record;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ModuleLayout;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the exporter does with records it must not use, without Kafka: each is refused (a dead letter with reason and
 * source, counted in {@code gblm.exporter.rejected{reason}}), none stops it, none keeps a valid epoch from being
 * exported, and none makes it write outside {@code OUT}.
 */
class ExporterBadInputTest {
    @TempDir
    Path tmp;
    SimpleMeterRegistry reg = new SimpleMeterRegistry();

    @BeforeAll
    static void load() {
        ExporterPiecesTest.load();
    }

    EpochExports exports(Path out) {
        return new EpochExports(out, ckpt, null, reg);
    }

    double rejected(String reason) {
        var c = reg.find("gblm.exporter.rejected").tag("reason", reason).counter();
        return c == null ? 0 : c.count();
    }

    /** One row short, same key: CRC-valid, but not the layout's block. */
    static MaskBlock shortBlock(MaskBlock b) {
        return new MaskBlock(b.layer(), b.module(), b.rowStart(), b.rowEnd() - 1, new Mask(b.rowEnd() - 1 - b.rowStart(), b.mask().cols()));
    }

    @Test
    void aBlockWithTheWrongShapeIsRefusedAndTheValidOneCompletesTheEpochWhicheverComesFirst() {
        Map<ModuleKey, Mask> masks = randomMasks(21);
        List<MaskBlock> blocks = blocksOf(masks);
        MaskBlock real = blocks.get(0);
        MaskBlock forged = shortBlock(real);

        // before the record: the forged copy arrives first and is kept until the record can judge it
        EpochExports x = exports(tmp.resolve("out"));
        x.maskBlock(key("j", 1, forged), forged.encode(), FINALIZER, "gblm.masks-1", 5);
        feed(x, null, blocks, 10);
        assertThat(x.safeOffset("gblm.masks-1", 6)).as("held until judged").isEqualTo(5);
        x.epochRecord("j", Json.write(record("j", 1)), "gblm.epochs-0", 0);
        assertThat(x.drainDeadLetters()).singleElement().satisfies(d -> {
            assertThat(d.reason()).isEqualTo("wrong-shape");
            assertThat(d.source()).isEqualTo("gblm.masks-1@5");
            assertThat(d.key()).isEqualTo(key("j", 1, forged));
            assertThat(d.value()).isEqualTo(forged.encode());
            assertThat(d.detail()).contains("layout");
        });
        assertThat(x.safeOffset("gblm.masks-1", 6)).as("refused: may be committed with its dead letter").isEqualTo(6);
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).singleElement().matches(ModelReady::written);
        assertThat(readMasks(Path.of(ready.get(0).path()))).isEqualTo(masks);

        // after the record: the forged copy is refused at once, the real one still completes the epoch
        EpochExports y = exports(tmp.resolve("out2"));
        y.epochRecord("j", Json.write(record("j", 1)), "gblm.epochs-0", 0);
        y.maskBlock(key("j", 1, forged), forged.encode(), FINALIZER, "gblm.masks-1", 5);
        assertThat(y.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("wrong-shape");
        feed(y, null, blocks, 10);
        assertThat(y.exportComplete()).singleElement().matches(ModelReady::written);
        assertThat(rejected("wrong-shape")).isEqualTo(2);
    }

    @Test
    void aBlockOutsideTheLayoutAndABlockUnderAnotherKeyAreRefused() {
        List<MaskBlock> blocks = blocksOf(randomMasks(22));
        MaskBlock b = blocks.get(0);
        MaskBlock outside = new MaskBlock(b.layer(), b.module(), b.rowStart() + 1, b.rowEnd(), new Mask(b.rowEnd() - b.rowStart() - 1,
                b.mask().cols()));
        EpochExports x = exports(tmp.resolve("out"));
        x.epochRecord("j", Json.write(record("j", 1)), "gblm.epochs-0", 0);
        x.maskBlock(key("j", 1, outside), outside.encode(), FINALIZER, "gblm.masks-0", 1);
        // the key names another block than the value holds
        x.maskBlock(key("j", 1, blocks.get(1)), b.encode(), FINALIZER, "gblm.masks-0", 2);
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("unknown-block", "key-mismatch");
        feed(x, null, blocks, 10);
        assertThat(x.exportComplete()).hasSize(1);
    }

    @Test
    void twoDifferentValidBlocksForOneSlotKeepTheFirstAndRefuseTheOther() {
        List<MaskBlock> blocks = blocksOf(randomMasks(23));
        List<MaskBlock> other = blocksOf(randomMasks(24));
        EpochExports x = exports(tmp.resolve("out"));
        feed(x, record("j", 1), blocks, 0);
        x.maskBlock(key("j", 1, other.get(0)), other.get(0).encode(), FINALIZER, "gblm.masks-0", 999);
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("conflicting-mask-block");
    }

    @Test
    void onlyBlocksOfTheDeclaringFinalizerAreAssembled() {
        Map<ModuleKey, Mask> mine = randomMasks(25);
        Map<ModuleKey, Mask> theirs = randomMasks(26);
        EpochExports x = exports(tmp.resolve("out"));
        // another finalizer's blocks, and header-less ones, arrive first: shape-valid, but not this declaration's
        long o = 0;
        for (MaskBlock b : blocksOf(theirs)) {
            x.maskBlock(key("j", 1, b), b.encode(), "other-finalizer", "gblm.masks-0", o++);
        }
        MaskBlock bare = blocksOf(theirs).get(2);
        x.maskBlock(key("j", 1, bare), bare.encode(), null, "gblm.masks-0", o++);
        feed(x, record("j", 1), blocksOf(mine), o);
        List<EpochExports.DeadLetter> dead = x.drainDeadLetters();
        assertThat(dead).hasSize(blocksOf(theirs).size() + 1).allMatch(d -> d.reason().equals("foreign-finalizer"));
        assertThat(dead).filteredOn(d -> d.finalizer() == null).singleElement()
                .satisfies(d -> assertThat(d.detail()).contains("(none)").contains(FINALIZER));
        assertThat(dead).filteredOn(d -> "other-finalizer".equals(d.finalizer())).hasSize(blocksOf(theirs).size());
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).hasSize(1);
        assertThat(readMasks(Path.of(ready.get(0).path()))).isEqualTo(mine);
    }

    @Test
    void aRecordWithoutFinalizerAcceptsOnlyBlocksWithoutTheHeader() {
        Map<ModuleKey, Mask> masks = randomMasks(27);
        EpochExports x = exports(tmp.resolve("out"));
        MaskBlock b0 = blocksOf(masks).get(0);
        x.maskBlock(key("j", 1, b0), b0.encode(), "some-finalizer", "gblm.masks-0", 0);
        x.epochRecord("j", Json.write(record("j", 1, null)), "gblm.epochs-0", 0);
        long o = 1;
        for (MaskBlock b : blocksOf(masks)) {
            x.maskBlock(key("j", 1, b), b.encode(), null, "gblm.masks-0", o++);
        }
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("foreign-finalizer");
        assertThat(x.exportComplete()).hasSize(1);
    }

    @Test
    void theFirstDeclarationWinsAndASecondOneIsRefusedAlsoAfterARestart() throws Exception {
        Path out = tmp.resolve("out");
        Map<ModuleKey, Mask> a = randomMasks(28);
        Map<ModuleKey, Mask> b = randomMasks(29);
        EpochExports x = exports(out);
        feed(x, record("j", 1, "fin-a"), List.of(), 0);
        x.epochRecord("j", Json.write(record("j", 1, "fin-b")), "gblm.epochs-0", 1);
        x.epochRecord("j", Json.write(record("j", 1, "fin-a")), "gblm.epochs-0", 2);
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason, EpochExports.DeadLetter::source)
                .as("the second declaration is refused, a replay of the first is not")
                .containsExactly(org.assertj.core.groups.Tuple.tuple("conflicting-epoch", "gblm.epochs-0@1"));
        assertThat(x.safeOffset("gblm.epochs-0", 3)).as("only the first record is held").isZero();
        long o = 10;
        for (MaskBlock m : blocksOf(b)) {
            x.maskBlock(key("j", 1, m), m.encode(), "fin-b", "gblm.masks-0", o++);
        }
        for (MaskBlock m : blocksOf(a)) {
            x.maskBlock(key("j", 1, m), m.encode(), "fin-a", "gblm.masks-0", o++);
        }
        List<ModelReady> ready = x.exportComplete();
        assertThat(ready).hasSize(1);
        Path dir = Path.of(ready.get(0).path());
        assertThat(readMasks(dir)).isEqualTo(a);
        assertThat(Files.readString(dir.resolve("report.json"))).contains("\"finalizer\" : \"fin-a\"");
        x.drainDeadLetters();
        x.epochRecord("j", Json.write(record("j", 1, "fin-b")), "gblm.epochs-0", 3);
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("conflicting-epoch");

        // a restarted exporter that reads the second declaration first knows from the directory which one was first
        EpochExports y = exports(out);
        for (MaskBlock m : blocksOf(b)) {
            y.maskBlock(key("j", 1, m), m.encode(), "fin-b", "gblm.masks-0", o++);
        }
        y.epochRecord("j", Json.write(record("j", 1, "fin-b")), "gblm.epochs-0", 1);
        assertThat(y.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("conflicting-epoch");
        assertThat(y.pendingEpochs()).as("nothing waits for a declaration that lost").isZero();
        assertThat(y.safeOffset("gblm.masks-0", o)).isEqualTo(o);
        assertThat(y.exportComplete()).isEmpty();
        assertThat(readMasks(dir)).isEqualTo(a);
        assertThat(rejected("conflicting-epoch")).isEqualTo(3);
    }

    @Test
    void unsafeJobIdsAndForgedRecordsAreRefusedAndNothingIsWrittenOutsideOut() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("a/b/out"));
        EpochExports x = exports(out);
        String forged = "{\"job\": \"../../x\", \"epoch\": 1, \"profile\": \"" + ExporterPiecesTest.profile.id()
                + "\", \"blocks\": [], \"sliceIds\": [\"s\"]}";
        x.epochRecord("../../x", forged.getBytes(StandardCharsets.UTF_8), "gblm.epochs-0", 0);
        x.epochRecord("..", Json.write(withJob(record("j", 1), "..")), "gblm.epochs-0", 1);
        x.epochRecord("j", Json.write(withBlocks(record("j", 1), List.of())), "gblm.epochs-0", 2);
        // valid records, but not the exporter's model: a partial layout would export a partly dense model
        x.epochRecord("j", Json.write(withBlocks(record("j", 1), layout.subList(1, layout.size()))), "gblm.epochs-0", 3);
        List<ModuleLayout> twice = new ArrayList<>(layout);
        twice.set(1, layout.get(0));
        x.epochRecord("j", Json.write(withBlocks(record("j", 1), twice)), "gblm.epochs-0", 4);
        List<ModuleLayout> reshaped = new ArrayList<>(layout);
        ModuleLayout m = layout.get(0);
        reshaped.set(0, new ModuleLayout(m.layer(), m.module(), m.out(), m.in() + 1, m.rowStarts()));
        x.epochRecord("j", Json.write(withBlocks(record("j", 1), reshaped)), "gblm.epochs-0", 5);
        List<ModuleLayout> deeper = new ArrayList<>(layout);
        deeper.add(new ModuleLayout(ckpt.config().numLayers(), m.module(), m.out(), m.in(), m.rowStarts()));
        x.epochRecord("j", Json.write(withBlocks(record("j", 1), deeper)), "gblm.epochs-0", 6);
        x.epochRecord("other-key", Json.write(record("j", 1)), "gblm.epochs-0", 7);
        MaskBlock b = blocksOf(randomMasks(30)).get(0);
        x.maskBlock(MaskBlock.key("..", 1, b.layer(), b.module(), b.rowStart()), b.encode(), FINALIZER, "gblm.masks-0", 0);
        x.maskBlock("../../x/1/0/q_proj/0", b.encode(), FINALIZER, "gblm.masks-0", 1);

        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly(
                "invalid-epoch-record", "invalid-epoch-record", "invalid-epoch-record", "wrong-layout", "wrong-layout",
                "wrong-layout", "wrong-layout", "key-mismatch", "bad-mask-key", "bad-mask-key");
        assertThat(x.pendingEpochs()).isZero();
        assertThat(x.exportComplete()).isEmpty();
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s.map(p -> tmp.relativize(p).toString())).containsExactlyInAnyOrder("", "a", "a/b", "a/b/out");
        }
        assertThat(rejected("invalid-epoch-record")).isEqualTo(3);
        assertThat(rejected("wrong-layout")).isEqualTo(4);
    }

    @Test
    void epochDirectoriesAreBuiltOnlyUnderOut() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("out"));
        assertThat(EpochExports.epochDir(out, "j", 2)).isEqualTo(out.toAbsolutePath().resolve("j/epoch-2"));
        for (String job : List.of("..", ".", "../x", "a/b", "/abs", "", ".hidden")) {
            assertThatThrownBy(() -> EpochExports.epochDir(out, job, 1)).as(job).isInstanceOf(GblmException.class);
        }
        assertThatThrownBy(() -> EpochExports.epochDir(out, "j", 0)).isInstanceOf(GblmException.class);
        // a team's exports live under OUT/teams/<team>, which no job without team can reach
        assertThat(EpochExports.epochDir(out, "a", "a.j", 1)).isEqualTo(out.toAbsolutePath().resolve("teams/a/a.j/epoch-1"));
        assertThatThrownBy(() -> EpochExports.epochDir(out, "teams", 1)).isInstanceOf(GblmException.class)
                .hasMessageContaining("reserved");
        for (String team : List.of("..", "A", "a/b", "a.b")) {
            assertThatThrownBy(() -> EpochExports.epochDir(out, team, "j", 1)).as(team).isInstanceOf(GblmException.class);
        }
        Files.createDirectories(out.resolve("teams"));
        Files.createSymbolicLink(out.resolve("teams/b"), Files.createDirectories(tmp.resolve("other")));
        assertThatThrownBy(() -> EpochExports.epochDir(out, "b", "b.j", 1)).isInstanceOf(GblmException.class)
                .hasMessageContaining("outside");
        // a link planted at OUT/<job> that points elsewhere
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.createSymbolicLink(out.resolve("linked"), elsewhere);
        assertThatThrownBy(() -> EpochExports.epochDir(out, "linked", 1)).isInstanceOf(GblmException.class)
                .hasMessageContaining("outside");

        EpochExports x = exports(out);
        feed(x, record("linked", 1), blocksOf(randomMasks(31)), 0);
        assertThat(x.drainDeadLetters()).extracting(EpochExports.DeadLetter::reason).containsExactly("unsafe-path");
        assertThat(x.exportComplete()).isEmpty();
        try (Stream<Path> s = Files.list(elsewhere)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void aRecordTheExporterCannotHandleIsDeadLetteredInsteadOfStoppingIt() {
        // a model without one of its weights: checking any epoch record against it throws
        Map<String, dev.gblm.model.TensorData> tensors = new java.util.LinkedHashMap<>(ckpt.tensors());
        tensors.remove(dev.gblm.model.LinearKind.Q_PROJ.weightName(0));
        dev.gblm.model.Checkpoint broken = new dev.gblm.model.Checkpoint(ckpt.config(), tensors, ckpt.source(), ckpt.format());
        EpochExports x = new EpochExports(tmp.resolve("out"), broken, null, reg);
        x.epochRecord("j", Json.write(record("j", 1)), "gblm.epochs-0", 4);
        assertThat(x.drainDeadLetters()).singleElement().satisfies(d -> {
            assertThat(d.reason()).isEqualTo("unprocessable");
            assertThat(d.source()).isEqualTo("gblm.epochs-0@4");
            assertThat(d.detail()).contains("q_proj");
        });
        assertThat(x.safeOffset("gblm.epochs-0", 5)).isEqualTo(5);
        assertThat(rejected("unprocessable")).isEqualTo(1);
    }

    @Test
    void aDeadLetterKeepsKeyValueAndFinalizerAndGainsReasonAndSourceButNeverExceedsTheDlqLimit() {
        var small = Exporter.deadLetter(new EpochExports.DeadLetter("j/1/0/q_proj/0", new byte[] {1, 2}, "fin-b",
                "foreign-finalizer", "from fin-b", "gblm.masks-3@17"));
        assertThat(small.topic()).isEqualTo("gblm.dlq");
        assertThat(small.key()).isEqualTo("j/1/0/q_proj/0".getBytes(StandardCharsets.UTF_8));
        assertThat(small.value()).containsExactly(1, 2);
        assertThat(header(small, "gblm.reason")).isEqualTo("foreign-finalizer: from fin-b");
        assertThat(header(small, "gblm.source")).isEqualTo("gblm.masks-3@17");
        assertThat(header(small, "gblm.finalizer")).isEqualTo("fin-b");

        var big = Exporter.deadLetter(new EpochExports.DeadLetter(null, new byte[Exporter.MAX_DEAD_LETTER_VALUE + 1], null,
                "corrupt-mask-block", "CRC", "gblm.masks-0@1"));
        assertThat(big.value()).as("a send the DLQ refuses would abort every transaction after it").isNull();
        assertThat(big.key()).isNull();
        assertThat(header(big, "gblm.reason")).startsWith("corrupt-mask-block: CRC").contains("not copied");
        assertThat(big.headers().lastHeader("gblm.finalizer")).isNull();
    }

    private static String header(org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    static EpochRecord withJob(EpochRecord r, String job) {
        return new EpochRecord(job, r.epoch(), r.profile(), r.spec(), r.sliceIds(), r.samples(), r.tokens(), r.streams(),
                r.blocks(), r.declaredAt(), r.magnitudeThresholds(), r.lastSampleTimestamp(), r.finalizer());
    }

    static EpochRecord withBlocks(EpochRecord r, List<ModuleLayout> blocks) {
        return new EpochRecord(r.job(), r.epoch(), r.profile(), r.spec(), r.sliceIds(), r.samples(), r.tokens(), r.streams(),
                blocks, r.declaredAt(), r.magnitudeThresholds(), r.lastSampleTimestamp(), r.finalizer());
    }
}
