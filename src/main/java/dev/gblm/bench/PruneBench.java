package dev.gblm.bench;

import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.LlamaConfig;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PruneProgress;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** End-to-end batch prune time per method on a generated random LLaMA (no I/O: model built in memory). */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "End-to-end batch prune time per method on a random ~25M-parameter LLaMA.")
final class PruneBench implements Callable<Integer> {
    @Option(names = "--samples", defaultValue = "32", description = "calibration samples (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--tokens", defaultValue = "512", description = "tokens per sample (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--methods", defaultValue = "magnitude,wanda,gradient,gblm,sparsegpt", split = ",",
            description = "methods to time, comma-separated (default ${DEFAULT-VALUE})")
    List<String> methods;

    @Option(names = "--modes", defaultValue = "sequential,one-shot", split = ",",
            description = "prune modes to time, comma-separated (default ${DEFAULT-VALUE})")
    List<String> modes;

    @Mixin
    RandomModelOptions shape = new RandomModelOptions();

    @Mixin
    ComputeThreadsOption threads = new ComputeThreadsOption();

    @Override
    public Integer call() {
        threads.apply();
        LlamaConfig cfg = shape.config(Math.max(tokens, 512));
        Checkpoint ck = RandomCheckpoints.uniform(cfg, 1234);
        List<int[]> cal = RandomCheckpoints.documents(new SplittableRandom(11), samples, tokens, cfg.vocabSize());
        System.out.printf(Locale.ROOT, "random LLaMA: %s; %d samples x %d tokens; %d cores%n", shape.describe(), samples,
                tokens, Runtime.getRuntime().availableProcessors());
        System.out.printf(Locale.ROOT, "%-10s %-10s %9s  %s%n", "method", "mode", "total s", "phases (s)");
        for (String mode : modes) {
            for (String name : methods) {
                Method method = Method.parse(name);
                PruneMode pm = PruneMode.parse(mode);
                if (pm == PruneMode.ONE_SHOT && (method == Method.MAGNITUDE || method == Method.GRADIENT)) {
                    continue; // mode-independent: same work as sequential
                }
                PruneSettings pc = new PruneSettings(method, GradNorm.L1, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL);
                try (LlamaModel model = LlamaModel.load(ck)) {
                    long t0 = System.nanoTime();
                    BatchPruner.Result r = BatchPruner.prune(model, cal, BatchPruneSettings.of(pc, pm), PruneProgress.NONE);
                    double total = (System.nanoTime() - t0) / 1e9;
                    StringBuilder ph = new StringBuilder();
                    for (Map.Entry<String, Double> e : r.phaseSeconds().entrySet()) {
                        ph.append(String.format(Locale.ROOT, "%s %.1f  ", e.getKey(), e.getValue()));
                    }
                    System.out.printf(Locale.ROOT, "%-10s %-10s %9.1f  %s%n", method, pm, total, ph.toString().strip());
                    System.out.flush();
                }
            }
        }
        return 0;
    }
}
