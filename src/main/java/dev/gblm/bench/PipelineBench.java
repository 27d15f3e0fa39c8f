package dev.gblm.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LlamaConfig;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.Json;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Pipeline overhead: on the same samples of a generated random LLaMA, the time from the first ingested record to the
 * exported epoch with the {@code gblm run} machinery ({@link Pipeline}: embedded broker, 1 worker, finalizer,
 * exporter; started and warm before the clock starts, as a long-running deployment is) against {@link BatchPruner}
 * one-shot plus {@link PrunedModelWriter} (what {@code gblm prune --mode one-shot} does after loading the model).
 * Both in one run, in one process, with PyTorch's default compute threads (the worker is the only compute thread of
 * the pipeline).
 */
@Command(name = "pipeline", mixinStandardHelpOptions = true,
        description = "Streaming pipeline (gblm run machinery, 1 worker) vs batch one-shot prune on the same samples.")
final class PipelineBench implements Callable<Integer> {
    @Option(names = "--samples", defaultValue = "64", description = "calibration samples (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--seq-len", defaultValue = "512", description = "tokens per sample (default ${DEFAULT-VALUE})")
    int seqLen;

    @Option(names = "--method", defaultValue = "gblm", description = "wanda | gradient | gblm (default ${DEFAULT-VALUE})")
    String method;

    @Mixin
    RandomModelOptions shape = new RandomModelOptions();

    @Option(names = "--work-dir", description = "where the model, broker data and outputs go (default: a temporary "
            + "directory, deleted at the end)")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        PrintStream out = System.out;
        Method m = Method.parse(method);
        boolean temp = workDir == null;
        Path dir = temp ? Files.createTempDirectory("gblm-bench-pipeline") : Files.createDirectories(workDir);
        try {
            LlamaConfig cfg = shape.config(Math.max(seqLen, 512));
            Path modelDir = dir.resolve("model");
            Checkpoint random = RandomCheckpoints.uniform(cfg, 1234);
            Checkpoints.saveHf(random, modelDir);
            long linear = random.config().numLayers() * linearParamsPerLayer(cfg);
            List<int[]> docs = RandomCheckpoints.documents(new SplittableRandom(99), samples, seqLen, cfg.vocabSize());
            Path calib = dir.resolve("calib.jsonl");
            writeJsonl(calib, docs, "doc-");
            out.printf("model: random LLaMA %s (%.1fM linear params); %d samples x %d tokens; method %s 50%% "
                    + "unstructured, one-shot%n", shape.describe(), linear / 1e6, samples, seqLen, m.cliName());

            double batchSeconds = batch(modelDir, docs, m, dir.resolve("batch-out"), out);
            double pipelineSeconds = pipeline(modelDir, calib, m, dir, out);

            out.println();
            out.printf("batch one-shot (prune + write)          : %8.2f s%n", batchSeconds);
            out.printf("pipeline (first ingest -> exported epoch): %8.2f s%n", pipelineSeconds);
            out.printf("ratio pipeline / batch                  : %8.3f  (target <= 1.25)%n", pipelineSeconds / batchSeconds);
            return 0;
        } finally {
            if (temp) {
                deleteTree(dir);
            }
        }
    }

    private double batch(Path modelDir, List<int[]> docs, Method m, Path outDir, PrintStream out) {
        long t0 = System.nanoTime();
        try (LlamaModel model = LlamaModel.load(Checkpoints.load(modelDir))) {
            double load = (System.nanoTime() - t0) / 1e9;
            BatchPruneSettings opts = BatchPruneSettings.of(
                    new PruneSettings(m, GradNorm.L1, SparsityPattern.unstructured(0.5), TailRule.PROPORTIONAL),
                    PruneMode.ONE_SHOT);
            // untimed warm-up (engine start, JIT): the pipeline side runs later, on a warm JVM
            BatchPruner.prune(model, docs.subList(0, 1), opts, null);
            long t1 = System.nanoTime();
            BatchPruner.Result r = BatchPruner.prune(model, docs, opts, null);
            double prune = (System.nanoTime() - t1) / 1e9;
            long t2 = System.nanoTime();
            ObjectNode report = Json.mapper().createObjectNode().put("method", m.cliName()).put("mode", "one-shot");
            PrunedModelWriter.write(outDir, false, model, r, report, null);
            double write = (System.nanoTime() - t2) / 1e9;
            out.printf("batch: model load %.2f s (not counted), prune %.2f s %s, write %.2f s, sparsity %.4f%n", load,
                    prune, r.phaseSeconds(), write, r.overallSparsity());
            return prune + write;
        }
    }

    private double pipeline(Path modelDir, Path calib, Method m, Path dir, PrintStream out) throws Exception {
        // one slice for the whole run: every slice ships statistics twice the size of the model's linear weights, so
        // a deployment sizes slices to its sample rate; the age limit only guards a stalled stream
        PipelineSettings o = PipelineSettings.builder(modelDir, dir.resolve("pipeline-out")).dataDir(dir.resolve("run"))
                .seqLen(seqLen).workers(1).samplesPerSlice(samples).maxSliceAge(Duration.ofMinutes(30)).instance("bench")
                .progress(null).build();
        try (Pipeline p = new Pipeline(o).start()) {
            // the topic must exist before a job may name it: created empty, so the clock starts at the first record
            try (TopicAdmin admin = TopicAdmin.connect(p.kafka())) {
                admin.ensure(TopicCatalog.fromClasspath().calibrationTopic("bench"));
            }
            p.submit(new JobSpec("bench", "0000000000000000", List.of("bench"), m.cliName(), 0.5, "unstructured", null,
                    "l1", samples, 0, 0));
            long t0 = System.nanoTime();
            p.ingest(calib, "bench", DocumentReader.Format.JSONL);
            double ingest = (System.nanoTime() - t0) / 1e9;
            if (!p.awaitFirstEpochs(Duration.ofHours(2))) {
                throw new IllegalStateException("the epoch was not exported within 2 h");
            }
            double total = (System.nanoTime() - t0) / 1e9;
            ModelReady r = p.exported().get("bench/1");
            double sampleSeconds = p.metrics().meters().get("gblm.worker.sample").timer()
                    .totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) / 1e9;
            double flush = p.metrics().meters().get("gblm.worker.slice.flush").timer()
                    .totalTime(java.util.concurrent.TimeUnit.NANOSECONDS) / 1e9;
            out.printf("pipeline: ingest %.2f s, worker forward+backward %.2f s, slice publish+commit %.2f s, "
                    + "export %.2f s, %d samples, sparsity %.4f%n", ingest, sampleSeconds, flush, r.exportSeconds(),
                    r.samples(), r.sparsity());
            if (r.samples() != samples) {
                throw new IllegalStateException("the epoch has " + r.samples() + " samples, expected " + samples);
            }
            return total;
        }
    }

    private static long linearParamsPerLayer(LlamaConfig c) {
        long h = c.hiddenSize();
        long kv = (long) c.numKvHeads() * (h / c.numHeads());
        return h * h * 2 + h * kv * 2 + 3 * h * c.intermediateSize();
    }

    /** Token documents as JSONL, ids {@code <idPrefix><i>} (ingest skips ids a stream already holds). */
    static void writeJsonl(Path file, List<int[]> docs, String idPrefix) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < docs.size(); i++) {
            sb.append("{\"id\":\"").append(idPrefix).append(i).append("\",\"tokens\":[")
                    .append(IntStream.of(docs.get(i)).mapToObj(Integer::toString).collect(Collectors.joining(",")))
                    .append("]}\n");
        }
        Files.writeString(file, sb, StandardCharsets.UTF_8);
    }

    static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException | UncheckedIOException e) {
            System.err.println("could not delete " + dir + ": " + e.getMessage());
        }
    }
}
