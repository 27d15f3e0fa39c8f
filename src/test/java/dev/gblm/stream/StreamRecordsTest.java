package dev.gblm.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.MagnitudeThreshold;
import dev.gblm.prune.Mask;
import dev.gblm.prune.MaskSelector;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.stream.finalizer.EpochPlanner;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StreamRecordsTest {
    static final Profile P = Profile.of("fp", 128, 100f, StatKinds.of(StatKind.GRAD, StatKind.ACT));

    static JobSpec job(String method, Double sparsity, String pattern) {
        return new JobSpec("j1", P.id(), List.of("a"), method, sparsity, pattern, null, null, 0, 0, 0);
    }

    @Test
    void profileIdIsStableShortAndSensitiveToEveryField() {
        assertThat(P.id()).matches("[0-9a-f]{16}").isEqualTo(Profile.of("fp", 128, 100f, P.kinds()).id());
        assertThat(Set.of(P.id(), Profile.of("fp2", 128, 100f, P.kinds()).id(), Profile.of("fp", 64, 100f, P.kinds()).id(),
                Profile.of("fp", 128, 10f, P.kinds()).id(), Profile.of("fp", 128, 100f, StatKinds.of(StatKind.ACT)).id(),
                new Profile("fp", 128, 100f, P.stats(), 4096).id())).hasSize(6);
        Profile back = Json.read(Json.write(P), Profile.class);
        assertThat(back).isEqualTo(P);
        assertThat(back.id()).isEqualTo(P.id());
    }

    @Test
    void jobValidationNormalizesAndRejectsWithClearMessages() {
        JobSpec ok = job("GBLM", 0.5, "unstructured").validated();
        assertThat(ok.minSamples()).isEqualTo(128);
        assertThat(ok.method()).isEqualTo("gblm");
        assertThat(ok.gradNorm()).isEqualTo("l1");
        assertThat(ok.tailRule()).isEqualTo("proportional");
        assertThat(job("wanda", null, "2:4").validated().sparsity()).isEqualTo(0.5);
        assertThat(Json.read(Json.write(ok), JobSpec.class)).isEqualTo(ok);
        assertThatThrownBy(() -> job("sparsegpt", 0.5, "unstructured").validated()).isInstanceOf(GblmException.class)
                .hasMessageContaining("batch-only");
        assertThatThrownBy(() -> job("wanda", 0.6, "2:4").validated()).hasMessageContaining("2:4 means sparsity 0.5");
        assertThatThrownBy(() -> job("wanda", 1.5, "unstructured").validated()).hasMessageContaining("(0, 1)");
        assertThatThrownBy(() -> job("wanda", null, "3:3").validated()).hasMessageContaining("N:M");
        assertThatThrownBy(() -> job("foo", 0.5, "unstructured").validated()).hasMessageContaining("unknown pruning method");
        assertThatThrownBy(() -> new JobSpec("j", "xyz", List.of("a"), "gblm", 0.5, "unstructured", null, null, 0, 0, 0).validated())
                .hasMessageContaining("bad profile id");
        assertThatThrownBy(() -> new JobSpec("j", P.id(), List.of(), "gblm", 0.5, "unstructured", null, null, 0, 0, 0).validated())
                .hasMessageContaining("no stream");
        assertThatThrownBy(() -> new JobSpec("j", P.id(), List.of("a"), "gblm", 0.5, "unstructured", null, null, 128, 0, 500).validated())
                .hasMessageContaining("refreshEvery");
    }

    @Test
    void blockKeyRoundTripsAndRejectsGarbage() {
        BlockKey k = new BlockKey(P.id(), 3, LinearKind.DOWN_PROJ, 128);
        assertThat(k.toString()).isEqualTo(P.id() + "/3/down_proj/128");
        assertThat(BlockKey.parse(k.toString())).isEqualTo(k);
        assertThatThrownBy(() -> BlockKey.parse("a/b/c")).isInstanceOf(RecordFormatException.class);
        assertThatThrownBy(() -> BlockKey.parse(P.id() + "/1/nope/0")).isInstanceOf(RecordFormatException.class);
    }

    @Test
    void maskBlockRoundTripsAndDetectsCorruption() {
        Mask m = new Mask(3, 11);
        m.prune(0, 0);
        m.prune(2, 10);
        m.prune(1, 5);
        MaskBlock b = new MaskBlock(1, LinearKind.K_PROJ, 6, 9, m);
        byte[] enc = b.encode();
        assertThat(enc).hasSize(32 + 5 + 4);
        MaskBlock back = MaskBlock.decode(enc);
        assertThat(back.mask()).isEqualTo(m);
        assertThat(back.rowStart()).isEqualTo(6);
        assertThat(back.module()).isEqualTo(LinearKind.K_PROJ);
        // bit 11 (row 1, col 0 relative) must not be set; row 1 col 5 = index 16 = byte 2 bit 0
        assertThat(enc[32 + 2] & 1).isEqualTo(1);
        enc[33] ^= 4;
        assertThatThrownBy(() -> MaskBlock.decode(enc)).hasMessageContaining("CRC");
    }

    @Test
    void firstEpochTakesWholeSlicesInDeterministicOrder() {
        List<SliceRecord> s = new ArrayList<>(List.of(slice("s3", "b", 0, 10), slice("s1", "a", 1, 10), slice("s2", "a", 0, 10),
                slice("s4", "c", 0, 50)));
        JobSpec j = new JobSpec("j", P.id(), List.of("a", "b"), "wanda", 0.5, "unstructured", null, null, 15, 0, 0).validated();
        assertThat(EpochPlanner.firstEpoch(j, s.subList(0, 1))).isEmpty();
        EpochPlanner.Selection sel = EpochPlanner.firstEpoch(j, s).orElseThrow();
        assertThat(sel.sliceIds()).containsExactly("s2", "s1");
        assertThat(sel.samples()).isEqualTo(20);
        java.util.Collections.reverse(s);
        assertThat(EpochPlanner.firstEpoch(j, s).orElseThrow().sliceIds()).containsExactly("s2", "s1");
    }

    @Test
    void slicesAreRetiredOnlyWhenNoJobNeedsThem() {
        List<SliceRecord> s = List.of(slice("s1", "a", 0, 10), slice("s2", "b", 0, 10), slice("s3", "c", 0, 10));
        JobSpec done = new JobSpec("done", P.id(), List.of("a"), "wanda", 0.5, "unstructured", null, null, 1, 0, 0).validated();
        JobSpec waiting = new JobSpec("waiting", P.id(), List.of("b"), "wanda", 0.5, "unstructured", null, null, 100, 0, 0).validated();
        Set<String> used = Set.of("s1", "s2");
        EpochPlanner.History doneAt1 = new EpochPlanner.History(1, List.of("s1"), null, null);
        assertThat(EpochPlanner.retirable(s, List.of(done, waiting), used, Map.of("done", doneAt1), 1000, 1_000_000))
                .containsExactly("s1");
        // a window-0 re-pruning job needs its used slices until they are folded into its base
        JobSpec refreshing = new JobSpec("r", P.id(), List.of("a"), "wanda", 0.5, "unstructured", null, null, 1, 10, 0).validated();
        Map<String, EpochPlanner.History> h = Map.of("done", doneAt1, "r", new EpochPlanner.History(1, List.of("s1"), null, Map.of("s1", 1)));
        assertThat(EpochPlanner.retirable(s, List.of(done, refreshing), used, h, 1000, 1_000_000))
                .containsExactlyInAnyOrder("s2");
        h = Map.of("done", doneAt1, "r", new EpochPlanner.History(1, List.of("s1"),
                new EpochBase("r", 1, List.of("s1"), 10, 10), Map.of("s1", 1)));
        assertThat(EpochPlanner.retirable(s, List.of(done, refreshing), used, h, 1000, 1_000_000))
                .containsExactlyInAnyOrder("s1", "s2");
        assertThat(EpochPlanner.retirable(s, List.of(), Set.of(), Map.of(), 10_000_000, 1_000_000)).hasSize(3);
    }

    @Test
    void magnitudeThresholdPerBlockEqualsTheWholeMatrixRule() {
        Random rnd = new Random(3);
        int rows = 24;
        int in = 10;
        float[] w = new float[rows * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rnd.nextGaussian();
        }
        w[5] = -w[17]; // a tie in |W|
        for (double sp : new double[] {0.1, 0.5, 0.73}) {
            float t = MagnitudeThreshold.of(w, sp);
            List<Mask> blocks = new ArrayList<>();
            for (int r = 0; r < rows; r += 7) {
                int end = Math.min(rows, r + 7);
                blocks.add(MagnitudeThreshold.apply(java.util.Arrays.copyOfRange(w, r * in, end * in), end - r, in, t));
            }
            assertThat(Mask.concatRows(blocks)).isEqualTo(MaskSelector.magnitudeThreshold(w, rows, in, sp));
        }
    }

    static SliceRecord slice(String id, String stream, int partition, long samples) {
        return new SliceRecord(id, P.id(), P, stream, List.of(new OffsetRange("calib." + stream, partition, 0, samples)),
                samples, samples * 10, 0, 5, 0).validate();
    }
}
