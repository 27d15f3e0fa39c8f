package dev.gblm.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.GblmException;
import dev.gblm.engine.LlamaModel;
import dev.gblm.model.Checkpoint;
import dev.gblm.prune.GradNorm;
import dev.gblm.prune.Method;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.SparsityPattern;
import dev.gblm.prune.TailRule;
import dev.gblm.prune.batch.BatchPruneSettings;
import dev.gblm.prune.batch.BatchPruner;
import dev.gblm.prune.batch.CalibrationSet;
import dev.gblm.prune.batch.PruneMode;
import dev.gblm.prune.batch.PruneProgress;
import dev.gblm.prune.batch.PruneReport;
import dev.gblm.prune.batch.PrunedModelWriter;
import dev.gblm.tokenizer.Tokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
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
        if (!(gradScale > 0) || Float.isInfinite(gradScale)) {
            throw new GblmException("--grad-scale must be a positive number, got " + gradScale);
        }
        if (samples <= 0) {
            throw new GblmException("--samples must be positive, got " + samples);
        }
        PrunedModelWriter.checkTarget(out, force);
        boolean calibrated = config.method() != Method.MAGNITUDE;
        if (calibrated && calibration == null) {
            throw new GblmException("--calibration FILE is required for " + config.method());
        }
        String text = calibration == null ? null : CliFiles.readText(calibration);

        Checkpoint ckpt = model.checkpoint();
        int context = ckpt.config().maxPositionEmbeddings();
        int len = seqLen == null ? context : seqLen;
        if (len < 2 || len > context) {
            throw new GblmException("--seq-len must be in 2.." + context + " (the model's context), got " + len);
        }
        CalibrationSet cal = null;
        if (text != null) {
            Tokenizer tok = model.tokenizer();
            boolean jsonl = CalibrationSet.isJsonLines(calibration.getFileName().toString(), text);
            cal = CalibrationSet.build(CalibrationSet.documents(text, jsonl), tok, samples, len);
            if (cal.samples().isEmpty()) {
                throw new GblmException("calibration file " + calibration + " has no usable document ("
                        + cal.documentsRead() + " read, " + cal.skipped() + " under two tokens)");
            }
            err.printf(Locale.ROOT, "calibration: %d samples, %d tokens (%d documents read, %d skipped)%n", cal.samples().size(),
                    cal.tokens(), cal.documentsRead(), cal.skipped());
        }

        BatchPruneSettings options = new BatchPruneSettings(config, pruneMode, gradScale, false);
        ObjectNode report;
        try (LlamaModel m = model.load(ckpt)) {
            BatchPruner.Result result = BatchPruner.prune(m, cal == null ? java.util.List.of() : cal.samples(),
                    options, new ConsoleProgress(err));
            double seconds = (System.nanoTime() - start) / 1e9;
            ObjectNode partial = PruneReport.batch(options, result, calibration == null ? null : calibration.toString(),
                    cal, len, seconds);
            report = PrunedModelWriter.write(out, force, m, result, partial, model.tokenizer);
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
        return new PruneSettings(m, norm, p, tail);
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
            if (current == null || !phase.equals(this.phase)) {
                this.phase = phase;
                current = Progress.on(err, phase + ":", total, "samples").since(phaseStart);
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
