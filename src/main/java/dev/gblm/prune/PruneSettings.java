package dev.gblm.prune;

import dev.gblm.GblmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Everything that decides a mask besides weights and statistics.
 *
 * <p>{@code alpha} is the weight of gblm's gradient term in units of the raw (unscaled) gradients:
 * {@code score = |W|·sqrt(A/N) + alpha·|W|·G_raw}. The statistics hold gradients scaled by the collector's
 * gradient scale {@code s} ({@code G_s = s·G_raw}), so the scorer multiplies the stored term by {@code alpha/s};
 * {@code alpha == s} is the paper's score (the multiply is skipped, so masks are bit for bit today's).
 * {@code alpha = 0} keeps only the activation term (Wanda's masks), {@code alpha = +infinity} only the gradient term
 * (the gradient method's masks). {@code null} means "the statistics' own scale": {@code alpha = s} whatever {@code s}.
 * Both alpha and {@code normalization} affect gblm only (a factor or a common divisor does not change how
 * gradient-only scores rank).
 *
 * @param alpha         the gradient weight, {@code >= 0} or {@code +infinity}; null = {@code s}
 * @param normalization how the gradient term is normalised over the samples
 */
public record PruneSettings(Method method, GradNorm gradNorm, SparsityPattern pattern, TailRule tailRule, Double alpha,
        Normalization normalization) {
    public PruneSettings {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(gradNorm, "gradNorm");
        Objects.requireNonNull(pattern, "pattern");
        Objects.requireNonNull(tailRule, "tailRule");
        Objects.requireNonNull(normalization, "normalization");
        if (alpha != null && !(alpha >= 0)) {
            throw new GblmException("alpha must be >= 0 (or infinity for gradient only), got " + alpha);
        }
    }

    /** The paper's score: alpha = the statistics' gradient scale, sums. */
    public PruneSettings(Method method, GradNorm gradNorm, SparsityPattern pattern, TailRule tailRule) {
        this(method, gradNorm, pattern, tailRule, null, Normalization.SUM);
    }

    /** With the default gradient norm (l1) and tail rule (proportional). */
    public static PruneSettings of(Method method, SparsityPattern pattern) {
        return new PruneSettings(method, GradNorm.L1, pattern, TailRule.defaultRule());
    }

    /** The same settings with another alpha and normalisation. */
    public PruneSettings withAlpha(Double newAlpha, Normalization newNormalization) {
        return new PruneSettings(method, gradNorm, pattern, tailRule, newAlpha, newNormalization);
    }

    /**
     * The grid automatic alpha searches by default (batch {@code gblm prune --alpha auto} and streaming jobs with
     * {@code alpha=auto}): 0 (activation only), 1 .. 10000, infinity (gradient only), in raw-gradient units.
     */
    public static final List<Double> DEFAULT_ALPHA_GRID = List.of(0d, 1d, 10d, 100d, 1000d, 10000d,
            Double.POSITIVE_INFINITY);

    /** Parses a grid such as {@code 0,1,10,100,inf}: distinct values {@code >= 0}, sorted ascending. */
    public static List<Double> parseAlphaGrid(List<String> values) {
        if (values == null || values.isEmpty()) {
            throw new GblmException("the alpha grid is empty");
        }
        List<Double> out = new ArrayList<>();
        for (String v : values) {
            double a = parseAlpha(v);
            if (!out.contains(a)) {
                out.add(a);
            }
        }
        out.sort(Double::compare);
        return List.copyOf(out);
    }

    /** A number {@code >= 0} or {@code inf}/{@code infinity}. */
    public static double parseAlpha(String v) {
        String t = v == null ? "" : v.trim().toLowerCase(Locale.ROOT);
        if (t.equals("inf") || t.equals("infinity")) {
            return Double.POSITIVE_INFINITY;
        }
        double a;
        try {
            a = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new GblmException("alpha '" + v + "' is not a number >= 0, inf or auto");
        }
        if (!(a >= 0) || Double.isInfinite(a)) {
            throw new GblmException("alpha must be a number >= 0 or inf, got " + v);
        }
        return a;
    }

    /** An alpha as text: a plain number ({@code 100}, {@code 0.5}) or {@code inf}. */
    public static String alphaText(double alpha) {
        if (Double.isInfinite(alpha)) {
            return "inf";
        }
        return alpha == Math.rint(alpha) && Math.abs(alpha) < 1e15 ? String.valueOf((long) alpha)
                : String.format(Locale.ROOT, "%s", alpha);
    }

    /** The alpha in effect with statistics collected at gradient scale {@code gradScale}. */
    public double alphaFor(float gradScale) {
        return alpha == null ? gradScale : alpha;
    }

    /**
     * The factor the scorer applies to the stored (scaled) gradient term: {@code alpha/s}, exactly 1 when alpha is
     * implicit, {@code +infinity} for gradient only. {@code gradScale} may be NaN (unknown) only when alpha is
     * implicit.
     */
    public float gradFactor(float gradScale) {
        if (alpha == null) {
            return 1f;
        }
        if (alpha.isInfinite()) {
            return Float.POSITIVE_INFINITY;
        }
        if (!(gradScale > 0) || Float.isInfinite(gradScale)) {
            throw new IllegalArgumentException("an explicit alpha needs the statistics' gradient scale, got " + gradScale);
        }
        return alpha == gradScale ? 1f : (float) (alpha / gradScale);
    }
}
