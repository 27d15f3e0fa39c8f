package dev.gblm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.EvalProtocols;
import dev.gblm.eval.Generator;
import dev.gblm.eval.Perplexity;
import dev.gblm.model.Checkpoints;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Map.Entry;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gblm demo}: the whole story on the bundled stories260K model. Calibration text is sampled from the model
 * itself (fixed seed), ingested into two streams, pruned by a streaming gblm job (50% unstructured) through the
 * {@code gblm run} machinery, and the export is evaluated against the dense model on held-out text.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, subcommands = DomainShiftDemo.class,
        description = "End-to-end demo on models/stories260K: generate calibration text, stream it through Kafka, prune "
                + "with GBLM (50%%), compare dense vs pruned perplexity.")
final class DemoCommand implements Callable<Integer> {
    static final Path DEFAULT_MODEL = Path.of("models", "stories260K", "stories260K.bin");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec
    CommandSpec spec;
    @Option(names = "--samples", defaultValue = "128", description = "calibration documents to generate (default: ${DEFAULT-VALUE})")
    int samples;
    @Option(names = "--model", paramLabel = "PATH", description = "model to prune (default: models/stories260K/stories260K.bin in the working directory or next to the jar)")
    Path model;
    @Option(names = "--out", paramLabel = "DIR", description = "where to keep the export (default: a temporary directory)")
    Path out;
    @Option(names = "--seed", defaultValue = "1234", description = "seed of the generated calibration text (default ${DEFAULT-VALUE})")
    long seed;
    @Option(names = "--max-tokens", defaultValue = "64", description = "tokens generated per document (default ${DEFAULT-VALUE})")
    int maxTokens;

    @Override
    public Integer call() throws Exception {
        if (samples < 2) {
            throw new GblmException("--samples must be >= 2");
        }
        PrintStream o = System.out;
        Path modelPath = model != null ? model : locateModel();
        Path work = Files.createTempDirectory("gblm-demo");
        Path outDir = out != null ? out : work.resolve("out");
        Map<String, Double> phases = new LinkedHashMap<>();

        long t0 = System.nanoTime();
        Tokenizer tok = Tokenizers.load(modelPath, null);
        // a 260K-parameter model: one intra-op thread is faster than two fighting over small matmuls
        LlamaModel.setComputeThreads(1);
        List<String> docs;
        try (LlamaModel dense = LlamaModel.load(Checkpoints.load(modelPath))) {
            docs = generate(dense, tok, samples, seed);
        }
        Path a = work.resolve("stream-a.jsonl");
        Path b = work.resolve("stream-b.jsonl");
        writeJsonl(a, docs.subList(0, samples / 2));
        writeJsonl(b, docs.subList(samples / 2, samples));
        phases.put("generate calibration text", secs(t0));
        System.err.println("generated " + samples + " calibration documents (seed " + seed + ")");

        ModelReady ready;
        long t1 = System.nanoTime();
        PipelineSettings po = PipelineSettings.builder(modelPath, outDir).samplesPerSlice(16)
                .maxSliceAge(Duration.ofSeconds(2)).instance("demo").build();
        try (Pipeline p = new Pipeline(po)) {
            p.start();
            phases.put("start broker + pipeline", secs(t1));
            long t2 = System.nanoTime();
            p.ingest(a, "demo-a", DocumentReader.Format.JSONL);
            p.ingest(b, "demo-b", DocumentReader.Format.JSONL);
            p.submit(new JobSpec("demo-gblm", "0000000000000000", List.of("demo-a", "demo-b"), "gblm", 0.5, "unstructured",
                    null, "l1", samples, 0, 0));
            if (!p.awaitFirstEpochs(Duration.ofMinutes(20))) {
                throw new GblmException("the demo job was not exported in time");
            }
            ready = p.exported().get("demo-gblm/1");
            phases.put("stream: ingest -> exported epoch", secs(t2));
        }

        long t3 = System.nanoTime();
        String heldOutName;
        List<int[]> heldOut;
        Path stories = locateShared("corpora/tinystories_val_head.txt");
        if (stories != null) {
            heldOut = EvalProtocols.chunkSequences(Files.readString(stories), tok, 512, 0, 100);
            heldOutName = "TinyStories validation, first 100 stories (" + stories + ")";
        } else {
            try (LlamaModel dense = LlamaModel.load(Checkpoints.load(modelPath))) {
                heldOut = new ArrayList<>();
                for (String d : generate(dense, tok, 32, seed + 1_000_003)) {
                    heldOut.add(withBos(tok, d));
                }
            }
            heldOutName = "32 documents sampled from the model with seed " + (seed + 1_000_003);
        }
        double densePpl;
        double prunedPpl;
        try (LlamaModel dense = LlamaModel.load(Checkpoints.load(modelPath));
                LlamaModel pruned = LlamaModel.load(Checkpoints.load(Path.of(ready.path())))) {
            densePpl = Perplexity.evaluate(dense, heldOut, null).perplexity();
            prunedPpl = Perplexity.evaluate(pruned, heldOut, null).perplexity();
        }
        phases.put("evaluate dense + pruned", secs(t3));

        o.println();
        o.println("gblm demo: stories260K, GBLM-Pruner (gradient + activation scores), 50% unstructured, streamed through Kafka");
        o.println("held-out text: " + heldOutName);
        o.printf(Locale.ROOT, "%-34s %s%n", "", "value");
        o.printf(Locale.ROOT, "%-34s %.3f%n", "dense perplexity", densePpl);
        o.printf(Locale.ROOT, "%-34s %.3f%n", "pruned perplexity", prunedPpl);
        o.printf(Locale.ROOT, "%-34s %.4f%n", "sparsity (prunable linears)", ready.sparsity());
        o.printf(Locale.ROOT, "%-34s %d (%d tokens, %d slices)%n", "calibration samples", ready.samples(), ready.tokens(), ready.slices());
        o.printf(Locale.ROOT, "%-34s %s%n", "streams", String.join(", ", ready.streams()));
        o.printf(Locale.ROOT, "%-34s %s%n", "export", ready.path());
        for (Entry<String, Double> e : phases.entrySet()) {
            o.printf(Locale.ROOT, "%-34s %.1f s%n", "time: " + e.getKey(), e.getValue());
        }
        o.printf(Locale.ROOT, "%-34s %.1f s%n", "time: total", secs(t0));
        o.flush();
        return 0;
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static int[] withBos(Tokenizer tok, String d) {
        int[] enc = tok.encode(d);
        int[] ids = new int[Math.min(enc.length + 1, 513)];
        ids[0] = tok.bosId();
        System.arraycopy(enc, 0, ids, 1, ids.length - 1);
        return ids;
    }

    /** Documents sampled from the model (temperature 1, one seed per document, so the set is reproducible). */
    private List<String> generate(LlamaModel m, Tokenizer tok, int n, long baseSeed) {
        Generator g = new Generator(m, tok);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String text = g.generate("", maxTokens, 1.0, baseSeed + i).strip();
            out.add(text.isEmpty() ? "Once upon a time" : text);
            if ((i + 1) % 32 == 0) {
                System.err.println("  generated " + (i + 1) + "/" + n);
            }
        }
        return out;
    }

    private static void writeJsonl(Path file, List<String> docs) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (String d : docs) {
                w.write(JSON.writeValueAsString(Map.of("text", d)));
                w.write('\n');
            }
        }
    }

    /** models/stories260K in the working directory, or next to / above the jar. */
    static Path locateModel() {
        List<Path> candidates = new ArrayList<>();
        candidates.add(DEFAULT_MODEL);
        Path jarDir = jarDir();
        if (jarDir != null) {
            candidates.add(jarDir.resolve(DEFAULT_MODEL));
            if (jarDir.getParent() != null) {
                candidates.add(jarDir.getParent().resolve(DEFAULT_MODEL));
            }
        }
        for (Path c : candidates) {
            if (Files.isRegularFile(c)) {
                return c;
            }
        }
        throw new GblmException("bundled model not found (looked for " + candidates + "); run from the gblm directory or give --model PATH");
    }

    private static Path locateShared(String rel) {
        for (Path base : List.of(Path.of("..", "shared", "data"), Path.of("shared", "data"))) {
            Path p = base.resolve(rel);
            if (Files.isRegularFile(p)) {
                return p.toAbsolutePath().normalize();
            }
        }
        return null;
    }

    private static Path jarDir() {
        try {
            Path p = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return Files.isDirectory(p) ? p : p.getParent();
        } catch (Exception e) {
            return null;
        }
    }
}
