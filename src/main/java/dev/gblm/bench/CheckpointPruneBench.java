package dev.gblm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.bench.EngineBench.ProcStatus;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.SpillSettings;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LlamaConfig;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PruneProgress;
import dev.gblm.prune.batch.PrunedModelWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * GBLM (one-shot, or sequential with {@code --mode sequential}) of a checkpoint on disk (any size, e.g. written by {@code bench checkpoint}) with random calibration
 * documents, measuring what a large model costs: seconds per phase and per sample, achieved GFLOP/s of the gradient
 * pass against the float32 matmul ceiling measured in the same run, and peak RSS / anonymous memory sampled from
 * /proc/self/status every 0.2 s, with the peak size of the spill files (boundary activations, sequential mode's
 * gradient sums) sampled at the same time; then the pruned checkpoint is written and loaded again for a few tokens.
 */
@Command(name = "prune-checkpoint", mixinStandardHelpOptions = true,
        description = "GBLM of a checkpoint on disk with random calibration: time, GFLOP/s, peak memory and spill.")
final class CheckpointPruneBench implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "checkpoint directory or file")
    Path model;

    @Option(names = "--out", required = true, description = "output directory for the pruned checkpoint")
    Path out;

    @Option(names = "--samples", defaultValue = "4", description = "calibration samples (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--tokens", defaultValue = "128", description = "tokens per sample (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--sparsity", defaultValue = "0.5", description = "unstructured sparsity (default ${DEFAULT-VALUE})")
    double sparsity;

    @Option(names = "--mode", defaultValue = "one-shot", paramLabel = "one-shot|sequential",
            description = "pruning mode; sequential keeps the dense gradient sums in a store that spills to disk "
                    + "when over 1 GiB (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--spill-dir", paramLabel = "DIR", description = "parent of the spill files (default: a fresh "
            + "temporary directory, deleted at the end)")
    Path spillDir;

    @Mixin
    ComputeThreadsOption threads = new ComputeThreadsOption();

    @Override
    public Integer call() throws Exception {
        threads.apply();
        PruneMode pruneMode = PruneMode.parse(mode);
        PrunedModelWriter.checkTarget(out, false);
        Path spillParent = spillDir != null ? spillDir : Files.createTempDirectory("gblm-bench-spill");
        AtomicLong peakRss = new AtomicLong();
        AtomicLong peakAnon = new AtomicLong();
        AtomicLong peakSpill = new AtomicLong();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                peakRss.accumulateAndGet(ProcStatus.kb("VmRSS"), Math::max);
                peakAnon.accumulateAndGet(ProcStatus.kb("RssAnon"), Math::max);
                peakSpill.accumulateAndGet(spillBytes(spillParent), Math::max);
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "memory-sampler");
        sampler.setDaemon(true);
        sampler.start();

        double ceiling = EngineBench.matmulRate(5, dev.gblm.engine.Engines.device(LlamaModel.defaultDevice()));
        long t0 = System.nanoTime();
        Checkpoint ckpt = Checkpoints.load(model);
        LlamaConfig cfg = ckpt.config();
        List<int[]> cal = RandomCheckpoints.documents(new SplittableRandom(11), samples, tokens, cfg.vocabSize());
        long linParams = EngineBench.layerLinearParams(cfg);
        long headParams = (long) cfg.vocabSize() * cfg.hiddenSize();
        double T = tokens;
        // as bench engine counts it, plus the layer-major pass's recomputed forward (linears 2NT, attention 4LT^2d)
        double attn = 12.0 * cfg.numLayers() * T * T * cfg.hiddenSize();
        double work = samples * (8.0 * linParams * T + 4.0 * headParams * T + attn * 4 / 3);
        System.out.printf(Locale.ROOT, "model %s: %d layers, hidden %d, intermediate %d, vocab %d, %s; %.3fB linear "
                + "params; %d samples x %d tokens; %s; %d cores, threads %s%n", model, cfg.numLayers(),
                cfg.hiddenSize(), cfg.intermediateSize(), cfg.vocabSize(), ckpt.weightDtype(), linParams / 1e9, samples,
                tokens, pruneMode.cliName(), Runtime.getRuntime().availableProcessors(), threads.describe());
        System.out.printf(Locale.ROOT, "matmul ceiling (float32 2048^3, best of 5): %.1f GFLOP/s%n", ceiling);

        BatchPruneSettings settings = BatchPruneSettings.of(PruneSettings.of(Method.GBLM,
                SparsityPattern.unstructured(sparsity)), pruneMode).withStatsPass(StatsPass.LAYER)
                .withSpill(SpillSettings.defaults().inDirectory(spillParent));
        long tLoad;
        long tPrune;
        BatchPruner.Result result;
        try (LlamaModel m = LlamaModel.load(ckpt)) {
            tLoad = System.nanoTime();
            System.out.printf(Locale.ROOT, "loaded (%s weights) in %.1f s, RSS %d MiB, anon %d MiB%n",
                    m.isLazy() ? "lazy" : "eager", (tLoad - t0) / 1e9, ProcStatus.kb("VmRSS") / 1024,
                    ProcStatus.kb("RssAnon") / 1024);
            result = BatchPruner.prune(m, cal, settings, new PruneProgress() {
                @Override
                public void layerPruned(int layer, int layers) {
                    System.err.printf(Locale.ROOT, "layer %d pruned at %.1f s, RSS %d MiB, anon %d MiB%n", layer,
                            (System.nanoTime() - tLoad) / 1e9, ProcStatus.kb("VmRSS") / 1024,
                            ProcStatus.kb("RssAnon") / 1024);
                }
            });
            tPrune = System.nanoTime();
            PrunedModelWriter.write(out, false, m, result, new ObjectMapper().createObjectNode().put("method", "gblm"),
                    null);
        }
        long tWrite = System.nanoTime();
        double grad = result.phaseSeconds().getOrDefault("gradients", 0.0);
        double masks = result.phaseSeconds().getOrDefault("masks", 0.0);
        System.out.printf(Locale.ROOT, "prune: %.1f s (gradient pass %.1f s = %.1f s/sample, masks %.1f s); "
                + "sparsity %.4f%n", (tPrune - tLoad) / 1e9, grad, grad / samples, masks, result.overallSparsity());
        System.out.printf(Locale.ROOT, "gradient pass: %.1f GFLOP (linears 8NT incl. recompute, head 4VdT, attention)"
                + " -> %.1f GFLOP/s = %.2f of ceiling%n", work / 1e9, work / grad / 1e9, work / grad / 1e9 / ceiling);
        System.out.printf(Locale.ROOT, "phases (s): %s%n", result.phaseSeconds());
        System.out.printf(Locale.ROOT, "write: %.1f s -> %s%n", (tWrite - tPrune) / 1e9, out);
        try (LlamaModel again = LlamaModel.load(Checkpoints.load(out))) {
            int[] few = java.util.Arrays.copyOf(cal.get(0), Math.min(16, cal.get(0).length));
            System.out.printf(Locale.ROOT, "reloaded output: mean NLL %.4f on %d tokens%n", again.loss(few).meanNll(),
                    few.length - 1);
        }
        sampler.interrupt();
        sampler.join();
        System.out.printf(Locale.ROOT, "peak RSS %d MiB, peak anonymous (RssAnon) %d MiB, peak spill files %d MiB "
                + "(sampled every 0.2 s), VmHWM %d MiB; spill left after the run: %d bytes; total %.1f s%n",
                peakRss.get() / 1024, peakAnon.get() / 1024, peakSpill.get() >> 20, ProcStatus.kb("VmHWM") / 1024,
                spillBytes(spillParent), (System.nanoTime() - t0) / 1e9);
        if (spillDir == null) {
            Files.deleteIfExists(spillParent);
        }
        return 0;
    }

    /** Bytes in the {@code gblm-spill-*} directories under {@code parent} now (files may vanish while counted). */
    private static long spillBytes(Path parent) {
        long n = 0;
        try (Stream<Path> dirs = Files.list(parent)) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                try (Stream<Path> files = Files.list(d)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        n += sizeOrZero(f);
                    }
                } catch (IOException e) {
                    // the directory was deleted while listed
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return n;
    }

    private static long sizeOrZero(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }
}
