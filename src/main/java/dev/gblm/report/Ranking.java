package dev.gblm.report;

import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.PruneMode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Writes the report's ranking paragraph from measured perplexities: nothing here is prose about expected
 * results, every comparison is computed from the numbers it is given.
 */
public final class Ranking {
    private final QualityGrid grid;
    private final double dense;
    private final Map<RunSpec, Double> ppl;

    /** {@code ppl}: perplexity per run (missing runs are left out of every comparison). */
    public Ranking(QualityGrid grid, double densePerplexity, Map<RunSpec, Double> ppl) {
        this.grid = grid;
        this.dense = densePerplexity;
        this.ppl = Map.copyOf(ppl);
    }

    /** A setting of the table: one pattern in one mode (mode-independent methods take part in every mode). */
    public record Setting(SparsityPattern pattern, PruneMode mode) {
        String label() {
            return RunSpec.patternLabel(pattern) + ", " + mode.cliName();
        }
    }

    public List<Setting> settings() {
        List<Setting> s = new ArrayList<>();
        for (SparsityPattern p : grid.patterns()) {
            for (PruneMode m : grid.modes()) {
                s.add(new Setting(p, m));
            }
        }
        return s;
    }

    /** Methods measured in a setting, best (lowest perplexity) first; ties keep the grid's method order. */
    public List<Map.Entry<MethodVariant, Double>> order(Setting s) {
        Map<MethodVariant, Double> m = new LinkedHashMap<>();
        for (MethodVariant v : grid.methods()) {
            Double x = ppl.get(RunSpec.of(v, s.pattern(), s.mode()));
            if (x != null && !Double.isNaN(x)) {
                m.put(v, x);
            }
        }
        return m.entrySet().stream().sorted(Map.Entry.comparingByValue(Comparator.naturalOrder()))
                .collect(Collectors.toList());
    }

    /** One line per setting: the methods in order, with perplexities. */
    public List<String> orderSentences() {
        List<String> out = new ArrayList<>();
        for (Setting s : settings()) {
            List<Map.Entry<MethodVariant, Double>> o = order(s);
            if (o.isEmpty()) {
                continue;
            }
            String chain = o.stream().map(e -> e.getKey().label() + " " + Fmt.ppl(e.getValue()))
                    .collect(Collectors.joining(" < "));
            Map.Entry<MethodVariant, Double> best = o.get(0);
            out.add(String.format(Locale.ROOT, "**%s**: %s. Best: %s, %s dense (%s).", s.label(), chain,
                    best.getKey().label(), Fmt.factor(best.getValue() / dense), Fmt.ppl(dense)));
        }
        return out;
    }

    /** How many settings each method wins (lowest perplexity), most wins first. */
    public Map<MethodVariant, Integer> wins() {
        Map<MethodVariant, Integer> w = new EnumMap<>(MethodVariant.class);
        for (Setting s : settings()) {
            List<Map.Entry<MethodVariant, Double>> o = order(s);
            if (!o.isEmpty()) {
                w.merge(o.get(0).getKey(), 1, Integer::sum);
            }
        }
        return w.entrySet().stream().sorted(Map.Entry.<MethodVariant, Integer>comparingByValue().reversed())
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (a, b) -> a, LinkedHashMap::new));
    }

    /** The summary paragraph: winners, the calibrated methods against magnitude, GBLM against Wanda, modes, norms. */
    public List<String> summarySentences() {
        List<String> out = new ArrayList<>();
        Map<MethodVariant, Integer> wins = wins();
        int settings = (int) settings().stream().filter(s -> !order(s).isEmpty()).count();
        if (!wins.isEmpty()) {
            out.add("Lowest perplexity per setting: " + wins.entrySet().stream()
                    .map(e -> e.getKey().label() + " in " + e.getValue() + " of " + settings)
                    .collect(Collectors.joining(", ")) + ".");
        }
        farBelowMagnitude().ifPresent(out::add);
        pairwise(MethodVariant.GBLM_L1, MethodVariant.WANDA).ifPresent(out::add);
        pairwise(MethodVariant.GBLM_L1, MethodVariant.SPARSEGPT).ifPresent(out::add);
        pairwise(MethodVariant.GBLM_L1, MethodVariant.GBLM_L2).ifPresent(out::add);
        pairwise(MethodVariant.GBLM_L1, MethodVariant.GRADIENT_L1).ifPresent(out::add);
        modes().ifPresent(out::add);
        return out;
    }

    /** At unstructured 50% (or the first unstructured pattern): each calibrated method's gain over magnitude. */
    java.util.Optional<String> farBelowMagnitude() {
        SparsityPattern p = grid.patterns().stream().filter(SparsityPattern::isUnstructured).findFirst().orElse(null);
        if (p == null) {
            return java.util.Optional.empty();
        }
        Double mag = ppl.get(RunSpec.of(MethodVariant.MAGNITUDE, p, grid.modes().get(0)));
        if (mag == null) {
            return java.util.Optional.empty();
        }
        List<String> parts = new ArrayList<>();
        double minFactor = Double.POSITIVE_INFINITY;
        String weakest = null;
        for (MethodVariant v : grid.methods()) {
            if (v == MethodVariant.MAGNITUDE) {
                continue;
            }
            for (PruneMode m : grid.modes()) {
                Double x = ppl.get(RunSpec.of(v, p, m));
                if (x == null) {
                    continue;
                }
                double f = mag / x;
                if (f < minFactor) {
                    minFactor = f;
                    weakest = RunSpec.of(v, p, m).label() + " (" + Fmt.ppl(x) + ")";
                }
                if (x >= mag) {
                    parts.add(RunSpec.of(v, p, m).label());
                }
            }
        }
        if (weakest == null) {
            return java.util.Optional.empty();
        }
        String head = String.format(Locale.ROOT, "At %s magnitude reaches %s (%s dense); ", RunSpec.patternLabel(p),
                Fmt.ppl(mag), Fmt.factor(mag / dense));
        if (parts.isEmpty()) {
            return java.util.Optional.of(head + String.format(Locale.ROOT,
                    "every calibrated method is below it, the weakest, %s, by %s.", weakest, Fmt.factor(minFactor)));
        }
        return java.util.Optional.of(head + "not below it: " + String.join(", ", parts) + ".");
    }

    /** {@code a} against {@code b} in every setting where both were measured. */
    java.util.Optional<String> pairwise(MethodVariant a, MethodVariant b) {
        int better = 0;
        int n = 0;
        double minRel = Double.POSITIVE_INFINITY;
        double maxRel = Double.NEGATIVE_INFINITY;
        for (Setting s : settings()) {
            RunSpec ra = RunSpec.of(a, s.pattern(), s.mode());
            RunSpec rb = RunSpec.of(b, s.pattern(), s.mode());
            Double xa = ppl.get(ra);
            Double xb = ppl.get(rb);
            if (xa == null || xb == null) {
                continue;
            }
            n++;
            if (xa < xb) {
                better++;
            }
            double rel = xa / xb - 1;
            minRel = Math.min(minRel, rel);
            maxRel = Math.max(maxRel, rel);
        }
        if (n == 0) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(String.format(Locale.ROOT,
                "%s is lower than %s in %d of %d settings (its perplexity is %s to %s relative to %s's).",
                a.label(), b.label(), better, n, signedPct(minRel), signedPct(maxRel), b.label()));
    }

    /** Sequential against one-shot, over every method that depends on the mode. */
    java.util.Optional<String> modes() {
        if (!grid.modes().contains(PruneMode.SEQUENTIAL) || !grid.modes().contains(PruneMode.ONE_SHOT)) {
            return java.util.Optional.empty();
        }
        int better = 0;
        int n = 0;
        double sumRel = 0;
        for (MethodVariant v : grid.methods()) {
            if (v.modeIndependent()) {
                continue;
            }
            for (SparsityPattern p : grid.patterns()) {
                Double seq = ppl.get(RunSpec.of(v, p, PruneMode.SEQUENTIAL));
                Double one = ppl.get(RunSpec.of(v, p, PruneMode.ONE_SHOT));
                if (seq == null || one == null) {
                    continue;
                }
                n++;
                if (seq < one) {
                    better++;
                }
                sumRel += seq / one - 1;
            }
        }
        if (n == 0) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(String.format(Locale.ROOT,
                "Sequential is lower than one-shot in %d of %d method × pattern pairs (mean relative difference %s).",
                better, n, signedPct(sumRel / n)));
    }

    /** Sentences about the sweep: the order at its highest sparsity, where each method first doubles dense. */
    public List<String> sweepSentences(Map<RunSpec, Double> sweep) {
        List<String> out = new ArrayList<>();
        if (grid.sweepSparsities().isEmpty()) {
            return out;
        }
        double top = grid.sweepSparsities().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        List<Map.Entry<MethodVariant, Double>> atTop = new ArrayList<>();
        for (MethodVariant v : grid.methods()) {
            Double x = sweep.get(RunSpec.of(v, SparsityPattern.unstructured(top), grid.sweepMode()));
            if (x != null) {
                atTop.add(Map.entry(v, x));
            }
        }
        atTop.sort(Map.Entry.comparingByValue());
        if (!atTop.isEmpty()) {
            out.add(String.format(Locale.ROOT, "At %s unstructured (%s): %s.", Fmt.pct(top).replace(".0%", "%"),
                    grid.sweepMode().cliName(), atTop.stream().map(e -> e.getKey().label() + " " + Fmt.ppl(e.getValue()))
                            .collect(Collectors.joining(" < "))));
        }
        List<String> doubling = new ArrayList<>();
        for (MethodVariant v : grid.methods()) {
            Double first = null;
            for (double s : grid.sweepSparsities().stream().sorted().toList()) {
                Double x = sweep.get(RunSpec.of(v, SparsityPattern.unstructured(s), grid.sweepMode()));
                if (x != null && x > 2 * dense) {
                    first = s;
                    break;
                }
            }
            doubling.add(v.label() + " " + (first == null ? "never" : "at " + Fmt.pct(first).replace(".0%", "%")));
        }
        out.add("First sparsity where perplexity exceeds twice dense: " + String.join(", ", doubling) + ".");
        return out;
    }

    private static String signedPct(double rel) {
        return String.format(Locale.ROOT, "%+.1f%%", rel * 100);
    }
}
