package dev.gblm.stream.exporter;

import static dev.gblm.stream.exporter.ExporterPiecesTest.FINALIZER;
import static dev.gblm.stream.exporter.ExporterPiecesTest.blocksOf;
import static dev.gblm.stream.exporter.ExporterPiecesTest.ckpt;
import static dev.gblm.stream.exporter.ExporterPiecesTest.key;
import static dev.gblm.stream.exporter.ExporterPiecesTest.layout;
import static dev.gblm.stream.exporter.ExporterPiecesTest.profile;
import static dev.gblm.stream.exporter.ExporterPiecesTest.randomMasks;
import static dev.gblm.stream.exporter.ExporterPiecesTest.readMasks;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.Mask;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.MaskBlock;
import dev.gblm.stream.ModelReady;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An {@code alpha=auto} epoch in the exporter, without Kafka or a model run: the grid points' blocks (header
 * {@code gblm.alpha}) are assembled per point, a fake evaluator gives each candidate a fixed held-out perplexity, the
 * export is the argmin (ties to the smaller alpha), report.json and the model-ready event record the grid and the
 * choice, a replay reads the choice back without evaluating, and drift compares the chosen masks of two epochs.
 */
class AutoAlphaExportTest {
    /** Grid 0, 10, inf (ascending, as validated). */
    static final List<String> GRID = List.of("0", "10", "inf");

    @BeforeAll
    static void load() {
        ExporterPiecesTest.load();
    }

    /** Gives candidate i the perplexity {@code figures[i]} (NaN = an error) and remembers what it was asked. */
    static final class FixedEvaluator extends HeldOutEvaluator {
        final double[] figures;
        final List<List<Map<ModuleKey, Mask>>> calls = new ArrayList<>();

        FixedEvaluator(double... figures) {
            super(ckpt, () -> null, (topic, fraction, visitor) -> true, 8, new SimpleMeterRegistry());
            this.figures = figures;
        }

        @Override
        List<ObjectNode> evaluateEach(EpochRecord e, List<Map<ModuleKey, Mask>> candidates) {
            calls.add(candidates);
            List<ObjectNode> out = new ArrayList<>();
            for (int i = 0; i < candidates.size(); i++) {
                ObjectNode n = Json.mapper().createObjectNode();
                n.put("fraction", e.spec().holdout());
                n.put("samples", 5);
                n.put("set", "abc");
                if (Double.isNaN(figures[i])) {
                    n.put("error", "nothing to evaluate");
                } else {
                    n.put("tokens", 40);
                    n.put("perplexity", figures[i]);
                    n.put("meanNll", Math.log(figures[i]));
                    n.put("densePerplexity", 3.0);
                    n.put("denseMeanNll", Math.log(3.0));
                    n.put("seconds", 0.5);
                }
                out.add(n);
            }
            return out;
        }
    }

    static EpochRecord record(int epoch) {
        JobSpec spec = new JobSpec("auto", profile.id(), List.of("a"), "gblm", 0.5, "unstructured", null, "l1", 10, 10, 0,
                null, "auto", null, 0.3, List.of("inf", "10", "0")).validated();
        return new EpochRecord("auto", epoch, profile.id(), spec, List.of("s-" + epoch), 10, 300, List.of("a"), layout,
                1000L * epoch, null, 500L * epoch, FINALIZER, null, profile);
    }

    /** Feeds every grid point's blocks (candidates.get(i) with header i), then the record. */
    static void feed(EpochExports x, EpochRecord r, List<Map<ModuleKey, Mask>> candidates, long firstOffset) {
        long o = firstOffset;
        for (int i = 0; i < candidates.size(); i++) {
            for (MaskBlock b : blocksOf(candidates.get(i))) {
                x.maskBlock(key(r.job(), r.epoch(), b), b.encode(), FINALIZER, Integer.toString(i), "gblm.masks-0", o++);
            }
        }
        x.epochRecord(r.job(), Json.write(r), "gblm.epochs-0", o);
    }

    static List<Map<ModuleKey, Mask>> candidates(long seed) {
        return List.of(randomMasks(seed), randomMasks(seed + 1), randomMasks(seed + 2));
    }

    @Test
    void theGridIsAssembledPerPointAndBlocksThatDoNotFitTheGridAreRefused() {
        EpochAssembly a = new EpochAssembly("j", 1);
        List<Map<ModuleKey, Mask>> c = candidates(10);
        JobSpec spec = record(1).spec();
        EpochRecord r = new EpochRecord("j", 1, profile.id(), spec, List.of("s"), 10, 300, List.of("a"), layout, 1, null,
                1, FINALIZER, null, profile);
        int blocks = r.blockCount();
        assertThat(a.setRecord(r)).isEmpty();
        assertThat(a.gridSize()).isEqualTo(3);
        assertThat(a.missing()).isEqualTo(3 * blocks);
        for (int i = 0; i < 3; i++) {
            for (MaskBlock b : blocksOf(c.get(i))) {
                assertThat(a.add(arrival(b, Integer.toString(i)))).isNull();
            }
        }
        assertThat(a.complete()).isTrue();
        MaskBlock first = blocksOf(c.get(0)).get(0);
        assertThat(a.add(arrival(first, "0"))).isNull(); // an identical replay
        assertThat(a.duplicates()).isEqualTo(1);
        assertThat(a.add(arrival(blocksOf(c.get(1)).get(0), "0")).reason()).isEqualTo("conflicting-mask-block");
        assertThat(a.add(arrival(first, null)).reason()).isEqualTo("unknown-block");
        assertThat(a.add(arrival(first, "3")).detail()).contains("has alpha index '3'", "3 grid points");
        assertThat(a.add(arrival(first, "00")).reason()).isEqualTo("unknown-block");
        for (int i = 0; i < 3; i++) {
            Map<ModuleKey, Mask> got = a.masks(i);
            for (Map.Entry<ModuleKey, Mask> e : c.get(i).entrySet()) {
                assertThat(got.get(e.getKey()).differences(e.getValue())).isZero();
            }
        }

        // an epoch without grid refuses a block that carries an index
        EpochAssembly plain = new EpochAssembly("j", 1);
        plain.setRecord(ExporterPiecesTest.record("j", 1));
        assertThat(plain.add(arrival(first, "0")).detail()).contains("has no alpha grid");
    }

    @Test
    void theExportIsTheArgminOfTheEvaluatedPerplexitiesAndAReplayReadsTheChoiceBack(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        EpochExports x = new EpochExports(out, ckpt, null, new SimpleMeterRegistry());
        // alpha 10 and inf tie at 20: the smaller alpha wins, as in the batch search
        FixedEvaluator eval = new FixedEvaluator(30, 20, 20);
        x.heldOut(eval);
        List<Map<ModuleKey, Mask>> c1 = candidates(20);
        feed(x, record(1), c1, 0);
        ModelReady m1 = x.exportComplete().get(0);
        assertThat(eval.calls).hasSize(1);
        for (int i = 0; i < 3; i++) {
            assertThat(eval.calls.get(0).get(i).get(new ModuleKey(0, LinearKind.Q_PROJ))
                    .differences(c1.get(i).get(new ModuleKey(0, LinearKind.Q_PROJ)))).isZero();
        }
        Path dir1 = Path.of(m1.path());
        assertSameMasks(readMasks(dir1), c1.get(1));
        JsonNode report = Json.mapper().readTree(dir1.resolve("report.json").toFile());
        JsonNode auto = report.path("autoAlpha");
        assertThat(auto.path("chosen").asDouble()).isEqualTo(10.0);
        assertThat(auto.path("chosenIndex").asInt()).isEqualTo(1);
        assertThat(auto.path("criterion").asText()).isEqualTo("lowest held-out perplexity");
        assertThat(auto.has("fallback")).isFalse();
        assertThat(auto.path("grid")).hasSize(3);
        assertThat(auto.path("grid").get(0).path("alpha").asDouble()).isEqualTo(0.0);
        assertThat(auto.path("grid").get(2).path("alpha").asText()).isEqualTo("inf");
        List<Double> ppl = new ArrayList<>();
        auto.path("grid").forEach(g -> ppl.add(g.path("heldOutPerplexity").asDouble()));
        assertThat(ppl).containsExactly(30.0, 20.0, 20.0);
        assertThat(auto.path("grid").get(1).path("sparsity").asDouble())
                .isEqualTo(Mask.overallSparsity(c1.get(1).values()));
        assertThat(report.path("options").path("alpha").asDouble()).isEqualTo(10.0);
        assertThat(report.path("options").path("alphaChoice").asText()).isEqualTo("auto");
        assertThat(report.path("heldOut").path("perplexity").asDouble()).isEqualTo(20.0);
        assertThat(m1.alpha()).isEqualTo("10");
        assertThat(m1.heldOutPerplexity()).isEqualTo(20.0);
        assertThat(m1.alphaGrid()).containsExactly(new ModelReady.AlphaPoint("0", 30.0),
                new ModelReady.AlphaPoint("10", 20.0), new ModelReady.AlphaPoint("inf", 20.0));
        assertThat(Json.read(Json.write(m1), ModelReady.class)).isEqualTo(m1);

        // a replay (new process): the export verifies, nothing is evaluated, the same choice comes back
        EpochExports replay = new EpochExports(out, ckpt, null, new SimpleMeterRegistry());
        FixedEvaluator other = new FixedEvaluator(1, 50, 50);
        replay.heldOut(other);
        feed(replay, record(1), c1, 0);
        ModelReady again = replay.exportComplete().get(0);
        assertThat(again.written()).isFalse();
        assertThat(other.calls).isEmpty();
        assertThat(again.alpha()).isEqualTo("10");
        assertThat(again.alphaGrid()).isEqualTo(m1.alphaGrid());
        assertThat(again.heldOutPerplexity()).isEqualTo(20.0);

        // epoch 2 chooses alpha 0; its drift is against epoch 1's chosen masks (alpha 10), not its own grid point 0
        EpochExports x2 = new EpochExports(out, ckpt, null, new SimpleMeterRegistry());
        x2.heldOut(new FixedEvaluator(5, 6, 7));
        List<Map<ModuleKey, Mask>> c2 = candidates(30);
        feed(x2, record(2), c2, 0);
        ModelReady m2 = x2.exportComplete().get(0);
        assertThat(m2.alpha()).isEqualTo("0");
        assertSameMasks(readMasks(Path.of(m2.path())), c2.get(0));
        long diff = 0;
        long total = 0;
        for (Map.Entry<ModuleKey, Mask> e : c2.get(0).entrySet()) {
            diff += e.getValue().differences(c1.get(1).get(e.getKey()));
            total += e.getValue().numel();
        }
        assertThat(m2.drift()).isEqualTo((double) diff / total);
    }

    @Test
    void withoutAnyFiniteHeldOutPerplexityTheSmallestAlphaIsExportedAndTheReportSaysSo(@TempDir Path tmp) throws Exception {
        EpochExports x = new EpochExports(tmp.resolve("out"), ckpt, null, new SimpleMeterRegistry());
        x.heldOut(new FixedEvaluator(Double.NaN, Double.NaN, Double.NaN));
        List<Map<ModuleKey, Mask>> c = candidates(40);
        feed(x, record(1), c, 0);
        ModelReady m = x.exportComplete().get(0);
        assertSameMasks(readMasks(Path.of(m.path())), c.get(0));
        JsonNode auto = Json.mapper().readTree(Path.of(m.path()).resolve("report.json").toFile()).path("autoAlpha");
        assertThat(auto.path("chosenIndex").asInt()).isZero();
        assertThat(auto.path("fallback").asText()).contains("no alpha of the grid had a finite held-out perplexity");
        assertThat(m.alpha()).isEqualTo("0");
        assertThat(m.alphaGrid()).extracting(ModelReady.AlphaPoint::heldOutPerplexity).containsOnlyNulls();
        assertThat(m.heldOutPerplexity()).isNull();
    }

    private static EpochAssembly.Arrival arrival(MaskBlock b, String alpha) {
        return new EpochAssembly.Arrival(key("j", 1, b), b.encode(), b, FINALIZER, alpha, "gblm.masks-0", 0);
    }

    private static void assertSameMasks(Map<ModuleKey, Mask> got, Map<ModuleKey, Mask> expected) {
        assertThat(got.keySet()).isEqualTo(expected.keySet());
        expected.forEach((k, m) -> assertThat(got.get(k).differences(m)).as(k.toString()).isZero());
    }
}
