package dev.gblm.prune.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.LossResult;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.stats.CalibrationStats;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stats.ModuleStats;
import dev.gblm.testing.Errors;
import dev.gblm.testing.TinyFixtures;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The batch pruner against the independent torch reference (tools/reference/README.md): every golden mask
 * (method × pattern × mode), SparseGPT's updated weights, the dense statistics, the sequential layer-1
 * statistics and the pruned model's NLL. Masks must agree exactly except at the near-ties the reference lists.
 */
class BatchPrunerGoldenTest {
    static JsonNode json;
    static Checkpoint ckpt;
    static List<int[]> calibration;
    static Map<String, TinyFixtures.Raw> golden;
    static Map<String, TinyFixtures.Raw> statsFx;
    static final List<String> summary = new ArrayList<>();

    @BeforeAll
    static void load() {
        json = TinyFixtures.json();
        ckpt = TinyFixtures.checkpoint();
        calibration = TinyFixtures.sequences(json, "calibration");
        golden = TinyFixtures.tensors("masks.safetensors");
        statsFx = TinyFixtures.tensors("stats.safetensors");
    }

    @AfterAll
    static void report() {
        System.out.println("golden mask comparison (" + summary.size() + " method x pattern x mode runs):");
        summary.forEach(s -> System.out.println("  " + s));
    }

    static Stream<Arguments> combos() {
        Set<String> keys = new TreeSet<>();
        for (String name : golden == null ? TinyFixtures.tensors("masks.safetensors").keySet() : golden.keySet()) {
            String[] p = name.split("\\.");
            keys.add(p[1] + " " + p[2] + " " + p[3]); // mode method pattern
        }
        return keys.stream().map(k -> Arguments.of((Object[]) k.split(" ")));
    }

    static PruneSettings config(String method, String pattern) {
        Method m;
        GradNorm norm = GradNorm.L1;
        if (method.endsWith("-l1") || method.endsWith("-l2")) {
            m = Method.parse(method.substring(0, method.length() - 3));
            norm = GradNorm.parse(method.substring(method.length() - 2));
        } else {
            m = Method.parse(method);
        }
        SparsityPattern sp;
        TailRule tail = TailRule.defaultRule();
        if (pattern.equals("unstructured")) {
            sp = SparsityPattern.unstructured(json.get("sparsity").asDouble());
        } else {
            String[] p = pattern.split("-");
            sp = SparsityPattern.parse(p[0], null);
            if (p.length > 1) {
                tail = p[1].equals("reference") ? TailRule.REFERENCE : TailRule.PROPORTIONAL;
            }
        }
        return new PruneSettings(m, norm, sp, tail);
    }

    static PruneMode mode(String key) {
        return key.equals("oneshot") ? PruneMode.ONE_SHOT : PruneMode.SEQUENTIAL;
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("combos")
    void masksEqualGoldenExceptListedNearTies(String mode, String method, String pattern) {
        PruneSettings cfg = config(method, pattern);
        BatchPruner.Result result;
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            result = BatchPruner.prune(model, calibration,
                    new BatchPruneSettings(cfg, mode(mode), 100f, true), PruneProgress.NONE);
        }
        int layers = ckpt.config().numLayers();
        int nearTieFlips = 0;
        int unexplained = 0;
        int toleratedDownstream = 0;
        boolean upstreamDiffers = false;
        List<String> problems = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            int layerDiffs = 0;
            for (LinearKind k : LinearKind.values()) {
                String name = "mask." + mode + "." + method + "." + pattern + ".layers." + l + "." + k.shortName();
                Mask mask = result.masks().get(new ModuleKey(l, k));
                boolean[][] g = TinyFixtures.unpackMask(golden.get(name), mask.cols());
                assertThat(g.length).isEqualTo(mask.rows());
                JsonNode info = json.get("masks").get(name);
                Set<Long> ties = new HashSet<>();
                for (JsonNode rc : info.get("nearTies")) {
                    ties.add(rc.get(0).asLong() * mask.cols() + rc.get(1).asLong());
                }
                long goldenPruned = 0;
                for (int r = 0; r < mask.rows(); r++) {
                    for (int j = 0; j < mask.cols(); j++) {
                        goldenPruned += g[r][j] ? 1 : 0;
                        if (mask.isPruned(r, j) != g[r][j]) {
                            layerDiffs++;
                            if (ties.contains((long) r * mask.cols() + j)) {
                                nearTieFlips++;
                            } else if (upstreamDiffers) {
                                toleratedDownstream++;
                            } else {
                                unexplained++;
                                if (problems.size() < 10) {
                                    problems.add(name + " [" + r + "," + j + "] java=" + mask.isPruned(r, j));
                                }
                            }
                        }
                    }
                }
                assertThat(goldenPruned).as(name + " golden count").isEqualTo(info.get("pruned").asLong());
            }
            // a sequential layer's inputs depend on the previous layer's mask: a near-tie flip there may
            // legitimately move later masks, which are then only reported (README: "compare with a tolerance")
            if (layerDiffs > 0 && mode.equals("sequential")) {
                upstreamDiffers = true;
            }
        }
        summary.add(String.format("%-10s %-11s %-16s near-tie flips %d, downstream of a flip %d, unexplained %d",
                mode, method, pattern, nearTieFlips, toleratedDownstream, unexplained));
        assertThat(problems).as("mask entries that differ from the golden masks outside the near-tie list").isEmpty();
        // downstream tolerance: at most 1% of the entries of the layers after a flip
        assertThat(toleratedDownstream).isLessThan(200);

        if (mode.equals("sequential") && !upstreamDiffers && result.stats() != null) {
            // layer 1's input statistics after the pruned layer 0, as the reference took them
            for (LinearKind k : LinearKind.values()) {
                String base = "stats.sequential." + method + "." + pattern + ".layers.1." + k.shortName();
                TinyFixtures.Raw actSq = statsFx.get(base + ".actSq");
                if (actSq != null) {
                    ModuleStats s = result.stats().get(1, k);
                    assertThat(maxRelErr(s.actSq(), actSq.floats())).as(base + ".actSq").isLessThan(1e-4);
                }
            }
        }
    }

    @Test
    void oneShotDenseStatisticsMatchReference() {
        CalibrationStats grads = stats(Method.GBLM);
        CalibrationStats hess = stats(Method.SPARSEGPT);
        double worst = 0;
        String worstName = "";
        for (ModuleKey key : grads.modules().keySet()) {
            String base = "stats.oneshot.layers." + key.layer() + "." + key.kind().shortName();
            ModuleStats g = grads.get(key.layer(), key.kind());
            ModuleStats h = hess.get(key.layer(), key.kind());
            assertThat(g.sampleCount()).isEqualTo(json.get("statsCount").asLong());
            float[] l2 = new float[g.gradL2Sq().length];
            for (int i = 0; i < l2.length; i++) {
                l2[i] = (float) Math.sqrt(g.gradL2Sq()[i]);
            }
            float[] hRef = statsFx.get(base + ".hessian").floats();
            float half = h.sampleCount() / 2f; // the reference stores (2/N) sum X^T X
            for (int i = 0; i < hRef.length; i++) {
                hRef[i] *= half;
            }
            double[] errs = {
                maxRelErr(g.gradL1(), statsFx.get(base + ".gradL1").floats()),
                maxRelErr(l2, statsFx.get(base + ".gradL2").floats()),
                maxRelErr(g.actSq(), statsFx.get(base + ".actSq").floats()),
                maxRelErr(h.hessian(), hRef),
                // A/N against Wanda's running mean: the same quantity up to float32 rounding
                maxRelErr(div(g.actSq(), g.sampleCount()), statsFx.get(base + ".scalerRow").floats()),
            };
            for (int i = 0; i < errs.length; i++) {
                if (errs[i] > worst) {
                    worst = errs[i];
                    worstName = base + " #" + i;
                }
            }
        }
        System.out.printf("dense statistics vs reference: worst max-relative error %.3g (%s)%n", worst, worstName);
        assertThat(worst).as("worst: " + worstName).isLessThan(1e-4);
    }

    private static CalibrationStats stats(Method m) {
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            PruneSettings cfg = PruneSettings.of(m, SparsityPattern.unstructured(0.5));
            return BatchPruner.prune(model, calibration,
                    new BatchPruneSettings(cfg, PruneMode.ONE_SHOT, 100f, true), PruneProgress.NONE).stats();
        }
    }

    @Test
    void sparseGptOneShotWeightsMatchReference() {
        Map<String, TinyFixtures.Raw> ref = TinyFixtures.tensors("sparsegpt.safetensors");
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            PruneSettings cfg = PruneSettings.of(Method.SPARSEGPT, SparsityPattern.unstructured(0.5));
            BatchPruner.Result r = BatchPruner.prune(model, calibration, BatchPruneSettings.of(cfg, PruneMode.ONE_SHOT),
                    PruneProgress.NONE);
            assertThat(r.weightsUpdated()).isTrue();
            double worst = 0;
            for (int l = 0; l < ckpt.config().numLayers(); l++) {
                for (LinearKind k : LinearKind.values()) {
                    float[] w = model.weight(l, k);
                    float[] g = ref.get("sparsegpt.oneshot.unstructured.layers." + l + "." + k.shortName()).floats();
                    Mask mask = r.masks().get(new ModuleKey(l, k));
                    for (int i = 0; i < w.length; i++) {
                        if (mask.isPrunedIndex(i)) {
                            assertThat(Float.floatToRawIntBits(w[i])).isZero();
                        }
                    }
                    worst = Math.max(worst, maxRelErr(w, g));
                }
            }
            System.out.printf("SparseGPT one-shot weights vs reference: worst max-relative error %.3g%n", worst);
            assertThat(worst).isLessThan(1e-4);
        }
    }

    @Test
    void oneShotWandaNllMatchesReference() {
        JsonNode ref = json.get("nll").get("wanda-oneshot-unstructured");
        List<int[]> eval = TinyFixtures.sequences(json, "evaluation");
        try (LlamaModel model = LlamaModel.load(ckpt)) {
            PruneSettings cfg = PruneSettings.of(Method.WANDA, SparsityPattern.unstructured(0.5));
            BatchPruner.prune(model, calibration, BatchPruneSettings.of(cfg, PruneMode.ONE_SHOT), PruneProgress.NONE);
            LossResult total = new LossResult(0, 0);
            for (int i = 0; i < eval.size(); i++) {
                LossResult r = model.loss(eval.get(i));
                assertThat(r.meanNll()).isCloseTo(ref.get("perSequence").get(i).asDouble(), within(1e-4));
                total = total.plus(r);
            }
            assertThat(total.count()).isEqualTo(ref.get("tokens").asInt());
            assertThat(total.meanNll()).isCloseTo(ref.get("tokenWeightedMean").asDouble(), within(1e-4));
            System.out.printf("one-shot wanda NLL %.6f (reference %.6f)%n", total.meanNll(),
                    ref.get("tokenWeightedMean").asDouble());
        }
    }

    private static float[] div(float[] a, long n) {
        float[] r = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] / n;
        }
        return r;
    }

    /** max |a - b| / max |b|: relative to the tensor's scale, so tiny entries do not dominate. */
    static double maxRelErr(float[] a, float[] b) {
        return Errors.maxRelative(a, b);
    }
}
