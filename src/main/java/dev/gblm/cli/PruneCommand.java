package dev.gblm.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.engine.SpillSettings;
import dev.gblm.engine.StatsPass;
import dev.gblm.model.Checkpoint;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.Normalization;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PruneProgress;
import dev.gblm.prune.batch.PruneReport;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "Prune a model (GBLM-Pruner, Wanda, SparseGPT, gradient or magnitude) and write a Hugging Face "
                + "checkpoint, masks.bin and report.json.")
final class PruneCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--calibration", description = "calibration text: documents separated by blank lines, or JSON "
            + "Lines with a \"text\" field (.jsonl or first character '{'). Not needed for magnitude.")
    Path calibration;

    @Option(names = "--samples", defaultValue = "128", description = "calibration samples (default ${DEFAULT-VALUE})")
    int samples;

    @Option(names = "--seq-len", description = "tokens per sample, BOS included (default: the model's context)")
    Integer seqLen;

    @Option(names = "--method", required = true, completionCandidates = Choices.Methods.class,
            description = "pruning method: ${COMPLETION-CANDIDATES}")
    String method;

    @Option(names = "--grad-norm", defaultValue = "l1", completionCandidates = Choices.GradNorms.class,
            description = "gradient norm of the gradient/gblm score: ${COMPLETION-CANDIDATES} (l1 is the paper's; default: ${DEFAULT-VALUE})")
    String gradNorm;

    @Option(names = "--grad-scale", defaultValue = "100", description = "gradient scale s (default ${DEFAULT-VALUE})")
    float gradScale;

    @Option(names = "--alpha", paramLabel = "NUMBER|inf|auto", description = "gblm only: weight of the gradient term, "
            + "in raw-gradient units: score = |W|*sqrt(A/N) + alpha*|W|*G (see docs/design.md). 0 = activation only "
            + "(Wanda), inf = gradient only, auto = the alpha of --alpha-grid with the lowest held-out perplexity "
            + "(default: the gradient scale s, the paper's score)")
    String alpha;

    @Option(names = "--normalization", completionCandidates = Choices.Normalizations.class, description = "gblm only: "
            + "${COMPLETION-CANDIDATES}; sum = the paper's sums over samples, mean = per-sample means (the gradient "
            + "term's weight then does not grow with --samples) (default: sum)")
    String normalization;

    @Option(names = "--alpha-grid", split = ",", paramLabel = "a,b,...", description = "with --alpha auto: the alphas "
            + "to try, numbers >= 0 or inf (default: 0,1,10,100,1000,10000,inf)")
    List<String> alphaGrid;

    @Option(names = "--holdout", paramLabel = "FILE", description = "with --alpha auto: held-out text (same formats as "
            + "--calibration), disjoint from calibration and evaluation text (default: the documents of the "
            + "calibration file that follow the calibration samples)")
    Path holdout;

    @Option(names = "--holdout-samples", defaultValue = "32", description = "with --alpha auto: held-out sequences "
            + "(default ${DEFAULT-VALUE})")
    int holdoutSamples;

    @Option(names = "--sparsity", description = "fraction to prune, in (0, 1); for N:M it must be N/M (may be omitted)")
    Double sparsity;

    @Option(names = "--pattern", defaultValue = "unstructured", completionCandidates = Choices.Patterns.class,
            description = "sparsity pattern: ${COMPLETION-CANDIDATES} or any other N:M (default: ${DEFAULT-VALUE})")
    String pattern;

    @Option(names = "--tail-rule", defaultValue = "proportional", completionCandidates = Choices.TailRules.class,
            description = "N:M trailing partial group: ${COMPLETION-CANDIDATES}; reference prunes N, proportional "
                    + "floor(N*width/M) (default: ${DEFAULT-VALUE})")
    String tailRule;

    @Option(names = "--mode", defaultValue = "sequential", completionCandidates = Choices.Modes.class,
            description = "${COMPLETION-CANDIDATES}: sequential is the paper's, one-shot takes all statistics from the "
                    + "dense model (default: ${DEFAULT-VALUE})")
    String mode;

    @Option(names = "--stats-pass", defaultValue = "layer", completionCandidates = Choices.StatsPasses.class,
            description = "how gradient statistics are computed, ${COMPLETION-CANDIDATES}: layer = one decoder layer's "
                    + "autograd graph at a time (less memory), model = the whole network's at once; the same "
                    + "statistics (default: ${DEFAULT-VALUE})")
    String statsPass;

    @Option(names = "--spill-dir", paramLabel = "DIR", description = "where temporary files go when pruning would "
            + "hold too much in memory: sequential gblm's dense gradient sums (over 1 GiB), the layer pass's boundary "
            + "activations and sequential mode's hidden states (over 2 GiB); deleted when pruning ends (default: the "
            + "JVM's java.io.tmpdir; needs about 4 bytes per linear parameter free)")
    Path spillDir;

    @Option(names = "--out", required = true, description = "output directory for the checkpoint, masks.bin and report.json (must not exist unless --force)")
    Path out;

    @Option(names = "--force", description = "replace an existing output directory")
    boolean force;

    @Option(names = "--json", description = "print the report as one JSON object instead of a line of text")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        long start = System.nanoTime();
        PrintWriter err = spec.commandLine().getErr();
        PruneSettings config = parseConfig();
        PruneMode pruneMode = PruneMode.parse(mode);
        StatsPass pass = StatsPass.parse(statsPass);
        boolean auto = alpha != null && alpha.trim().equalsIgnoreCase("auto");
        List<Double> grid = auto ? AlphaSearch.parseGrid(alphaGrid == null ? gridDefault() : alphaGrid) : List.of();
        if (!auto && (alphaGrid != null || holdout != null)) {
            throw new GblmException("--alpha-grid and --holdout go with --alpha auto");
        }
        if (auto && holdoutSamples <= 0) {
            throw new GblmException("--holdout-samples must be positive, got " + holdoutSamples);
        }
        if (!(gradScale > 0) || Float.isInfinite(gradScale)) {
            throw new GblmException("--grad-scale must be a positive number, got " + gradScale);
        }
        if (samples <= 0) {
            throw new GblmException("--samples must be positive, got " + samples);
        }
        if (spillDir != null && Files.exists(spillDir) && !Files.isDirectory(spillDir)) {
            throw new GblmException("--spill-dir " + spillDir + " is not a directory");
        }
        PrunedModelWriter.checkTarget(out, force);
        boolean calibrated = config.method() != Method.MAGNITUDE;
        if (calibrated && calibration == null) {
            throw new GblmException("--calibration FILE is required for " + config.method());
        }
        String text = calibration == null ? null : CliFiles.readText(calibration);

        Checkpoint ckpt = model.checkpoint();
        int context = ckpt.config().maxSequenceLength(); // the sliding window when shorter
        int len = seqLen == null ? context : seqLen;
        if (len < 2 || len > context) {
            throw new GblmException("--seq-len must be in 2.." + context + " (the model's context), got " + len);
        }
        CalibrationSet cal = null;
        List<int[]> heldOut = List.of();
        if (text != null) {
            Tokenizer tok = model.tokenizer();
            boolean jsonl = CalibrationSet.isJsonLines(calibration.getFileName().toString(), text);
            cal = CalibrationSet.build(CalibrationSet.documents(text, jsonl), tok, samples, len);
            if (cal.samples().isEmpty()) {
                throw new GblmException("calibration file " + calibration + " has no usable document ("
                        + cal.documentsRead() + " read, " + cal.skipped() + " under two tokens)");
            }
            heldOut = auto ? heldOut(text, cal, len) : List.of(); // refused before any work starts
            err.printf(Locale.ROOT, "calibration: %d samples, %d tokens (%d documents read, %d skipped)%n", cal.samples().size(),
                    cal.tokens(), cal.documentsRead(), cal.skipped());
        }

        String heldOutSource = !auto ? null : holdout != null ? holdout.toString()
                : calibration + " (" + heldOut.size() + " sequences from the documents after the calibration samples)";

        BatchPruneSettings options = new BatchPruneSettings(config, pruneMode, gradScale, false, pass,
                SpillSettings.defaults().inDirectory(spillDir));
        ObjectNode report;
        AlphaSearch.Outcome search = null;
        try (LlamaModel m = model.err(spec.commandLine().getErr()).load(ckpt)) {
            BatchPruner.Result result;
            if (auto) {
                err.printf(Locale.ROOT, "automatic alpha: %d values, held-out %d sequences (%s)%n", grid.size(),
                        heldOut.size(), heldOutSource);
                search = AlphaSearch.search(m, cal.samples(), heldOut, options, grid, new ConsoleProgress(err),
                        new AlphaProgress(err));
                result = search.result();
                options = options.with(config.withAlpha(search.chosen().alpha(), config.normalization()), false);
            } else {
                result = BatchPruner.prune(m, cal == null ? List.of() : cal.samples(), options, new ConsoleProgress(err));
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            ObjectNode partial = PruneReport.batch(options, result, calibration == null ? null : calibration.toString(),
                    cal, len, seconds);
            if (search != null) {
                PruneReport.addAutoAlpha(partial, search, heldOutSource, heldOut.size());
            }
            report = PrunedModelWriter.write(out, force, m, result, partial, model.tokenizer);
        }
        if (search != null && !json) {
            spec.commandLine().getOut().print("automatic alpha (lowest held-out perplexity, *):\n" + AlphaSearch.table(search));
        }
        if (json) {
            spec.commandLine().getOut().println(report.toString());
        } else {
            spec.commandLine().getOut().printf(Locale.ROOT, "pruned %s %s %s: sparsity %.4f, %d samples, %d tokens -> %s%n",
                    config.method(), config.pattern().patternName(), pruneMode,
                    report.get("sparsity").get("overall").asDouble(), report.get("calibration").get("samplesUsed").asInt(),
                    report.get("calibration").get("tokensUsed").asLong(), out);
        }
        spec.commandLine().getOut().flush();
        return 0;
    }

    private PruneSettings parseConfig() {
        Method m = Method.parse(method);
        if (sparsity != null && !(sparsity > 0 && sparsity < 1)) {
            throw new GblmException("--sparsity must be in (0, 1), got " + sparsity);
        }
        SparsityPattern p = SparsityPattern.parse(pattern, sparsity);
        GradNorm norm = GradNorm.parse(gradNorm);
        TailRule tail = switch (tailRule.trim().toLowerCase(Locale.ROOT)) {
            case "proportional" -> TailRule.PROPORTIONAL;
            case "reference" -> TailRule.REFERENCE;
            default -> throw new GblmException("unknown --tail-rule '" + tailRule + "' (proportional or reference)");
        };
        if (m != Method.GBLM && (alpha != null || normalization != null)) {
            throw new GblmException("--alpha and --normalization weigh gblm's gradient term: they go with --method gblm, "
                    + "not " + m.cliName());
        }
        Double a = alpha == null || alpha.trim().equalsIgnoreCase("auto") ? null : AlphaSearch.parseAlpha(alpha);
        Normalization n = normalization == null ? Normalization.SUM : Normalization.parse(normalization);
        return new PruneSettings(m, norm, p, tail, a, n);
    }

    private static List<String> gridDefault() {
        return AlphaSearch.DEFAULT_GRID.stream().map(AlphaSearch::number).toList();
    }

    /** Held-out sequences: from --holdout, else the calibration file's documents after the calibration samples. */
    private List<int[]> heldOut(String calibrationText, CalibrationSet cal, int len) {
        Tokenizer tok = model.tokenizer();
        List<String> docs;
        String what;
        if (holdout != null) {
            String t = CliFiles.readText(holdout);
            docs = CalibrationSet.documents(t, CalibrationSet.isJsonLines(holdout.getFileName().toString(), t));
            what = "held-out file " + holdout;
        } else {
            List<String> all = CalibrationSet.documents(calibrationText,
                    CalibrationSet.isJsonLines(calibration.getFileName().toString(), calibrationText));
            docs = all.subList(Math.min(cal.documentsRead(), all.size()), all.size());
            what = "calibration file " + calibration + " after its " + cal.documentsRead() + " calibration documents";
        }
        List<int[]> seqs = docs.isEmpty() ? List.of() : CalibrationSet.build(docs, tok, holdoutSamples, len).samples();
        if (seqs.isEmpty()) {
            throw new GblmException("--alpha auto needs held-out text: the " + what + " has no usable document; "
                    + "give --holdout FILE or fewer --samples");
        }
        return seqs;
    }

    /** One line per grid point on stderr. */
    private static final class AlphaProgress implements AlphaSearch.Listener {
        private final PrintWriter err;

        AlphaProgress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void started(int index, int total, double alpha) {
            err.printf(Locale.ROOT, "alpha %d/%d: %s%n", index + 1, total, AlphaSearch.label(alpha));
            err.flush();
        }

        @Override
        public void done(int index, int total, AlphaSearch.Point p) {
            err.printf(Locale.ROOT, "alpha %d/%d: %s -> held-out perplexity %.4f (%.1f s)%n", index + 1, total,
                    p.label(), p.heldOutPerplexity(), p.seconds());
            err.flush();
        }
    }

    /** Progress on stderr: a {@link Progress} line per phase, a line per pruned layer. */
    private static final class ConsoleProgress implements PruneProgress {
        private final PrintWriter err;
        private String phase;
        private Progress current;
        // the first sample callback comes after the first sample's work: rate and ETA count from the end of
        // whatever came before
        private long phaseStart = System.nanoTime();

        ConsoleProgress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void phase(String name) {
            phaseStart = System.nanoTime();
        }

        @Override
        public void sample(String phase, int done, int total) {
            update(phase, done, total, "samples");
        }

        @Override
        public void layers(String phase, int done, int total) {
            update(phase, done, total, "layers");
        }

        private void update(String phase, int done, int total, String unit) {
            if (current == null || !phase.equals(this.phase)) {
                this.phase = phase;
                current = Progress.on(err, phase + ":", total, unit).since(phaseStart);
            }
            current.update(done, "");
            if (done >= total) {
                phaseStart = System.nanoTime();
            }
        }

        @Override
        public void layerPruned(int layer, int layers) {
            phaseStart = System.nanoTime();
            err.printf(Locale.ROOT, "layer %d/%d pruned%n", layer + 1, layers);
            err.flush();
        }
    }
}
