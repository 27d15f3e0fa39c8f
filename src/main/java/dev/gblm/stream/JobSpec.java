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
 * @param alpha        weight of the gradient term of gblm, in raw-gradient units ({@link PruneSettings}): null or
 *                     {@code s} = the profile's gradient scale {@code s} (the paper's score), a number {@code >= 0}
 *                     or {@code inf}; validated for gblm (normalized text), null otherwise. The planner carries the
 *                     profile's {@code s} in every FINALIZE of an explicit alpha
 *                     ({@link BlockInstruction#gradScale()}), so the block tasks can form {@code alpha/s}.
 *                     {@code auto}: every epoch gets one mask per alpha of {@link #alphaGrid} and the exporter keeps the
 *                     one with the lowest held-out perplexity (needs {@code holdout > 0})
 * @param normalization gblm's gradient term over the samples: null = {@code sum} (the paper's, as batch) or
 *                     {@code mean} (per-sample means: the same weight at every epoch whatever its sample count);
 *                     validated to {@code sum} for gblm, null otherwise
 * @param holdout      fraction of the streams' samples held out for quality ({@link HoldOut}; never in statistics):
 *                     the exporter measures each epoch's perplexity on them. 0 = none, in {@code [0, 1)}, and at
 *                     most the profile's {@link Profile#holdout()} (checked by the planner, {@link #requireProfile})
 * @param alphaGrid    {@code alpha=auto} only: the alphas to choose from, normalized texts ({@code 0}, {@code 10},
 *                     {@code inf}) ascending; validated to {@link PruneSettings#DEFAULT_ALPHA_GRID} when unset, at most
 *                     {@link #MAX_ALPHA_GRID} points; null (absent from the JSON) for every other job
 */
public record JobSpec(String id, String profile, List<String> streams, String method, Double sparsity, String pattern,
        String tailRule, String gradNorm, int minSamples, long refreshEvery, long window, String team, String alpha,
        String normalization, double holdout, List<String> alphaGrid) {
    public static final int DEFAULT_MIN_SAMPLES = 128;
    /** The default alpha of a gblm job: the profile's gradient scale {@code s} (the paper's score). */
    public static final String ALPHA_PROFILE_SCALE = "s";
    /** The alpha of a job that chooses it per epoch by held-out perplexity. */
    public static final String ALPHA_AUTO = "auto";
    /** Grid points of an {@code alpha=auto} job at most: each is one more mask per block on {@code gblm.masks}. */
    public static final int MAX_ALPHA_GRID = 16;

    @JsonCreator
    public JobSpec {
        streams = streams == null ? List.of() : List.copyOf(streams);
        alphaGrid = alphaGrid == null ? null : List.copyOf(alphaGrid);
    }

    /** A job without alpha grid (every alpha but {@code auto}). */
    public JobSpec(String id, String profile, List<String> streams, String method, Double sparsity, String pattern,
            String tailRule, String gradNorm, int minSamples, long refreshEvery, long window, String team, String alpha,
            String normalization, double holdout) {
        this(id, profile, streams, method, sparsity, pattern, tailRule, gradNorm, minSamples, refreshEvery, window, team,
                alpha, normalization, holdout, null);
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
                refreshEvery, window, team, alpha, normalization, holdout, alphaGrid);
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
        List<String> grid = null;
        if (m == Method.GBLM) {
            a = checkAlpha(alpha);
            n = normalization == null ? Normalization.SUM.cliName() : Normalization.parse(normalization).cliName();
            grid = checkGrid(id, a, alphaGrid, holdout);
        } else if (alpha != null || normalization != null || alphaGrid != null) {
            throw new GblmException("alpha and normalization weigh gblm's gradient term: job " + id + " uses method "
                    + m.cliName());
        }
        return new JobSpec(id, profile, streams, m.cliName(), p.sparsity(), p.patternName(),
                tail.name().toLowerCase(Locale.ROOT), norm.cliName(), min, refreshEvery, window, team, a, n, holdout, grid);
    }

    /** The grid of an {@code alpha=auto} job, normalized (default grid when unset); null for every other alpha. */
    private static List<String> checkGrid(String id, String alpha, List<String> grid, double holdout) {
        if (!ALPHA_AUTO.equals(alpha)) {
            if (grid != null) {
                throw new GblmException("job " + id + " gives an alpha grid but alpha " + alpha + ": the grid is for "
                        + "alpha=auto only");
            }
            return null;
        }
        if (!(holdout > 0)) {
            throw new GblmException("alpha auto chooses alpha by held-out perplexity: job " + id + " needs holdout > 0 "
                    + "(a fraction of its streams' records, at most its profile's: workers run with --holdout)");
        }
        List<Double> values = grid == null ? PruneSettings.DEFAULT_ALPHA_GRID : PruneSettings.parseAlphaGrid(grid);
        if (values.size() > MAX_ALPHA_GRID) {
            throw new GblmException("job " + id + " has " + values.size() + " alphas in its grid, at most "
                    + MAX_ALPHA_GRID + " (each is one more mask per block)");
        }
        return values.stream().map(PruneSettings::alphaText).toList();
    }

    /** The alpha of a streaming gblm job, normalized: {@code s}, {@code inf} or a plain number {@code >= 0}. */
    private static String checkAlpha(String alpha) {
        if (alpha == null || alpha.trim().equalsIgnoreCase(ALPHA_PROFILE_SCALE)) {
            return ALPHA_PROFILE_SCALE;
        }
        String t = alpha.trim().toLowerCase(Locale.ROOT);
        if (t.equals(ALPHA_AUTO)) {
            return ALPHA_AUTO;
        }
        if (t.equals("inf") || t.equals("infinity")) {
            return "inf";
        }
        double a;
        try {
            a = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new GblmException("alpha must be s (the profile's gradient scale), a number >= 0 or inf, got '" + alpha + "'");
        }
        if (!(a >= 0) || Double.isInfinite(a)) {
            throw new GblmException("alpha must be s, a finite number >= 0 or inf, got '" + alpha + "'");
        }
        return PruneSettings.alphaText(a);
    }

    /**
     * The explicit alpha in raw-gradient units; null for {@code s}, for {@code auto} (see {@link #alphaGridValues()})
     * and for methods other than gblm.
     */
    @JsonIgnore
    public Double alphaValue() {
        if (alpha == null || alpha.equalsIgnoreCase(ALPHA_PROFILE_SCALE) || isAutoAlpha()) {
            return null;
        }
        String t = alpha.trim().toLowerCase(Locale.ROOT);
        return t.equals("inf") || t.equals("infinity") ? Double.POSITIVE_INFINITY : Double.parseDouble(t);
    }

    /** Whether the job chooses its alpha per epoch by held-out perplexity ({@code alpha=auto}). */
    @JsonIgnore
    public boolean isAutoAlpha() {
        return alpha != null && alpha.trim().equalsIgnoreCase(ALPHA_AUTO);
    }

    /** The grid of an {@code alpha=auto} job in raw-gradient units, ascending; null for every other job. */
    @JsonIgnore
    public List<Double> alphaGridValues() {
        if (!isAutoAlpha()) {
            return null;
        }
        return alphaGrid == null ? PruneSettings.DEFAULT_ALPHA_GRID : PruneSettings.parseAlphaGrid(alphaGrid);
    }

    /**
     * Whether the block tasks need the profile's gradient scale {@code s} to weigh the stored gradients: an explicit
     * alpha, or {@code auto} (every grid point is one).
     */
    @JsonIgnore
    public boolean needsGradScale() {
        return alphaValue() != null || isAutoAlpha();
    }

    /** {@link #pruneSettings()} at {@code alpha} (one point of an {@code alpha=auto} job's grid). */
    public PruneSettings pruneSettings(double alpha) {
        return pruneSettings().withAlpha(alpha, normalizationEnum());
    }

    /**
     * Checks that statistics of {@code profile} can serve this job: the kinds it needs ({@link #requireKinds}) and a
     * hold-out fraction no larger than the profile's (the workers only keep that fraction out of the statistics).
     */
    public void requireProfile(Profile profile) {
        requireKinds(profile.kinds());
        if (holdout > profile.holdout()) {
            throw new RecordFormatException("job " + id + " holds out " + holdout + " of its samples, but the workers of "
                    + "profile " + profile.id() + " hold out only " + profile.holdout() + " (run them with --holdout "
                    + holdout + " or more, a new profile, or lower the job's holdout)");
        }
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
     * The method, pattern, gradient norm, tail rule, alpha ({@link #alphaValue()}; null = the statistics' own scale)
     * and normalisation as the pure core takes them; for {@code alpha=auto} use {@link #pruneSettings(double)}.
     */
    @JsonIgnore
    public PruneSettings pruneSettings() {
        return new PruneSettings(methodEnum(), gradNormEnum(), patternSpec(), tailRuleEnum(), alphaValue(),
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
