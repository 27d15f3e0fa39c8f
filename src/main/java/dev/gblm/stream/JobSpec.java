package dev.gblm.stream;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.gblm.GblmException;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.Normalization;
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
 * @param alpha        weight of the gradient term of gblm: null or {@code s} = the profile's gradient scale {@code s}
 *                     (validated to {@code s} for gblm, null otherwise). A number or {@code auto} is refused for now:
 *                     the block tasks do not see the profile, so {@code alpha/s} cannot be formed there, and
 *                     {@code auto} needs held-out perplexity in the exporter; both are batch-only ({@code gblm prune})
 * @param normalization gblm's gradient term over the samples: null = {@code sum} (the paper's, as batch) or
 *                     {@code mean} (per-sample means: the same weight at every epoch whatever its sample count);
 *                     validated to {@code sum} for gblm, null otherwise
 * @param holdout      fraction of the streams' samples held out for quality (never in statistics); 0 = none,
 *                     in {@code [0, 1)}
 */
public record JobSpec(String id, String profile, List<String> streams, String method, Double sparsity, String pattern,
        String tailRule, String gradNorm, int minSamples, long refreshEvery, long window, String team, String alpha,
        String normalization, double holdout) {
    public static final int DEFAULT_MIN_SAMPLES = 128;
    /** The only alpha a streaming job takes: the profile's gradient scale {@code s} (the paper's score). */
    public static final String ALPHA_PROFILE_SCALE = "s";

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
        requireOwnId(id, team);
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
        if (!(holdout >= 0 && holdout < 1)) {
            throw new GblmException("holdout must be a fraction in [0, 1) of the samples, got " + holdout);
        }
        String a = null;
        String n = null;
        if (m == Method.GBLM) {
            a = checkAlpha(alpha);
            n = normalization == null ? Normalization.SUM.cliName() : Normalization.parse(normalization).cliName();
        } else if (alpha != null || normalization != null) {
            throw new GblmException("alpha and normalization weigh gblm's gradient term: job " + id + " uses method "
                    + m.cliName());
        }
        return new JobSpec(id, profile, streams, m.cliName(), p.sparsity(), p.patternName(),
                tail.name().toLowerCase(Locale.ROOT), norm.cliName(), min, refreshEvery, window, team, a, n, holdout);
    }

    /** The alpha of a streaming gblm job: the profile's gradient scale ({@code s}), the only one the block tasks can apply. */
    private static String checkAlpha(String alpha) {
        if (alpha == null || alpha.trim().equalsIgnoreCase(ALPHA_PROFILE_SCALE)) {
            return ALPHA_PROFILE_SCALE;
        }
        String t = alpha.trim();
        if (t.equalsIgnoreCase("auto")) {
            throw new GblmException("alpha auto is batch-only for now (it needs held-out perplexity per alpha): use "
                    + "`gblm prune --alpha auto`, then run the job with that alpha as the workers' --grad-scale");
        }
        try {
            Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new GblmException("alpha must be s (the profile's gradient scale), got '" + alpha + "'");
        }
        throw new GblmException("a numeric alpha (" + t + ") is batch-only for now: a streaming gblm job weighs its "
                + "gradient term with alpha = s, the profile's gradient scale, so run the workers with --grad-scale "
                + t + " (a new profile) and leave alpha unset");
    }

    /**
     * A team's job ids start with {@code <team>.}, so no two teams (nor admin jobs) share an id or an export directory;
     * the id {@code teams} is reserved for the directory that holds the teams' exports.
     */
    public static void requireOwnId(String id, String team) {
        if (team != null && !id.startsWith(Topics.requireTeam(team) + ".")) {
            throw new GblmException("job id '" + id + "' of team " + team + " must start with '" + team + ".'");
        }
        if (team == null && id.equals("teams")) {
            throw new GblmException("job id 'teams' is reserved (it names the directory of the teams' exports)");
        }
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

    /**
     * The method, pattern, gradient norm, tail rule and normalisation as the pure core takes them; alpha is the
     * statistics' own scale ({@code s}), the only one a job takes (see {@link #validated()}).
     */
    @JsonIgnore
    public PruneSettings pruneSettings() {
        return new PruneSettings(methodEnum(), gradNormEnum(), patternSpec(), tailRuleEnum(), null,
                normalizationEnum());
    }

    /** The normalisation ({@code sum} when unset). */
    @JsonIgnore
    public Normalization normalizationEnum() {
        return normalization == null ? Normalization.SUM : Normalization.parse(normalization);
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
