package dev.gblm.report;

import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.eval.EvalProtocols;
import dev.gblm.model.Checkpoint;
import dev.gblm.model.Checkpoints;
import dev.gblm.model.LinearKind;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.tokenizer.Tokenizer;
import dev.gblm.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "quality", mixinStandardHelpOptions = true,
        description = "Prune stories260K with every method × {50%% unstructured, 2:4, 4:8} × {sequential, one-shot}, "
                + "sweep unstructured sparsity, measure TinyStories perplexity, and write docs/quality.md and a PNG plot.")
final class QualityCommand implements Callable<Integer> {
    static final String EVAL_FILE = "corpora/tinystories_val_head.txt";
    static final String CALIB_FILE = "corpora/tinystories_calib_128.txt";
    /** First held-out chunk of the validation head: after evaluation (0..99) and calibration (500..627). */
    static final int HOLDOUT_OFFSET = 1000;

    @Option(names = "--model", description = "model (default: models/stories260K, else DATA/models/stories260K.bin)")
    Path model;

    @Option(names = "--tokenizer", description = "tokenizer file (default: found next to the model)")
    Path tokenizer;

    @Option(names = "--data", defaultValue = "../shared/data", description = "shared data directory (default ${DEFAULT-VALUE})")
    Path data;

    @Option(names = "--out", defaultValue = "docs/quality.md", description = "Markdown report (default ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--plot", defaultValue = "docs/quality-sparsity.png", description = "PNG plot (default ${DEFAULT-VALUE})")
    Path plot;

    @Option(names = "--samples", defaultValue = "128", description = "calibration samples (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--eval-chunks", defaultValue = "100", description = "evaluation chunks (default ${DEFAULT-VALUE})")
    int evalChunks;

    @Option(names = "--methods", split = ",", description = "methods to run (default: all: magnitude, wanda, sparsegpt, "
            + "gradient-l1, gradient-l2, gblm-l1, gblm-l2)")
    List<String> methods;

    @Option(names = "--sweep", split = ",", description = "unstructured sparsities of the plot (default 0.1,...,0.7; "
            + "'none' for no sweep)")
    List<String> sweep;

    @Option(names = "--tail-rule", defaultValue = "proportional",
            description = "N:M trailing partial group: proportional or reference (default ${DEFAULT-VALUE})")
    String tailRule;

    @Option(names = "--grad-scale", defaultValue = "100", description = "gradient scale s (default ${DEFAULT-VALUE})")
    float gradScale;

    @Option(names = "--auto-alpha", description = "add the automatic-alpha section: gblm-l1 with alpha chosen by "
            + "held-out perplexity vs alpha 100 vs Wanda, 50%% unstructured and 2:4, one-shot and sequential")
    boolean autoAlpha;

    @Option(names = "--auto-alpha-grid", split = ",", paramLabel = "a,b,...", description = "with --auto-alpha: the "
            + "alphas to try; must hold 0 and 100 (default 0,1,10,100,1000,10000,inf)")
    List<String> autoAlphaGrid;

    @Option(names = "--holdout-chunks", defaultValue = "64", description = "with --auto-alpha: held-out chunks, from "
            + "chunk " + HOLDOUT_OFFSET + " of the validation head on (default ${DEFAULT-VALUE})")
    int holdoutChunks;

    @Option(names = "--threads", defaultValue = "1", description = "PyTorch intra-op threads (default ${DEFAULT-VALUE}: "
            + "on a small, shared machine one thread is much faster for this tiny model)")
    int threads;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        PrintWriter err = spec.commandLine().getErr();
        QualityGrid grid = grid();
        TailRule tail = parseTail(tailRule);
        if (samples <= 0 || evalChunks <= 0) {
            throw new GblmException("--samples and --eval-chunks must be positive");
        }
        List<Double> alphaGrid = AlphaSearch.parseGrid(autoAlphaGrid == null
                ? AlphaSearch.DEFAULT_GRID.stream().map(AlphaSearch::number).toList() : autoAlphaGrid);
        if (autoAlpha && holdoutChunks <= 0) {
            throw new GblmException("--holdout-chunks must be positive, got " + holdoutChunks);
        }
        if (threads <= 0) {
            throw new GblmException("--threads must be positive, got " + threads);
        }
        Path modelPath = resolveModel();
        Path evalFile = requireFile(data.resolve(EVAL_FILE));
        Path calibFile = requireFile(data.resolve(CALIB_FILE));
        if (out.getFileName() == null || Files.isDirectory(out)) {
            throw new GblmException("--out must be a file path, got " + out);
        }
        String date = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'"));
        MachineInfo machine = MachineInfo.detect();

        LlamaModel.setComputeThreads(threads);
        Checkpoint ckpt = Checkpoints.load(modelPath);
        Tokenizer tok = Tokenizers.load(modelPath, tokenizer);
        int context = ckpt.config().maxSequenceLength(); // the sliding window when shorter
        List<int[]> evalSet = EvalProtocols.chunkSequences(read(evalFile), tok, context, 0, evalChunks);
        EvalProtocols.requireSome(evalSet, evalFile.toString());
        CalibrationSet cal = CalibrationSet.build(CalibrationSet.documents(read(calibFile), false), tok, samples, context);
        if (cal.samples().isEmpty()) {
            throw new GblmException("calibration file " + calibFile + " has no usable document");
        }
        List<int[]> heldOut = List.of();
        if (autoAlpha) {
            heldOut = EvalProtocols.chunkSequences(read(evalFile), tok, context, HOLDOUT_OFFSET, holdoutChunks);
            EvalProtocols.requireSome(heldOut, evalFile + " (held-out chunks from " + HOLDOUT_OFFSET + ")");
        }
        List<RunSpec> runs = grid.allRuns();
        err.printf(Locale.ROOT, "quality report: %d runs + dense; eval %d chunks, calibration %d samples (%d tokens), "
                + "%d thread(s)%n", runs.size(), evalSet.size(), cal.samples().size(), cal.tokens(), threads);

        RunResult dense;
        Map<RunSpec, RunResult> results;
        String autoAlphaSection = "";
        List<TailNote.RowLength> rowLengths = new ArrayList<>();
        try (LlamaModel m = LlamaModel.load(ckpt)) {
            for (LinearKind k : LinearKind.values()) {
                rowLengths.add(new TailNote.RowLength(k.shortName(), m.weightShape(0, k)[1]));
            }
            QualityRunner runner = new QualityRunner(m, cal.samples(), evalSet, tail, gradScale, err);
            dense = runner.dense();
            results = runner.run(runs);
            if (autoAlpha) {
                long ta = System.nanoTime();
                List<AutoAlphaSection.Outcome> outcomes = AutoAlphaSection.run(runner, m, cal.samples(), heldOut,
                        evalSet, tail, gradScale, alphaGrid, err);
                String held = String.format(Locale.ROOT, "chunks %d..%d of `%s` (%d chunks, %d predicted tokens, "
                        + "the evaluation protocol)", HOLDOUT_OFFSET, HOLDOUT_OFFSET + heldOut.size() - 1, EVAL_FILE,
                        heldOut.size(), outcomes.get(0).search().chosen().heldOutTokens());
                autoAlphaSection = AutoAlphaSection.render(outcomes, held, alphaGrid, cal.samples().size())
                        + String.format(Locale.ROOT, "The four searches took %s s in all.%n%n",
                                Fmt.seconds((System.nanoTime() - ta) / 1e9));
            }
        }

        String plotRel = null;
        if (!grid.sweepSparsities().isEmpty()) {
            writeAtomically(plot, SweepPlot.png(sweepSeries(grid, results), dense.perplexity(),
                    "stories260K: TinyStories perplexity vs unstructured sparsity (" + grid.sweepMode().cliName() + ")"));
            Path base = out.toAbsolutePath().getParent();
            plotRel = base.relativize(plot.toAbsolutePath()).toString().replace('\\', '/');
            err.println("wrote " + plot);
        }
        List<String> tailNotes = new ArrayList<>();
        for (SparsityPattern p : grid.patterns()) {
            if (p.isNm()) {
                String note = TailNote.describe(p, rowLengths, tail);
                if (!note.isBlank()) {
                    tailNotes.add(note);
                }
            }
        }
        if (tailNotes.isEmpty()) {
            tailNotes.add("every row length is a multiple of M; rule " + TailNote.name(tail) + ".");
        }
        List<String> protocol = protocol(modelPath, ckpt, evalSet, dense, cal, context, grid);
        QualityReport.Inputs inputs = new QualityReport.Inputs(grid, dense, orderedForReport(grid, results), machine,
                commandLine(), date, protocol, String.join(" ", tailNotes), plotRel, (System.nanoTime() - start) / 1e9,
                threads);
        writeAtomically(out, QualityReport.render(inputs, autoAlphaSection).getBytes(StandardCharsets.UTF_8));
        err.printf(Locale.ROOT, "wrote %s (%.0f s)%n", out, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    QualityGrid grid() {
        List<MethodVariant> vs = methods == null || methods.isEmpty() ? List.of(MethodVariant.values())
                : methods.stream().map(MethodVariant::parse).distinct().toList();
        List<Double> sw;
        if (sweep == null || sweep.isEmpty()) {
            sw = QualityGrid.standardSweep();
        } else if (sweep.size() == 1 && sweep.get(0).trim().equalsIgnoreCase("none")) {
            sw = List.of();
        } else {
            sw = new ArrayList<>();
            for (String s : sweep) {
                double d;
                try {
                    d = Double.parseDouble(s.trim());
                } catch (NumberFormatException e) {
                    throw new GblmException("--sweep: '" + s + "' is not a number");
                }
                if (!(d > 0 && d < 1)) {
                    throw new GblmException("--sweep sparsities must be in (0, 1), got " + s);
                }
                sw.add(d);
            }
            sw = sw.stream().distinct().sorted().toList();
        }
        return new QualityGrid(vs, QualityGrid.standardPatterns(), List.of(PruneMode.SEQUENTIAL, PruneMode.ONE_SHOT),
                sw, PruneMode.SEQUENTIAL);
    }

    static TailRule parseTail(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "proportional" -> TailRule.PROPORTIONAL;
            case "reference" -> TailRule.REFERENCE;
            default -> throw new GblmException("unknown --tail-rule '" + s + "' (proportional or reference)");
        };
    }

    private Path resolveModel() {
        if (model != null) {
            if (!Files.exists(model)) {
                throw new GblmException("model not found: " + model);
            }
            return model;
        }
        Path bundled = Path.of("models/stories260K");
        if (Files.isDirectory(bundled)) {
            return bundled;
        }
        return requireFile(data.resolve("models/stories260K.bin"));
    }

    private static Path requireFile(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new GblmException("file not found: " + p + " (set --data to the shared data directory)");
        }
        return p;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Table runs first (their order), then the remaining sweep points. */
    static Map<RunSpec, RunResult> orderedForReport(QualityGrid grid, Map<RunSpec, RunResult> results) {
        Map<RunSpec, RunResult> m = new LinkedHashMap<>();
        for (RunSpec r : grid.allRuns()) {
            if (results.containsKey(r)) {
                m.put(r, results.get(r));
            }
        }
        return m;
    }

    static List<SweepPlot.Series> sweepSeries(QualityGrid grid, Map<RunSpec, RunResult> results) {
        List<String> names = new ArrayList<>();
        List<Map<Double, Double>> pts = new ArrayList<>();
        for (MethodVariant v : grid.methods()) {
            Map<Double, Double> p = new LinkedHashMap<>();
            for (double s : grid.sweepSparsities()) {
                RunResult r = results.get(RunSpec.of(v, SparsityPattern.unstructured(s), grid.sweepMode()));
                if (r != null) {
                    p.put(s, r.perplexity());
                }
            }
            names.add(v.label());
            pts.add(p);
        }
        return SweepPlot.seriesOf(names, pts);
    }

    private List<String> protocol(Path modelPath, Checkpoint ckpt, List<int[]> evalSet, RunResult dense,
            CalibrationSet cal, int context, QualityGrid grid) {
        var c = ckpt.config();
        List<String> p = new ArrayList<>();
        p.add(String.format(Locale.ROOT, "Model: `%s` (%s; hidden %d, intermediate %d, %d layers, %d heads, %d KV heads, "
                + "vocab %d, context %d), float32 on the PyTorch CPU engine.", modelPath, ckpt.format(),
                c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(),
                c.vocabSize(), context));
        p.add(String.format(Locale.ROOT, "Evaluation: TinyStories chunk perplexity — `%s` split on blank lines, the "
                + "first %d chunks, each `[BOS] + encode(chunk)` truncated to %d tokens; token-weighted mean next-token "
                + "NLL over %d predicted tokens; perplexity = exp(mean NLL).", EVAL_FILE, evalSet.size(), context + 1,
                dense.tokens()));
        p.add(String.format(Locale.ROOT, "Calibration: `%s` (chunks 500..627 of the validation head, disjoint from the "
                + "evaluation chunks), the first %d documents, each `[BOS] + encode(document)` truncated to %d tokens: "
                + "%d samples, %d tokens (%d skipped). Gradient scale %s; gradients always from the dense model.",
                CALIB_FILE, samples, context, cal.samples().size(), cal.tokens(), cal.skipped(),
                trim(gradScale)));
        p.add("Methods: magnitude (|W|; unstructured uses one threshold per matrix, as the reference code; N:M per "
                + "group), wanda (|W|·‖X‖), sparsegpt (OBS with weight update, 1% dampening, 128-column blocks), "
                + "gradient-l1/l2 (|W|·G), gblm-l1/l2 (|W|·‖X‖ + |W|·G), G from the l1 or l2 norm of the scaled "
                + "per-sample gradients. Score patterns are per output row (unstructured) or per group of M "
                + "consecutive inputs (N:M).");
        p.add("Modes: sequential (the paper's: layer l's activation statistics and Hessians are taken on inputs that "
                + "passed through the already pruned layers 0..l-1) and one-shot (every statistic from the dense model).");
        if (!grid.sweepSparsities().isEmpty()) {
            p.add("Sweep: unstructured sparsity " + grid.sweepSparsities().stream()
                    .map(s -> String.format(Locale.ROOT, "%.2f", s)).collect(Collectors.joining(", "))
                    + " in " + grid.sweepMode().cliName() + " mode (the paper's).");
        }
        p.add("Each run starts from the dense weights kept in memory (one model load for the whole report); no "
                + "checkpoint is written.");
        return p;
    }

    private static String trim(float f) {
        return f == Math.rint(f) ? String.valueOf((long) f) : String.valueOf(f);
    }

    private String commandLine() {
        // originalArgs() holds the whole command line from the root command on ("report quality ...")
        List<String> args = spec.commandLine().getParseResult().originalArgs();
        StringBuilder sb = new StringBuilder("java -jar target/gblm.jar");
        for (String a : args) {
            sb.append(' ').append(a.matches("[A-Za-z0-9_./:=,@+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return sb.toString();
    }

    private static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path abs = target.toAbsolutePath();
        Files.createDirectories(abs.getParent());
        Path tmp = Files.createTempFile(abs.getParent(), "." + abs.getFileName(), ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
