package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.gblm.GblmException;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * A pruning job on the compacted topic {@code gblm.jobs} (key = {@link #id}, JSON; a null value deletes the job).
 *
 * @param id           job id: letters, digits, '.', '_', '-', not starting with '.' ({@link Ids})
 * @param profile      profile id of the statistics the job uses
 * @param streams      calibration streams whose slices count (one or several)
 * @param method       magnitude | wanda | gradient | gblm (sparsegpt needs weight updates over full Hessians: batch only)
 * @param sparsity     target sparsity; for N:M it is N/M (may be omitted at submit)
 * @param pattern      unstructured | N:M
 * @param tailRule     N:M trailing partial group rule: proportional (default) | reference
 * @param gradNorm     l1 (default) | l2; used by gradient and gblm
 * @param minSamples   samples the first epoch needs (default 128)
 * @param refreshEvery 0 = one epoch only; N = a new epoch once N new samples arrived after the last one was finalized
 * @param window       0 = all samples since the start (a base sum); N = the newest N samples (with refreshEvery);
 *                     see {@code EpochPlanner.nextEpoch}
 * @param team         the owning team, set by the finalizer from the team job topic the job was read from (a value
 *                     submitted by a user is never trusted); null for jobs on the shared {@code gblm.jobs} topic
 * @param alpha        weight of the gradient term of gblm: null = the default, a number, or {@code auto}
 * @param normalization how the score terms are normalised: null = the default, {@code sum} (the paper's) or
 *                     {@code mean} (per-sample means, the same meaning at every epoch)
 * @param holdout      fraction of the streams' samples held out for quality (never in statistics); 0 = none
 */
public record JobSpec(String id, String profile, List<String> streams, String method, Double sparsity, String pattern,
        String tailRule, String gradNorm, int minSamples, long refreshEvery, long window, String team, String alpha,
        String normalization, double holdout) {
    public static final int DEFAULT_MIN_SAMPLES = 128;

    @JsonCreator
    public JobSpec {
        streams = streams == null ? List.of() : List.copyOf(streams);
    }

    /** A job without team, explicit alpha, normalisation or hold-out (all defaults). */
    public JobSpec(String id, String profile, List<String> streams, String method, Double sparsity, String pattern,
            String tailRule, String gradNorm, int minSamples, long refreshEvery, long window) {
        this(id, profile, streams, method, sparsity, pattern, tailRule, gradNorm, minSamples, refreshEvery, window,
                null, null, null, 0);
    }

    /** This job as owned by {@code team} (null = no team). */
    public JobSpec withTeam(String team) {
        return new JobSpec(id, profile, streams, method, sparsity, pattern, tailRule, gradNorm, minSamples,
                refreshEvery, window, team, alpha, normalization, holdout);
    }

    /**
     * Validates every field and returns the normalized spec (lower-case names, defaults filled, sparsity set to N/M
     * for N:M). Throws {@link GblmException} with a message a user can act on.
     */
    public JobSpec validated() {
        Ids.requireSafe("job id", id);
        Profile.requireValidId(profile);
        if (streams.isEmpty()) {
            throw new GblmException("job " + id + " names no stream");
        }
        for (String s : streams) {
            Topics.calibrationTopic(s); // throws on a bad name
        }
        if (new LinkedHashSet<>(streams).size() != streams.size()) {
            throw new GblmException("job " + id + " names a stream twice: " + streams);
        }
        Method m = Method.parse(method);
        if (m == Method.SPARSEGPT) {
            throw new GblmException("method sparsegpt is batch-only (it updates weights using full Hessians); "
                    + "streaming jobs support magnitude, wanda, gradient and gblm — use `gblm prune` for sparsegpt");
        }
        SparsityPattern p = SparsityPattern.parse(pattern == null ? "unstructured" : pattern, sparsity);
        TailRule tail = parseTail(tailRule);
        GradNorm norm = GradNorm.parse(gradNorm == null ? "l1" : gradNorm);
        int min = minSamples == 0 ? DEFAULT_MIN_SAMPLES : minSamples;
        if (min < 1) {
            throw new GblmException("minSamples must be >= 1, got " + minSamples);
        }
        if (refreshEvery < 0 || window < 0) {
            throw new GblmException("refreshEvery and window must be >= 0");
        }
        if (window > 0 && window < min) {
            throw new GblmException("window (" + window + ") must be 0 (all samples) or at least minSamples (" + min + ")");
        }
        if (window > 0 && refreshEvery == 0) {
            throw new GblmException("a window only makes sense with refreshEvery > 0 (one-epoch jobs use the first minSamples)");
        }
        return new JobSpec(id, profile, streams, m.cliName(), p.sparsity(), p.patternName(),
                tail.name().toLowerCase(Locale.ROOT), norm.cliName(), min, refreshEvery, window, team, alpha,
                normalization, holdout);
    }

    private static TailRule parseTail(String s) {
        if (s == null) {
            return TailRule.defaultRule();
        }
        try {
            return TailRule.valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new GblmException("unknown tail rule '" + s + "' (expected proportional or reference)");
        }
    }

    @JsonIgnore
    public Method methodEnum() {
        return Method.parse(method);
    }

    @JsonIgnore
    public SparsityPattern patternSpec() {
        return SparsityPattern.parse(pattern, sparsity);
    }

    /** The method, pattern, gradient norm and tail rule as the pure core takes them. */
    @JsonIgnore
    public PruneSettings pruneSettings() {
        return new PruneSettings(methodEnum(), gradNormEnum(), patternSpec(), tailRuleEnum());
    }

    @JsonIgnore
    public TailRule tailRuleEnum() {
        return parseTail(tailRule);
    }

    @JsonIgnore
    public GradNorm gradNormEnum() {
        return GradNorm.parse(gradNorm == null ? "l1" : gradNorm);
    }

    /** Whether the method needs the whole matrix (one magnitude threshold), rather than each row block alone. */
    @JsonIgnore
    public boolean needsMatrixThreshold() {
        return methodEnum() == Method.MAGNITUDE && patternSpec().isUnstructured();
    }

    /** Checks that statistics of {@code kinds} can serve this job (e.g. gblm needs GRAD and ACT). */
    public void requireKinds(StatKinds kinds) {
        Method m = methodEnum();
        if (m.needsActivations() && !kinds.contains(StatKind.ACT) || m.needsGradients() && !kinds.contains(StatKind.GRAD)) {
            throw new RecordFormatException("job " + id + " (" + method + ") needs statistics the profile does not collect " + kinds);
        }
    }
}
