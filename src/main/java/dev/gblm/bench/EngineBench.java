package dev.gblm.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.core.Linear;
import dev.gblm.engine.LayerMajorPass;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import dev.gblm.model.LlamaConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Measures, in one run, the DJL float32 matmul ceiling and the forward+backward throughput of a
 * generated random LLaMA, with the process RSS after every sample.
 */
@Command(name = "engine", mixinStandardHelpOptions = true,
        description = "DJL float32 matmul ceiling vs forward+backward throughput of a random ~25M-parameter LLaMA.")
final class EngineBench implements Callable<Integer> {
    @Option(names = "--samples", defaultValue = "100", description = "measured samples (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--warmup", defaultValue = "3", description = "unmeasured samples first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--tokens", defaultValue = "512", description = "tokens per sample (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--stats-pass", defaultValue = "model", description = "model = LlamaModel.forwardBackward (the "
            + "engine's whole-network pass), layer = LayerMajorPass (one layer's graph at a time, recomputing each "
            + "layer's forward) (default: ${DEFAULT-VALUE})")
    String statsPass;

    @Mixin
    RandomModelOptions shape = new RandomModelOptions();

    @Mixin
    ComputeThreadsOption threads = new ComputeThreadsOption();

    @Override
    public Integer call() {
        threads.apply();
        StatsPass pass = StatsPass.parse(statsPass);
        LlamaConfig cfg = shape.config(Math.max(tokens, 512));
        Checkpoint ck = RandomCheckpoints.uniform(cfg, 1234);
        try (LlamaModel model = LlamaModel.load(ck)) {
            double ceiling = matmulRate(10, model.device());
            long linParams = layerLinearParams(cfg);
            long headParams = (long) cfg.vocabSize() * cfg.hiddenSize();
            double T = tokens;
            // work actually required: layer linears fwd 2 + bwd 4 (dX, dW); frozen lm_head fwd 2 + bwd dX 2;
            // attention QK^T and PV over the full TxT square: fwd 4*T^2*d, bwd twice that, per layer
            double attn = 12.0 * cfg.numLayers() * T * T * cfg.hiddenSize();
            double work = 6.0 * linParams * T + 4.0 * headParams * T + attn;
            double convention = 6.0 * (linParams + headParams) * T + attn;
            // the layer-major pass also recomputes every layer's forward (linears 2*N*T, attention 4*L*T^2*d)
            double recompute = pass == StatsPass.LAYER ? 2.0 * linParams * T + attn / 3 : 0;

            SplittableRandom rnd = new SplittableRandom(7);
            int[] toks = new int[tokens];
            long[] rss = new long[samples];
            double[] secs = new double[samples];
            double[] ratios = new double[samples];
            for (int i = -warmup; i < samples; i++) {
                for (int t = 0; t < tokens; t++) {
                    toks[t] = rnd.nextInt(cfg.vocabSize());
                }
                // The ceiling is re-measured next to every sample, so the ratio holds under shared-CPU noise.
                double localCeiling = matmulRate(2, model.device());
                long t0 = System.nanoTime();
                if (pass == StatsPass.LAYER) {
                    LayerMajorPass.forwardBackward(model, toks, null, null);
                } else {
                    model.forwardBackward(toks, null, null);
                }
                double s = (System.nanoTime() - t0) / 1e9;
                localCeiling = Math.max(localCeiling, matmulRate(2, model.device()));
                if (i >= 0) {
                    secs[i] = s;
                    ratios[i] = work / s / 1e9 / localCeiling;
                    rss[i] = ProcStatus.kb("VmRSS");
                    if ((i + 1) % 10 == 0 || i == samples - 1) {
                        System.err.printf("sample %d/%d  %.3fs  RSS %d MiB%n", i + 1, samples, s, rss[i] / 1024);
                    }
                }
            }
            double[] sorted = secs.clone();
            Arrays.sort(sorted);
            double median = sorted[samples / 2];
            double mean = Arrays.stream(secs).average().orElse(Double.NaN);
            double workGflops = work / mean / 1e9;
            System.out.printf("machine: %d cores, PyTorch intra-op threads %s%n",
                    Runtime.getRuntime().availableProcessors(), threads.describe());
            System.out.printf("matmul ceiling (float32, 2048x2048x2048, best of 10): %.1f GFLOP/s%n", ceiling);
            System.out.printf("model: %s (tied): %.2fM layer params + %.2fM embedding/head%n", shape.describe(),
                    linParams / 1e6, headParams / 1e6);
            System.out.printf("pass: %s%n", pass.cliName());
            System.out.printf("forward+backward, %d tokens/sample, %d samples: mean %.3fs, median %.3fs -> %.0f tokens/s%n",
                    tokens, samples, mean, median, tokens / mean);
            System.out.printf("achieved (required work %.1f GFLOP/sample): %.1f GFLOP/s = %.2f of ceiling%n",
                    work / 1e9, workGflops, workGflops / ceiling);
            double[] sr = ratios.clone();
            Arrays.sort(sr);
            System.out.printf("ratio to the matmul rate measured right before/after each sample: median %.2f "
                    + "(min %.2f, max %.2f)%n", sr[samples / 2], sr[0], sr[samples - 1]);
            System.out.printf("achieved (6*N*T+attention convention, N incl. lm_head, %.1f GFLOP/sample): "
                    + "%.1f GFLOP/s = %.2f of ceiling%n", convention / 1e9, convention / mean / 1e9,
                    convention / mean / 1e9 / ceiling);
            if (recompute > 0) {
                System.out.printf("achieved counting the recomputed forward (%.1f GFLOP/sample): %.1f GFLOP/s = %.2f of "
                        + "ceiling, per-sample ratio median %.2f%n", (work + recompute) / 1e9,
                        (work + recompute) / mean / 1e9, (work + recompute) / mean / 1e9 / ceiling,
                        sr[samples / 2] * (work + recompute) / work);
            }
            int firstQuarter = Math.max(0, samples / 4 - 1);
            long maxAfter = Arrays.stream(rss, firstQuarter, samples).max().orElse(0);
            System.out.printf("RSS: after sample 1 %d MiB, after %d %d MiB, last %d MiB, max after warm-up %d MiB, "
                    + "peak (VmHWM) %d MiB%n", rss[0] / 1024, firstQuarter + 1, rss[firstQuarter] / 1024,
                    rss[samples - 1] / 1024, maxAfter / 1024, ProcStatus.kb("VmHWM") / 1024);
        }
        return 0;
    }

    /** Best GFLOP/s of a large square float32 matmul through DJL over {@code reps} runs (+1 warm-up). */
    static double matmulRate(int reps, Device device) {
        int n = 2048;
        try (NDManager m = NDManager.newBaseManager(device, "PyTorch")) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            double best = 0;
            for (int i = -1; i < reps; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = Linear.linear(a, b).singletonOrThrow()) {
                    c.getFloat(0, 0); // force completion
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (i >= 0) {
                    best = Math.max(best, 2.0 * n * n * n / s / 1e9);
                }
            }
            return best;
        }
    }

    /** Reads fields of /proc/self/status (kB); 0 where unavailable. */
    static final class ProcStatus {
        static long kb(String field) {
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith(field + ":")) {
                        return Long.parseLong(line.replaceAll("[^0-9]", ""));
                    }
                }
            } catch (IOException | NumberFormatException e) {
                return 0;
            }
            return 0;
        }
    }

    /** Parameters of the seven linears of every decoder layer (what the statistics and masks cover). */
    static long layerLinearParams(LlamaConfig cfg) {
        long n = 0;
        for (LinearKind k : LinearKind.values()) {
            long[] s = Checkpoints.linearShape(cfg, k);
            n += s[0] * s[1];
        }
        return n * cfg.numLayers();
    }
}
