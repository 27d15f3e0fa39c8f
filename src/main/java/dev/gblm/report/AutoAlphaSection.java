package dev.gblm.report;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.Perplexity;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PruneProgress;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The automatic-alpha part of the quality report: for 50% unstructured and 2:4, one-shot and sequential, gblm-l1
 * with the alpha chosen by held-out perplexity against gblm at alpha 100 (the paper's scale) and Wanda (alpha 0).
 * The held-out chunks decide; the evaluation chunks only measure (every grid point is evaluated too, so the page
 * shows whether the held-out choice carries over).
 */
final class AutoAlphaSection {
    /** Alpha of the paper's score at the default gradient scale: the "gblm alpha=100" column. */
    static final double PAPER_ALPHA = 100;

    /** One setting's search, plus the evaluation perplexity of every grid point (alpha to perplexity). */
    record Outcome(SparsityPattern pattern, PruneMode mode, AlphaSearch.Outcome search, Map<Double, Double> evalPpl) {
        double evalAt(double alpha) {
            Double v = evalPpl.get(alpha);
            return v == null ? Double.NaN : v;
        }
    }

    private AutoAlphaSection() {}

    static List<SparsityPattern> patterns() {
        return List.of(SparsityPattern.unstructured(0.5), SparsityPattern.parse("2:4", null));
    }

    /** Runs the four searches; {@code grid} must hold 0 and {@link #PAPER_ALPHA} (the comparison columns). */
    static List<Outcome> run(QualityRunner runner, LlamaModel model, List<int[]> calibration, List<int[]> heldOut,
            List<int[]> evalSet, TailRule tail, float gradScale, List<Double> grid, PrintWriter progress) {
        if (!grid.contains(0d) || !grid.contains(PAPER_ALPHA)) {
            throw new GblmException("--auto-alpha-grid must contain 0 (Wanda) and 100 (the paper's gblm) for the comparison");
        }
        List<Outcome> out = new ArrayList<>();
        for (SparsityPattern p : patterns()) {
            for (PruneMode mode : List.of(PruneMode.ONE_SHOT, PruneMode.SEQUENTIAL)) {
                runner.restoreDense();
                PruneSettings cfg = new PruneSettings(Method.GBLM, GradNorm.L1, p, tail);
                String label = "auto-alpha " + RunSpec.patternLabel(p) + " " + mode.cliName();
                Map<Double, Double> eval = new LinkedHashMap<>();
                long t0 = System.nanoTime();
                AlphaSearch.Outcome o = AlphaSearch.search(model, calibration, heldOut,
                        new BatchPruneSettings(cfg, mode, gradScale, false), grid, PruneProgress.NONE,
                        new AlphaSearch.Listener() {
                            @Override
                            public void done(int index, int total, AlphaSearch.Point point) {
                                // the model holds this point's pruned weights: measure them on the evaluation chunks
                                double e = Perplexity.evaluate(model, evalSet, null).perplexity();
                                eval.put(point.alpha(), e);
                                progress.printf(Locale.ROOT, "%s [%d/%d] alpha %s: held-out ppl %s, eval ppl %s%n",
                                        label, index + 1, total, point.label(), Fmt.ppl(point.heldOutPerplexity()),
                                        Fmt.ppl(e));
                                progress.flush();
                            }
                        });
                progress.printf(Locale.ROOT, "%s: chose alpha %s (%.0f s)%n", label, o.chosen().label(),
                        (System.nanoTime() - t0) / 1e9);
                progress.flush();
                out.add(new Outcome(p, mode, o, eval));
            }
        }
        runner.restoreDense();
        return out;
    }

    /** The Markdown section. */
    static String render(List<Outcome> outcomes, String heldOutDescription, List<Double> grid, int calibrationSamples) {
        StringBuilder md = new StringBuilder("## Automatic alpha (gblm-l1)\n\n");
        md.append("gblm's score is |W|·‖X‖ + α·|W|·G with G the l1 sum of the raw per-sample gradients (α in "
                + "raw-gradient units; α = 100 is the paper's score at gradient scale 100, α = 0 is Wanda, α = inf "
                + "the gradient method). `--alpha auto` prunes with every α of the grid ")
                .append(gridText(grid)).append(" and keeps the one with the lowest perplexity on held-out text: ")
                .append(heldOutDescription).append(", disjoint from the calibration and the evaluation chunks. ")
                .append("One-shot collects the statistics once and re-masks per α; sequential re-runs the whole "
                        + "layer-by-layer pruning per α. Calibration: the same ").append(calibrationSamples)
                .append(" samples as above; normalisation: sum (the paper's). The evaluation perplexity (the table "
                        + "above's protocol) of the chosen α is then compared with α = 100 and Wanda.\n\n");
        MarkdownTable t = MarkdownTable.withHeaders("pattern", "mode", "chosen α", "auto-alpha", "gblm α=100",
                "wanda (α=0)").align(1, MarkdownTable.Align.LEFT).align(2, MarkdownTable.Align.LEFT);
        int beatsPaper = 0;
        int beatsWanda = 0;
        for (Outcome o : outcomes) {
            double auto = o.evalAt(o.search().chosen().alpha());
            double paper = o.evalAt(PAPER_ALPHA);
            double wanda = o.evalAt(0);
            beatsPaper += auto < paper ? 1 : 0;
            beatsWanda += auto < wanda ? 1 : 0;
            t.row(RunSpec.patternLabel(o.pattern()), o.mode().cliName(), AlphaSearch.number(o.search().chosen().alpha()),
                    Fmt.ppl(auto), Fmt.ppl(paper), Fmt.ppl(wanda));
        }
        md.append("Evaluation perplexity (lower is better):\n\n").append(t.render()).append('\n');
        md.append(String.format(Locale.ROOT, "Auto-alpha's evaluation perplexity is lower than gblm α=100's in %d of %d "
                + "settings and lower than Wanda's in %d of %d (equal counts as not lower: the chosen α may be 100 or 0 "
                + "itself).%n%n", beatsPaper, outcomes.size(), beatsWanda, outcomes.size()));
        List<String> headers = new ArrayList<>(List.of("pattern", "mode", "perplexity"));
        for (double a : grid) {
            headers.add("α=" + AlphaSearch.number(a));
        }
        MarkdownTable g = MarkdownTable.withHeaders(headers.toArray(String[]::new)).align(1, MarkdownTable.Align.LEFT)
                .align(2, MarkdownTable.Align.LEFT);
        for (Outcome o : outcomes) {
            List<String> held = new ArrayList<>(List.of(RunSpec.patternLabel(o.pattern()), o.mode().cliName(), "held-out"));
            List<String> ev = new ArrayList<>(List.of(RunSpec.patternLabel(o.pattern()), o.mode().cliName(), "eval"));
            for (AlphaSearch.Point p : o.search().points()) {
                String mark = p == o.search().chosen() ? " *" : "";
                held.add(Fmt.ppl(p.heldOutPerplexity()) + mark);
                ev.add(Fmt.ppl(o.evalAt(p.alpha())));
            }
            g.row(held).row(ev);
        }
        md.append("Every grid point (* = chosen by held-out perplexity):\n\n").append(g.render()).append('\n');
        return md.toString();
    }

    static String gridText(List<Double> grid) {
        List<String> s = new ArrayList<>();
        for (double a : grid) {
            s.add(AlphaSearch.number(a));
        }
        return "{" + String.join(", ", s) + "}";
    }
}
