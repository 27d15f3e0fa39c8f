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
    void numericAndAutoAlphaAreBatchOnlyForNow() {
        refused(job("gblm", "1000", null, 0), "a numeric alpha (1000) is batch-only for now");
        refused(job("gblm", "1000", null, 0), "--grad-scale 1000");
        refused(job("gblm", "auto", null, 0), "alpha auto is batch-only for now");
        refused(job("gblm", "lots", null, 0), "alpha must be s (the profile's gradient scale), got 'lots'");
    }

    @Test
    void badNormalizationAndHoldoutAreRefused() {
        refused(job("gblm", null, "median", 0), "unknown normalization 'median' (expected sum or mean)");
        refused(job("gblm", null, null, 1), "holdout must be a fraction in [0, 1)");
        refused(job("gblm", null, null, -0.1), "holdout must be a fraction in [0, 1)");
        refused(job("gblm", null, null, Double.NaN), "holdout must be a fraction in [0, 1)");
    }
}
