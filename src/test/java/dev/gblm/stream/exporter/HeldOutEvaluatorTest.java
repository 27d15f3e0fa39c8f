package dev.gblm.stream.exporter;

import static dev.gblm.stream.exporter.ExporterPiecesTest.FINALIZER;
import static dev.gblm.stream.exporter.ExporterPiecesTest.blocksOf;
import static dev.gblm.stream.exporter.ExporterPiecesTest.ckpt;
import static dev.gblm.stream.exporter.ExporterPiecesTest.feed;
import static dev.gblm.stream.exporter.ExporterPiecesTest.layout;
import static dev.gblm.stream.exporter.ExporterPiecesTest.profile;
import static dev.gblm.stream.exporter.ExporterPiecesTest.randomMasks;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.Perplexity;
import dev.gblm.model.Checkpoints;
import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.HoldOut;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.SampleRecord;
import dev.gblm.stream.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Held-out perplexity in the exporter without Kafka: the samples come from a list through the same hash rule, the
 * figures go into report.json and the model-ready event, and a replay reads them back instead of evaluating again.
 */
class HeldOutEvaluatorTest {
    static final double HOLDOUT = 0.3;

    /** 60 token documents on stream a, keyed a/0..a/59, spread over two partitions; counts the scans. */
    static final class ListSource implements HeldOutSource {
        final List<Sample> all = new ArrayList<>();
        int scans;

        ListSource() {
            Random r = new Random(3);
            int vocab = ckpt.config().vocabSize();
            for (int i = 0; i < 60; i++) {
                int[] t = new int[6 + r.nextInt(10)];
                for (int j = 0; j < t.length; j++) {
                    t[j] = r.nextInt(vocab);
                }
                SampleRecord s = SampleRecord.ofTokens(t);
                all.add(new Sample("calib.a", i % 2, i / 2, ("a/" + i).getBytes(StandardCharsets.UTF_8), s.value(),
                        s.format()));
            }
            all.sort(java.util.Comparator.comparingInt(Sample::partition).thenComparingLong(Sample::offset));
        }

        @Override
        public boolean scan(String topic, double fraction, Visitor visitor) {
            scans++;
            for (Sample s : all) {
                if (s.topic().equals(topic) && HoldOut.isHeldOut(topic, s.key(), fraction) && !visitor.accept(s)) {
                    return false;
                }
            }
            return true;
        }
    }

    @BeforeAll
    static void load() {
        ExporterPiecesTest.load();
    }

    static EpochRecord record(int epoch, double holdout) {
        JobSpec spec = new JobSpec("h", profile.id(), List.of("a"), "gblm", 0.5, "unstructured", null, "l1", 10, 10, 0,
                null, null, null, holdout).validated();
        return new EpochRecord("h", epoch, profile.id(), spec, List.of("s-" + epoch), 10, 300, List.of("a"), layout,
                1000L * epoch, null, 500L * epoch, FINALIZER, null, holdout > 0 ? profile : null);
    }

    @Test
    void theReportAndTheEventCarryHeldOutPerplexitiesAndAReplayReadsThemBack(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        ListSource source = new ListSource();
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        EpochExports first = new EpochExports(out, ckpt, null, reg);
        first.heldOut(new HeldOutEvaluator(ckpt, () -> null, source, 8, reg));
        Map<ModuleKey, Mask> masks = randomMasks(7);
        feed(first, record(1, HOLDOUT), blocksOf(masks), 0);
        ModelReady m = first.exportComplete().get(0);
        assertThat(source.scans).isEqualTo(1);

        // independent: the first 8 held-out samples in (partition, offset) order on the dense and the exported model
        List<int[]> expected = new ArrayList<>();
        for (HeldOutSource.Sample s : source.all) {
            if (HoldOut.isHeldOut(Topics.calibrationTopic("a"), s.key(), HOLDOUT) && expected.size() < 8) {
                expected.add(SampleRecord.decode(s.key(), s.value(), s.format()).tokens());
            }
        }
        assertThat(expected).hasSize(8);
        double dense;
        double pruned;
        try (LlamaModel d = LlamaModel.load(ckpt); LlamaModel p = LlamaModel.load(Checkpoints.load(Path.of(m.path())))) {
            dense = Perplexity.evaluate(d, expected, null).perplexity();
            pruned = Perplexity.evaluate(p, expected, null).perplexity();
        }
        JsonNode report = Json.mapper().readTree(Path.of(m.path()).resolve("report.json").toFile()).path("heldOut");
        assertThat(report.path("samples").asInt()).isEqualTo(8);
        assertThat(report.path("fraction").asDouble()).isEqualTo(HOLDOUT);
        assertThat(report.path("perplexity").asDouble()).isCloseTo(pruned, within(1e-6 * pruned));
        assertThat(report.path("densePerplexity").asDouble()).isCloseTo(dense, within(1e-6 * dense));
        assertThat(m.heldOutPerplexity()).isEqualTo(report.path("perplexity").asDouble());
        assertThat(m.denseHeldOutPerplexity()).isEqualTo(report.path("densePerplexity").asDouble());
        assertThat(m.heldOutSamples()).isEqualTo(8);
        assertThat(reg.get("gblm.exporter.heldout.perplexity").tag("model", "pruned").gauge().value())
                .isEqualTo(m.heldOutPerplexity());
        JsonNode event = Json.mapper().readTree(Json.write(m));
        assertThat(event.path("heldOutPerplexity").asDouble()).isEqualTo(m.heldOutPerplexity());

        // a replay (new process, offsets lost): the export verifies, nothing is evaluated, the same figures come back
        ListSource replaySource = new ListSource();
        SimpleMeterRegistry reg2 = new SimpleMeterRegistry();
        EpochExports replay = new EpochExports(out, ckpt, null, reg2);
        replay.heldOut(new HeldOutEvaluator(ckpt, () -> null, replaySource, 8, reg2));
        feed(replay, record(1, HOLDOUT), blocksOf(masks), 0);
        ModelReady again = replay.exportComplete().get(0);
        assertThat(again.written()).isFalse();
        assertThat(replaySource.scans).isZero();
        assertThat(again.heldOutPerplexity()).isEqualTo(m.heldOutPerplexity());
        assertThat(again.denseHeldOutPerplexity()).isEqualTo(m.denseHeldOutPerplexity());
        assertThat(reg2.get("gblm.exporter.heldout.perplexity").tag("model", "dense").gauge().value())
                .isEqualTo(m.denseHeldOutPerplexity());
    }

    @Test
    void aJobWithoutHoldOutIsNotEvaluatedAndItsEventHasNoHeldOutFields(@TempDir Path tmp) throws Exception {
        ListSource source = new ListSource();
        EpochExports x = new EpochExports(tmp.resolve("out"), ckpt, null, new SimpleMeterRegistry());
        x.heldOut(new HeldOutEvaluator(ckpt, () -> null, source, 8, new SimpleMeterRegistry()));
        feed(x, record(1, 0), blocksOf(randomMasks(8)), 0);
        ModelReady m = x.exportComplete().get(0);
        assertThat(source.scans).isZero();
        assertThat(m.heldOutPerplexity()).isNull();
        JsonNode event = Json.mapper().readTree(Json.write(m));
        assertThat(event.has("heldOutPerplexity")).isFalse();
        assertThat(Json.mapper().readTree(Path.of(m.path()).resolve("report.json").toFile()).has("heldOut")).isFalse();
    }
}
