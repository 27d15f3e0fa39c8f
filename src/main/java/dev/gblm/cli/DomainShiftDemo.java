package dev.gblm.cli;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.EvalProtocols;
import dev.gblm.eval.Perplexity;
import dev.gblm.model.Checkpoints;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.ModelReady;
import dev.gblm.stream.ingest.DocumentReader;
import dev.gblm.stream.pipeline.Pipeline;
import dev.gblm.stream.pipeline.PipelineSettings;
import dev.gblm.stream.topics.TopicAdmin;
import dev.gblm.stream.topics.TopicCatalog;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code gblm demo shift}: continuous re-pruning through a domain shift. One re-pruning job (window = refresh) is
 * pruned on TinyStories-like text; then Wikipedia text streams into the same job's second stream, epoch 2 re-prunes on
 * it, and every model (dense, epoch 1, epoch 2) is evaluated on held-out text of both domains.
 */
@Command(name = "shift", mixinStandardHelpOptions = true,
        description = "Re-pruning through a domain shift on models/stories260K: epoch 1 on stories, then WikiText streams in and "
                + "epoch 2 re-prunes; prints every epoch's perplexity on held-out text of each domain.")
final class DomainShiftDemo implements Callable<Integer> {
    private static final Path EXAMPLES = Path.of("models", "examples");

    @Option(names = "--model", paramLabel = "PATH", description = "model (default: the bundled models/stories260K)")
    Path model;
    @Option(names = "--out", paramLabel = "DIR", description = "where to keep the exports (default: a temporary directory)")
    Path out;
    @Option(names = "--samples", defaultValue = "64", description = "samples per epoch: minSamples, refreshEvery and window of the job (default ${DEFAULT-VALUE})")
    int samples;
    @Option(names = "--method", defaultValue = "gblm", completionCandidates = Choices.StreamingMethods.class,
            description = "pruning score: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE})")
    String method;
    @Option(names = "--sparsity", defaultValue = "0.5", description = "fraction pruned, unstructured (default ${DEFAULT-VALUE})")
    double sparsity;

    /** One domain: its calibration and held-out documents (files of models/examples, blank-line separated). */
    private record Domain(String name, String stream, Path calibration, Path heldOut) {}

    @Override
    public Integer call() throws Exception {
        if (samples < 1 || samples > 64) {
            throw new GblmException("--samples must be in 1..64 (the example files hold 64 calibration documents per domain)");
        }
        Path modelPath = model != null ? model : DemoCommand.locateModel();
        Path examples = DemoCommand.locateModel().getParent().getParent().resolve("examples");
        if (!Files.isDirectory(examples)) {
            examples = EXAMPLES;
        }
        List<Domain> domains = List.of(
                new Domain("TinyStories", "stories", examples.resolve("stories-calib.txt"), examples.resolve("stories-eval.txt")),
                new Domain("WikiText", "wiki", examples.resolve("wiki-calib.txt"), examples.resolve("wiki-eval.txt")));
        for (Domain d : domains) {
            for (Path f : List.of(d.calibration(), d.heldOut())) {
                if (!Files.isRegularFile(f)) {
                    throw new GblmException("example text not found: " + f + " (run from the gblm directory)");
                }
            }
        }
        PrintStream err = System.err;
        Path work = Files.createTempDirectory("gblm-shift");
        Path outDir = out != null ? out : work.resolve("out");
        LlamaModel.setComputeThreads(1); // a 260K-parameter model: one intra-op thread beats two fighting over small matmuls
        String job = "shift";
        Map<Integer, ModelReady> epochs = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        PipelineSettings po = PipelineSettings.builder(modelPath, outDir).samplesPerSlice(16)
                .maxSliceAge(Duration.ofSeconds(2)).instance("shift").build();
        try (Pipeline p = new Pipeline(po)) {
            p.start();
            try (TopicAdmin admin = TopicAdmin.connect(p.kafka())) {
                for (Domain d : domains) {
                    admin.ensure(TopicCatalog.fromClasspath().calibrationTopic(d.stream())); // the job names both from the start
                }
            }
            p.submit(new JobSpec(job, "0000000000000000", domains.stream().map(Domain::stream).toList(), method, sparsity,
                    "unstructured", null, null, samples, samples, samples));
            for (int e = 1; e <= domains.size(); e++) {
                Domain d = domains.get(e - 1);
                Path docs = work.resolve(d.stream() + ".txt");
                List<String> all = CalibrationSet.documents(Files.readString(d.calibration()), false);
                Files.writeString(docs, String.join("\n\n", all.subList(0, Math.min(samples, all.size()))) + "\n");
                err.println("epoch " + e + ": streaming " + samples + " " + d.name() + " documents into stream " + d.stream());
                p.ingest(docs, d.stream(), DocumentReader.Format.TEXT);
                String key = job + "/" + e;
                long deadline = System.nanoTime() + Duration.ofMinutes(20).toNanos();
                while (!p.exported().containsKey(key)) {
                    if (System.nanoTime() > deadline) {
                        throw new GblmException("epoch " + e + " was not exported within 20 minutes");
                    }
                    Thread.sleep(100);
                }
                epochs.put(e, p.exported().get(key));
            }
        }
        double streamSeconds = (System.nanoTime() - t0) / 1e9;

        Tokenizer tok = Tokenizers.load(modelPath, null);
        Map<String, List<int[]>> heldOut = new LinkedHashMap<>();
        for (Domain d : domains) {
            heldOut.put(d.name(), EvalProtocols.chunkSequences(Files.readString(d.heldOut()), tok, 512, 0, Integer.MAX_VALUE));
        }
        Map<String, Path> models = new LinkedHashMap<>();
        models.put("dense", modelPath);
        for (Map.Entry<Integer, ModelReady> e : epochs.entrySet()) {
            models.put("epoch " + e.getKey() + " (" + domains.get(e.getKey() - 1).name() + ")", Path.of(e.getValue().path()));
        }
        List<String> rows = new ArrayList<>();
        for (Map.Entry<String, Path> m : models.entrySet()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %-22s |", m.getKey()));
            try (LlamaModel lm = LlamaModel.load(Checkpoints.load(m.getValue()))) {
                for (List<int[]> seqs : heldOut.values()) {
                    row.append(String.format(Locale.ROOT, " %10.3f |", Perplexity.evaluate(lm, seqs, null).perplexity()));
                }
            }
            rows.add(row.toString());
            err.println("evaluated " + m.getKey());
        }

        PrintStream o = System.out;
        o.println();
        o.printf(Locale.ROOT, "gblm demo shift: job %s (%s, %.0f%% unstructured, minSamples = refreshEvery = window = %d)%n",
                job, method, sparsity * 100, samples);
        o.println("held-out perplexity (lower is better):");
        o.println();
        StringBuilder header = new StringBuilder("| model                  |");
        StringBuilder rule = new StringBuilder("| ---                    |");
        for (String d : heldOut.keySet()) {
            header.append(String.format(Locale.ROOT, " %10s |", d));
            rule.append(" ---------: |");
        }
        o.println(header);
        o.println(rule);
        rows.forEach(o::println);
        o.println();
        for (ModelReady m : epochs.values()) {
            o.printf(Locale.ROOT, "epoch %d: %d samples of streams %s, sparsity %.4f, drift %s -> %s%n", m.epoch(), m.samples(),
                    String.join(",", m.streams()), m.sparsity(), m.drift() == null ? "-" : String.format(Locale.ROOT, "%.4f", m.drift()),
                    m.path());
        }
        o.printf(Locale.ROOT, "time: streaming both epochs %.1f s, total %.1f s%n", streamSeconds, (System.nanoTime() - t0) / 1e9);
        o.flush();
        return 0;
    }
}
