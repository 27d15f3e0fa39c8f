package dev.gblm.stream.finalizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import dev.gblm.stream.EpochBase;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.OffsetRange;
import dev.gblm.stream.Profile;
import dev.gblm.stream.SliceRecord;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Epochs 2..n, pure: which slices are new to a job, the newest-first window, the window-0 base, the fold and what a
 * job still needs. The expected slice lists are worked out by hand from the rules in {@link EpochPlanner}'s Javadoc.
 */
class EpochPlannerTest {
    static final Profile P = Profile.of("fp", 128, 100f, StatKinds.of(StatKind.GRAD, StatKind.ACT));

    /** Slice {@code id} of stream a, partition 0, offsets [from, from + samples). */
    static SliceRecord slice(String id, long from, long samples) {
        return new SliceRecord(id, P.id(), P, "a", List.of(new OffsetRange("calib.a", 0, from, from + samples)), samples,
                samples * 10, 0, 5, 0).validate();
    }

    static JobSpec job(long refresh, long window) {
        return new JobSpec("j", P.id(), List.of("a"), "wanda", 0.5, "unstructured", null, null, 32, refresh, window).validated();
    }

    /** Four waves of two 16-sample slices: w0 = s0,s1 (offsets 0..32), w1 = s2,s3, ... */
    static List<SliceRecord> waves(int n) {
        List<SliceRecord> out = new ArrayList<>();
        for (int i = 0; i < 2 * n; i++) {
            out.add(slice("s" + i, 16L * i, 16));
        }
        return out;
    }

    @Test
    void aWindowTakesTheNewestWholeSlicesOnceRefreshEveryNewSamplesArrived() {
        JobSpec j = job(32, 48);
        EpochPlanner.Selection e1 = EpochPlanner.firstEpoch(j, waves(1)).orElseThrow();
        assertThat(e1.sliceIds()).containsExactly("s0", "s1");
        EpochPlanner.History h1 = new EpochPlanner.History(1, e1.sliceIds(), null, Map.of("s0", 1, "s1", 1));
        // 16 new samples < refreshEvery 32: no epoch yet
        assertThat(EpochPlanner.nextEpoch(j, waves(2).subList(0, 3), h1)).isEmpty();
        List<SliceRecord> two = new ArrayList<>(waves(2));
        Collections.reverse(two); // arrival order does not matter
        EpochPlanner.Selection e2 = EpochPlanner.nextEpoch(j, two, h1).orElseThrow();
        // newest first: s3, s2 (new, later in ORDER first), then s1 (epoch 1, later in ORDER than s0): 48 samples
        assertThat(e2.sliceIds()).containsExactly("s1", "s2", "s3");
        assertThat(e2.samples()).isEqualTo(48);
        assertThat(e2.base()).isNull();
        assertThat(e2.newlyUsed()).containsExactly("s2", "s3");
        EpochPlanner.History h2 = new EpochPlanner.History(2, e2.sliceIds(), null, Map.of("s0", 1, "s1", 1, "s2", 2, "s3", 2));
        // s0 fell out of the window: no live epoch will need it again; s1 is in the last window
        List<SliceRecord> all = waves(3);
        assertThat(EpochPlanner.needs(j, h2, all.get(0))).isFalse();
        assertThat(EpochPlanner.needs(j, h2, all.get(1))).isTrue();
        assertThat(EpochPlanner.needs(j, h2, all.get(5))).as("new").isTrue();
        assertThat(EpochPlanner.nextEpoch(j, all, h2).orElseThrow().sliceIds()).containsExactly("s3", "s4", "s5");
        // a one-epoch job never gets epoch 2 and needs nothing after epoch 1
        assertThat(EpochPlanner.nextEpoch(job(0, 0), all, h2)).isEmpty();
        assertThat(EpochPlanner.needs(job(0, 0), h1, all.get(5))).isFalse();
    }

    @Test
    void windowZeroIsTheBasePlusEveryUnfoldedSlice() {
        JobSpec j = job(32, 0);
        EpochPlanner.History h1 = new EpochPlanner.History(1, List.of("s0", "s1"), null, Map.of("s0", 1, "s1", 1));
        // epoch 1 finalized: its slices become base version 1
        EpochBase b1 = EpochPlanner.fold(j, h1, 32, 320).orElseThrow();
        assertThat(b1).isEqualTo(new EpochBase("j", 1, List.of("s0", "s1"), 32, 320));
        EpochPlanner.History folded = new EpochPlanner.History(1, List.of("s0", "s1"), b1, Map.of("s0", 1, "s1", 1));
        assertThat(EpochPlanner.fold(j, folded, 32, 320)).as("already folded").isEmpty();
        assertThat(EpochPlanner.needs(j, folded, slice("s0", 0, 16))).isFalse();

        // the folded slices may be gone from the store: epoch 2 = base 1 + the new slices
        List<SliceRecord> present = waves(2).subList(2, 4);
        EpochPlanner.Selection e2 = EpochPlanner.nextEpoch(j, present, folded).orElseThrow();
        assertThat(e2.base()).isEqualTo(b1);
        assertThat(e2.sliceIds()).containsExactly("s2", "s3");
        assertThat(e2.samples()).isEqualTo(64);
        assertThat(e2.tokens()).isEqualTo(640);

        // not folded yet (the planner folds on finalization): the used slices are listed again, and required
        assertThat(EpochPlanner.nextEpoch(j, waves(2), h1).orElseThrow().sliceIds()).containsExactly("s0", "s1", "s2", "s3");
        assertThat(EpochPlanner.nextEpoch(j, present, h1)).as("s0, s1 missing and not folded").isEmpty();

        // the next fold appends the epoch's listed slices to the base, in merge order
        EpochPlanner.History h2 = new EpochPlanner.History(2, e2.sliceIds(), b1, Map.of("s2", 2, "s3", 2));
        assertThat(EpochPlanner.fold(j, h2, 64, 640).orElseThrow())
                .isEqualTo(new EpochBase("j", 2, List.of("s0", "s1", "s2", "s3"), 64, 640));
    }

    @Test
    void laterEpochsNeedTheSameStreamsWindowAndRefresh() {
        JobSpec j = job(32, 48);
        assertThat(EpochPlanner.canContinue(null, j)).isTrue();
        assertThat(EpochPlanner.canContinue(j, job(32, 48))).isTrue();
        assertThat(EpochPlanner.canContinue(j, job(32, 0))).isFalse();
        assertThat(EpochPlanner.canContinue(j, job(16, 48))).isFalse();
        JobSpec otherStreams = new JobSpec("j", P.id(), List.of("a", "b"), "wanda", 0.5, "unstructured", null, null, 32, 32, 48)
                .validated();
        assertThat(EpochPlanner.canContinue(j, otherStreams)).isFalse();
        JobSpec otherSparsity = new JobSpec("j", P.id(), List.of("a"), "gblm", 0.6, "unstructured", null, null, 32, 32, 48)
                .validated();
        assertThat(EpochPlanner.canContinue(j, otherSparsity)).isTrue();
        assertThat(EpochPlanner.retirable(waves(1), List.of(j), Set.of("s0"), Map.of(), 0, 1)).as("no epoch yet").isEmpty();
    }
}
