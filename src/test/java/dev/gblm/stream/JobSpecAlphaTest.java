package dev.gblm.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.prune.Normalization;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A job's alpha, normalisation and hold-out: defaults filled by {@link JobSpec#validated()}, clear refusals. */
class JobSpecAlphaTest {
    private static final String PROFILE = "0123456789abcdef";

    private static JobSpec job(String method, String alpha, String normalization, double holdout) {
        return new JobSpec("j", PROFILE, List.of("a"), method, 0.5, "unstructured", null, null, 0, 0, 0, null, alpha,
                normalization, holdout);
    }

    private static void refused(JobSpec spec, String message) {
        assertThatThrownBy(spec::validated).isInstanceOf(GblmException.class).hasMessageContaining(message);
    }

    @Test
    void gblmDefaultsAreTheProfilesScaleAndSums() {
        JobSpec v = job("gblm", null, null, 0).validated();
        assertThat(v.alpha()).isEqualTo("s");
        assertThat(v.normalization()).isEqualTo("sum");
        assertThat(v.pruneSettings().alpha()).isNull();
        assertThat(v.pruneSettings().normalization()).isEqualTo(Normalization.SUM);
        assertThat(v.validated()).isEqualTo(v);
    }

    @Test
    void meanReachesThePruneSettings() {
        JobSpec v = job("GBLM", "S", " Mean ", 0.1).validated();
        assertThat(v.alpha()).isEqualTo("s");
        assertThat(v.normalization()).isEqualTo("mean");
        assertThat(v.holdout()).isEqualTo(0.1);
        assertThat(v.pruneSettings().normalization()).isEqualTo(Normalization.MEAN);
    }

    @Test
    void otherMethodsCarryNoAlpha() {
        JobSpec v = job("wanda", null, null, 0).validated();
        assertThat(v.alpha()).isNull();
        assertThat(v.normalization()).isNull();
        refused(job("wanda", "s", null, 0), "alpha and normalization weigh gblm's gradient term: job j uses method wanda");
        refused(job("gradient", null, "mean", 0), "uses method gradient");
    }

    @Test
    void numericAndInfiniteAlphaAreNormalizedAndReachThePruneSettings() {
        JobSpec ten = job("gblm", " 10.0 ", null, 0).validated();
        assertThat(ten.alpha()).isEqualTo("10");
        assertThat(ten.alphaValue()).isEqualTo(10.0);
        assertThat(ten.pruneSettings().alpha()).isEqualTo(10.0);
        assertThat(ten.validated()).isEqualTo(ten);
        assertThat(job("gblm", "0.5", "mean", 0).validated().pruneSettings().alpha()).isEqualTo(0.5);
        assertThat(job("gblm", "0", null, 0).validated().alpha()).isEqualTo("0");
        JobSpec inf = job("gblm", "Infinity", null, 0).validated();
        assertThat(inf.alpha()).isEqualTo("inf");
        assertThat(inf.pruneSettings().alpha()).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(job("gblm", null, null, 0).validated().alphaValue()).isNull();
    }

    private static JobSpec auto(List<String> grid, double holdout) {
        return new JobSpec("j", PROFILE, List.of("a"), "gblm", 0.5, "unstructured", null, null, 0, 0, 0, null, " AUTO ",
                null, holdout, grid);
    }

    @Test
    void autoAlphaGetsTheBatchDefaultGridOrItsOwnNormalized() {
        JobSpec v = auto(null, 0.1).validated();
        assertThat(v.alpha()).isEqualTo("auto");
        assertThat(v.isAutoAlpha()).isTrue();
        assertThat(v.alphaValue()).isNull();
        assertThat(v.needsGradScale()).isTrue();
        assertThat(v.alphaGrid()).containsExactly("0", "1", "10", "100", "1000", "10000", "inf");
        assertThat(v.alphaGridValues()).isEqualTo(dev.gblm.prune.batch.AlphaSearch.DEFAULT_GRID);
        assertThat(v.validated()).isEqualTo(v);
        assertThat(v.pruneSettings(10).alpha()).isEqualTo(10.0);
        JobSpec own = auto(List.of("Infinity", " 100.0", "0.5", "100"), 0.1).validated();
        assertThat(own.alphaGrid()).containsExactly("0.5", "100", "inf");
        assertThat(own.alphaGridValues()).containsExactly(0.5, 100.0, Double.POSITIVE_INFINITY);
        // through JSON and back, as it travels in the FINALIZE and the epoch record
        assertThat(Json.read(Json.write(own), JobSpec.class)).isEqualTo(own);
    }

    @Test
    void jobsWithoutAutoAlphaHaveNoGridOnTheWire() {
        JobSpec ten = job("gblm", "10", null, 0).validated();
        assertThat(ten.alphaGrid()).isNull();
        assertThat(ten.isAutoAlpha()).isFalse();
        assertThat(new String(Json.write(ten), java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("alphaGrid");
    }

    @Test
    void autoAlphaNeedsHeldOutSamplesAndASmallGrid() {
        refused(auto(null, 0), "alpha auto chooses alpha by held-out perplexity: job j needs holdout > 0");
        refused(auto(List.of(), 0.1), "the alpha grid is empty");
        refused(auto(List.of("1", "x"), 0.1), "alpha 'x' is not a number >= 0");
        List<String> big = java.util.stream.IntStream.range(0, 17).mapToObj(Integer::toString).toList();
        refused(auto(big, 0.1), "17 alphas in its grid, at most 16");
        refused(new JobSpec("j", PROFILE, List.of("a"), "gblm", 0.5, "unstructured", null, null, 0, 0, 0, null, "10",
                null, 0.1, List.of("1", "10")), "the grid is for alpha=auto only");
        refused(new JobSpec("j", PROFILE, List.of("a"), "wanda", 0.5, "unstructured", null, null, 0, 0, 0, null, null,
                null, 0.1, List.of("1")), "uses method wanda");
    }

    @Test
    void badAlphaIsRefused() {
        refused(job("gblm", "lots", null, 0), "alpha must be s (the profile's gradient scale), a number >= 0 or inf, got 'lots'");
        refused(job("gblm", "-1", null, 0), "alpha must be s, a finite number >= 0 or inf, got '-1'");
        refused(job("gblm", "1e999", null, 0), "a finite number >= 0 or inf");
        refused(job("gblm", "NaN", null, 0), "got 'NaN'");
    }

    @Test
    void aJobHoldsOutNoMoreThanItsProfile() {
        Profile none = new Profile("m", 8, 100f, Profile.STREAMING_KINDS.bits(), 1 << 20);
        Profile tenth = new Profile("m", 8, 100f, Profile.STREAMING_KINDS.bits(), 1 << 20, 0.1);
        job("gblm", null, null, 0).validated().requireProfile(none);
        job("gblm", null, null, 0.1).validated().requireProfile(tenth);
        job("gblm", null, null, 0.05).validated().requireProfile(tenth);
        assertThatThrownBy(() -> job("gblm", null, null, 0.05).validated().requireProfile(none))
                .isInstanceOf(RecordFormatException.class).hasMessageContaining("hold out only 0.0");
        assertThatThrownBy(() -> job("gblm", null, null, 0.2).validated().requireProfile(tenth))
                .hasMessageContaining("--holdout 0.2");
    }

    @Test
    void badNormalizationAndHoldoutAreRefused() {
        refused(job("gblm", null, "median", 0), "unknown normalization 'median' (expected sum or mean)");
        refused(job("gblm", null, null, 1), "holdout must be a fraction in [0, 1)");
        refused(job("gblm", null, null, -0.1), "holdout must be a fraction in [0, 1)");
        refused(job("gblm", null, null, Double.NaN), "holdout must be a fraction in [0, 1)");
    }
}
