package dev.gblm.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.gblm.GblmException;
import dev.gblm.stream.JobSpec;
import org.junit.jupiter.api.Test;

/** {@code gblm run --job id=..,streams=a+b,...}: syntax here, semantics through {@link JobSpec#validated()}. */
class JobArgumentTest {
    private static final String PROFILE = "0123456789abcdef";

    @Test
    void parsesEveryKey() {
        JobSpec j = JobArgument.parse("id=j1,streams=a+b,method=gblm,sparsity=0.6,pattern=unstructured,min-samples=64,"
                + "grad-norm=l2,tail-rule=reference");
        assertThat(j.id()).isEqualTo("j1");
        assertThat(j.streams()).containsExactly("a", "b");
        assertThat(j.method()).isEqualTo("gblm");
        assertThat(j.sparsity()).isEqualTo(0.6);
        assertThat(j.pattern()).isEqualTo("unstructured");
        assertThat(j.minSamples()).isEqualTo(64);
        assertThat(j.gradNorm()).isEqualTo("l2");
        assertThat(j.tailRule()).isEqualTo("reference");
        assertThat(j.refreshEvery()).isZero();
    }

    @Test
    void fillsDefaultsAndToleratesSpacesAndKeyOrder() {
        JobSpec j = JobArgument.parse(" method = wanda , streams = x + y + z ,id=w24,pattern=2:4");
        assertThat(j.streams()).containsExactly("x", "y", "z");
        assertThat(j.sparsity()).isNull();
        JobSpec v = withProfile(j).validated();
        assertThat(v.method()).isEqualTo("wanda");
        assertThat(v.pattern()).isEqualTo("2:4");
        assertThat(v.sparsity()).isEqualTo(0.5);
        assertThat(v.minSamples()).isEqualTo(JobSpec.DEFAULT_MIN_SAMPLES);
        assertThat(v.gradNorm()).isEqualTo("l1");

        JobSpec d = withProfile(JobArgument.parse("id=j,streams=s,method=gblm,sparsity=0.5")).validated();
        assertThat(d.pattern()).isEqualTo("unstructured");
        assertThat(d.tailRule()).isEqualTo("proportional");
    }

    @Test
    void rejectsBadSyntaxWithOneClearMessage() {
        assertBad("id=j,streams=a,method=gblm,sparsity", "--job: expected key=value, got 'sparsity'");
        assertBad("id=j,streams=a,method=gblm,=0.5", "--job: expected key=value, got '=0.5'");
        assertBad("id=j,streams=a,method=gblm,spars=0.5", "--job: unknown key 'spars' (keys: alpha, alpha-grid, grad-norm, holdout, id, method,");
        assertBad("id=j,streams=a,method=gblm,id=k", "--job: key 'id' given twice");
        assertBad("streams=a,method=gblm", "--job needs id=...");
        assertBad("id=j,method=gblm", "--job needs streams=...");
        assertBad("id=j,streams=a", "--job needs method=...");
        assertBad("id=j,streams=a,method=gblm,sparsity=half", "--job: sparsity must be a number, got 'half'");
        assertBad("id=j,streams=a,method=gblm,min-samples=1e3", "--job: min-samples must be an integer, got '1e3'");
        assertBad("", "--job: expected key=value, got ''");
        assertBad("id=j,streams=a,method=gblm,holdout=some", "--job: holdout must be a fraction, got 'some'");
    }

    @Test
    void takesAlphaNormalizationAndHoldout() {
        JobSpec d = withProfile(JobArgument.parse("id=j,streams=s,method=gblm,sparsity=0.5,alpha=10,normalization=mean,"
                + "holdout=0.1")).validated();
        assertThat(d.alpha()).isEqualTo("10");
        assertThat(d.normalization()).isEqualTo("mean");
        assertThat(d.holdout()).isEqualTo(0.1);
    }

    @Test
    void takesAutoAlphaWithAGridJoinedByPlus() {
        JobSpec d = withProfile(JobArgument.parse("id=j,streams=s,method=gblm,sparsity=0.5,alpha=auto,"
                + "alpha-grid=inf+10+0,holdout=0.1")).validated();
        assertThat(d.alpha()).isEqualTo("auto");
        assertThat(d.alphaGrid()).containsExactly("0", "10", "inf");
        assertInvalid("id=j,streams=a,method=gblm,sparsity=0.5,alpha=auto", "needs holdout > 0");
    }

    @Test
    void semanticMistakesAreReportedByValidation() {
        assertInvalid("id=j,streams=a+a,method=gblm,sparsity=0.5", "names a stream twice");
        assertInvalid("id=j,streams=a,method=sparsegpt,sparsity=0.5", "sparsegpt is batch-only");
        assertInvalid("id=j,streams=a,method=nosuch,sparsity=0.5", "nosuch");
        assertInvalid("id=j,streams=a,method=gblm,pattern=3:2", "3:2");
        assertInvalid("id=j,streams=a,method=gblm,sparsity=1.5", "1.5");
        assertInvalid("id=j,streams=a,method=gblm,sparsity=0.5,min-samples=-4", "minSamples must be >= 1, got -4");
        assertInvalid("id=j k,streams=a,method=gblm,sparsity=0.5", "bad job id 'j k'");
        assertInvalid("id=j,streams=a,method=gblm,sparsity=0.5,tail-rule=sideways", "unknown tail rule 'sideways'");
    }

    private static JobSpec withProfile(JobSpec j) {
        return new JobSpec(j.id(), PROFILE, j.streams(), j.method(), j.sparsity(), j.pattern(), j.tailRule(), j.gradNorm(),
                j.minSamples(), j.refreshEvery(), j.window(), j.team(), j.alpha(), j.normalization(), j.holdout(),
                j.alphaGrid());
    }

    private static void assertBad(String arg, String message) {
        assertThatThrownBy(() -> JobArgument.parse(arg)).isInstanceOf(GblmException.class).hasMessageStartingWith(message)
                .hasNoCause();
    }

    private static void assertInvalid(String arg, String fragment) {
        JobSpec parsed = JobArgument.parse(arg);
        assertThatThrownBy(() -> withProfile(parsed).validated()).isInstanceOf(GblmException.class)
                .hasMessageContaining(fragment);
    }
}
