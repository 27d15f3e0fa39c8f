package dev.gblm.bench;

import dev.gblm.GblmException;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Re-pruning latency: two re-pruning gblm jobs on one stream, one with {@code window = 0} (base sums) and one with a
 * window of twice the refresh, both with {@code refreshEvery = minSamples = R}, fed R random-token documents per wave
 * with the {@code gblm run} machinery ({@link Pipeline}: embedded broker, 1 worker, finalizer, exporter); each wave
 * starts once the previous epoch of both jobs is exported. Epoch latency = {@link ModelReady#exportedAt()} minus
 * {@link ModelReady#lastSampleTimestamp()} (the newest sample of the epoch's own slices): the worker's compute for the
 * wave plus publish, declaration, block merges, export. It must not grow with the epoch number: a window-0 epoch merges
 * the base and R new samples, never all samples since the start.
 */
@Command(name = "epochs", mixinStandardHelpOptions = true,
        description = "Latency (last sample -> exported) of epochs 1..N of re-pruning jobs (window 0 and a window); "
                + "reports epoch N / epoch 1 per job.")
final class EpochsBench implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "PATH", description = "model (default: models/stories260K/stories260K.bin)")
    Path model = Path.of("models", "stories260K", "stories260K.bin");

    @Option(names = "--epochs", defaultValue = "10", description = "epochs per job (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--refresh", defaultValue = "32", description = "samples per wave = refreshEvery = minSamples (default ${DEFAULT-VALUE})")
    int refresh;

    @Option(names = "--seq-len", defaultValue = "128", description = "tokens per random document (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--samples-per-slice", defaultValue = "16", description = "worker slice size (default ${DEFAULT-VALUE})")
    int samplesPerSlice;

    @Override
    public Integer call() throws Exception {
        if (epochs < 2 || refresh < 1 || seqLen < 2 || samplesPerSlice < 1) {
            throw new GblmException("need --epochs >= 2, --refresh >= 1, --seq-len >= 2, --samples-per-slice >= 1");
        }
        if (!Files.isRegularFile(model) && !Files.isDirectory(model)) {
            throw new GblmException("model not found: " + model + " (run from the repository root or pass --model)");
        }
        PrintStream out = System.out;
        Checkpoint ckpt = Checkpoints.load(model);
        Path dir = Files.createTempDirectory("gblm-bench-epochs");
        List<JobSpec> jobs = List.of(job("epochs-all", 0), job("epochs-window", 2L * refresh));
        long[][] latencyMs = new long[jobs.size()][epochs];
        try {
            PipelineSettings o = PipelineSettings.builder(model, dir.resolve("out")).dataDir(dir.resolve("run"))
                    .workers(1).samplesPerSlice(samplesPerSlice).maxSliceAge(Duration.ofSeconds(1)).instance("bench-epochs")
                    .progress(null).build();
            SplittableRandom rnd = new SplittableRandom(7);
            out.printf(Locale.ROOT, "model %s; %d epochs; waves of %d random documents x %d tokens; slices of %d%n", model,
                    epochs, refresh, seqLen, samplesPerSlice);
            try (Pipeline p = new Pipeline(o).start()) {
                // untimed warm-up on another stream (engine start, JIT, first producer connections, and the worker's
                // rebalance onto both new topics), so epoch 1 is measured on a warm pipeline like the later ones
                try (TopicAdmin admin = TopicAdmin.connect(p.kafka())) {
                    admin.ensure(TopicCatalog.fromClasspath().calibrationTopic("bench-epochs"));
                }
                Path warm = dir.resolve("warm-up.jsonl");
                PipelineBench.writeJsonl(warm, RandomCheckpoints.documents(rnd, refresh, seqLen, ckpt.config().vocabSize()), "warm-");
                p.ingest(warm, "bench-warm-up", DocumentReader.Format.JSONL);
                p.submit(new JobSpec("warm-up", "0000000000000000", List.of("bench-warm-up"), "gblm", 0.5, "unstructured",
                        null, "l1", refresh, 0, 0));
                if (!p.awaitFirstEpochs(Duration.ofMinutes(10))) {
                    throw new GblmException("the warm-up epoch was not exported in 10 min");
                }
                for (JobSpec j : jobs) {
                    p.submit(j);
                }
                for (int e = 1; e <= epochs; e++) {
                    Path wave = dir.resolve("wave-" + e + ".jsonl");
                    PipelineBench.writeJsonl(wave, RandomCheckpoints.documents(rnd, refresh, seqLen, ckpt.config().vocabSize()),
                            "wave" + e + "-");
                    p.ingest(wave, "bench-epochs", DocumentReader.Format.JSONL);
                    long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
                    for (int j = 0; j < jobs.size(); j++) {
                        ModelReady r;
                        while ((r = p.exported().get(jobs.get(j).id() + "/" + e)) == null) {
                            if (System.nanoTime() > deadline) {
                                throw new GblmException("epoch " + e + " of " + jobs.get(j).id() + " not exported in 10 min");
                            }
                            Thread.sleep(20);
                        }
                        latencyMs[j][e - 1] = r.exportedAt() - r.lastSampleTimestamp();
                        out.printf(Locale.ROOT, "%-14s epoch %2d: %4d samples, latency %6d ms%n", jobs.get(j).id(), e,
                                r.samples(), latencyMs[j][e - 1]);
                    }
                }
            }
        } finally {
            PipelineBench.deleteTree(dir);
        }
        out.println();
        List<Integer> shown = new ArrayList<>(List.of(1, Math.min(5, epochs), epochs));
        for (int j = 0; j < jobs.size(); j++) {
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-14s", jobs.get(j).id()));
            for (int e : shown.stream().distinct().toList()) {
                sb.append(String.format(Locale.ROOT, "  epoch %d %6d ms", e, latencyMs[j][e - 1]));
            }
            sb.append(String.format(Locale.ROOT, "  ratio epoch%d/epoch1 %.2f, epoch%d/epoch1 %.2f", shown.get(1),
                    (double) latencyMs[j][shown.get(1) - 1] / latencyMs[j][0], epochs,
                    (double) latencyMs[j][epochs - 1] / latencyMs[j][0]));
            out.println(sb);
        }
        return 0;
    }

    private JobSpec job(String id, long window) {
        return new JobSpec(id, "0000000000000000", List.of("bench-epochs"), "gblm", 0.5, "unstructured", null, "l1",
                refresh, refresh, window);
    }
}
