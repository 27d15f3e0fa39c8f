package dev.gblm.bench;

import dev.gblm.model.LinearKind;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Mask;
import dev.gblm.prune.MaskSelector;
import dev.gblm.prune.Method;
import dev.gblm.prune.Scores;
import dev.gblm.prune.SparseGpt;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatKind;
import dev.gblm.stats.StatKinds;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Scoring + mask selection throughput on one matrix with random statistics, next to one plain pass over the
 * same array measured in the same run (the yardstick: selection should stay within ~10x of it).
 */
@Command(name = "masks", mixinStandardHelpOptions = true,
        description = "Time scoring + mask selection (wanda, gblm, 2:4) against one plain pass over a float32 matrix.")
public final class MasksBench implements Runnable {
    @Option(names = "--rows", description = "output rows (default ${DEFAULT-VALUE})")
    int rows = 4096;

    @Option(names = "--cols", description = "input columns (default ${DEFAULT-VALUE}, LLaMA-7B MLP)")
    int cols = 11008;

    @Option(names = "--repeat", description = "timed repetitions per operation, best reported (default ${DEFAULT-VALUE})")
    int repeat = 3;

    @Option(names = "--seed", description = "random seed (default ${DEFAULT-VALUE})")
    long seed = 42;

    @Option(names = "--sparsegpt-size", description = "also time SparseGPT on an NxN matrix (0 = skip; default ${DEFAULT-VALUE})")
    int sparseGptSize = 0;

    private static volatile Object sink;

    @Override
    public void run() {
        int n = Math.multiplyExact(rows, cols);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (rnd.nextDouble() * 2 - 1) * 0.05f;
        }
        ModuleStats stats = ModuleStats.zeros(0, LinearKind.UP_PROJ, 0, rows, cols, StatKinds.of(StatKind.GRAD, StatKind.ACT));
        float[] g1 = stats.gradL1();
        float[] g2 = stats.gradL2Sq();
        for (int i = 0; i < n; i++) {
            g1[i] = (float) rnd.nextDouble();
            g2[i] = g1[i] * g1[i] * 0.5f;
        }
        float[] act = stats.actSq();
        for (int j = 0; j < cols; j++) {
            act[j] = (float) (rnd.nextDouble() * 100);
        }
        stats.addCounts(128, 128 * 2048);
        float[] scores = new float[n];
        float[] wandaScores = Scores.compute(Method.WANDA, GradNorm.L1, w, 0, rows, cols, stats);

        System.out.printf(Locale.ROOT, "matrix [%d x %d] float32 (%.1f MB), best of %d, %d threads available%n", rows, cols,
                n * 4.0 / 1e6, repeat, Runtime.getRuntime().availableProcessors());
        double plain = time("plain pass (sum |w|)", () -> {
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += Math.abs(w[i]);
            }
            return s;
        }, 0);
        time("wanda score + unstructured 50%", () -> {
            Scores.compute(Method.WANDA, GradNorm.L1, w, 0, rows, cols, stats, scores);
            return MaskSelector.unstructured(scores, rows, cols, 0.5);
        }, plain);
        time("gblm (l1) score + unstructured 50%", () -> {
            Scores.compute(Method.GBLM, GradNorm.L1, w, 0, rows, cols, stats, scores);
            return MaskSelector.unstructured(scores, rows, cols, 0.5);
        }, plain);
        time("  wanda score only", () -> {
            Scores.compute(Method.WANDA, GradNorm.L1, w, 0, rows, cols, stats, scores);
            return scores;
        }, plain);
        time("  unstructured 50% selection only", () -> MaskSelector.unstructured(wandaScores, rows, cols, 0.5), plain);
        time("2:4 selection (on wanda scores)", () -> MaskSelector.nm(wandaScores, rows, cols, 2, 4, TailRule.PROPORTIONAL), plain);
        time("wanda score + 2:4", () -> {
            Scores.compute(Method.WANDA, GradNorm.L1, w, 0, rows, cols, stats, scores);
            return MaskSelector.nm(scores, rows, cols, 2, 4, TailRule.PROPORTIONAL);
        }, plain);
        time("magnitude one-threshold 50%", () -> MaskSelector.magnitudeThreshold(w, rows, cols, 0.5), plain);

        if (sparseGptSize > 0) {
            int m = sparseGptSize;
            float[] hs = new float[m * m];
            float[] x = new float[64 * m];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rnd.nextDouble() - 0.5f;
            }
            ModuleStats h = ModuleStats.zeros(0, LinearKind.O_PROJ, 0, m, m, StatKinds.of(StatKind.HESSIAN));
            for (int rep = 0; rep < 2 * m / 64 + 1; rep++) {
                h.addActivations(x, 64);
                for (int i = 0; i < x.length; i += 7) {
                    x[i] = (float) rnd.nextDouble() - 0.5f;
                }
            }
            h.addCounts(1, 64);
            float[] sw = new float[m * m];
            for (int i = 0; i < sw.length; i++) {
                sw[i] = (float) (rnd.nextDouble() - 0.5);
            }
            long t0 = System.nanoTime();
            Mask mask = SparseGpt.prune(sw, m, m, h, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL);
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "sparsegpt unstructured 50%% on [%d x %d]: %.2f s (sparsity %.4f)%n", m, m, s,
                    mask.sparsity());
        }
    }

    private double time(String label, Supplier<Object> op, double plainSeconds) {
        sink = op.get(); // warm-up
        double best = Double.MAX_VALUE;
        for (int r = 0; r < repeat; r++) {
            long t0 = System.nanoTime();
            sink = op.get();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        if (plainSeconds > 0) {
            System.out.printf(Locale.ROOT, "%-38s %9.1f ms  %6.1fx plain%n", label, best * 1e3, best / plainSeconds);
        } else {
            System.out.printf(Locale.ROOT, "%-38s %9.1f ms%n", label, best * 1e3);
        }
        return best;
    }
}
