package dev.gblm.prune.batch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.prune.PruneSettings;
import java.util.Map;

/** The method/options/calibration/timing part of {@code report.json} of a batch run (the writer adds the rest). */
public final class PruneReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PruneReport() {}

    /**
     * @param calibrationFile the calibration file as given (null for magnitude without one)
     * @param calibration the samples offered (null when none were read)
     */
    public static ObjectNode batch(BatchPruneSettings options, BatchPruner.Result result, String calibrationFile,
            CalibrationSet calibration, int seqLen, double totalSeconds) {
        ObjectNode r = JSON.createObjectNode();
        r.put("tool", "gblm prune");
        PruneSettings c = options.config();
        r.put("method", c.method().cliName());
        ObjectNode opt = r.putObject("options");
        opt.put("method", c.method().cliName());
        opt.put("gradNorm", c.gradNorm().cliName());
        opt.put("gradScale", options.gradScale());
        putAlpha(opt, "alpha", c.alphaFor(options.gradScale()));
        opt.put("normalization", c.normalization().cliName());
        opt.put("sparsity", c.pattern().sparsity());
        opt.put("pattern", c.pattern().patternName());
        opt.put("tailRule", c.tailRule().name().toLowerCase(java.util.Locale.ROOT));
        opt.put("mode", options.mode().cliName());
        opt.put("statsPass", options.statsPass().cliName());
        opt.put("seqLen", seqLen);
        r.put("mode", options.mode().cliName());
        ObjectNode cal = r.putObject("calibration");
        cal.put("file", calibrationFile);
        cal.put("samplesUsed", result.samples());
        cal.put("tokensUsed", result.tokens());
        cal.put("documentsRead", calibration == null ? 0 : calibration.documentsRead());
        cal.put("skippedDocuments", calibration == null ? 0 : calibration.skipped());
        ObjectNode t = r.putObject("timings");
        for (Map.Entry<String, Double> e : result.phaseSeconds().entrySet()) {
            t.put(e.getKey() + "Seconds", e.getValue());
        }
        t.put("totalSeconds", totalSeconds);
        return r;
    }

    /** A finite alpha as a number, infinity (gradient only) as the string {@code "inf"} (JSON has no infinity). */
    static void putAlpha(ObjectNode n, String field, double alpha) {
        if (Double.isInfinite(alpha)) {
            n.put(field, "inf");
        } else {
            n.put(field, alpha);
        }
    }

    /**
     * Adds the automatic-alpha search to a batch report: {@code options.alpha} becomes the chosen alpha and
     * {@code autoAlpha} holds the grid with each point's held-out perplexity.
     *
     * @param heldOutSource where the held-out text came from (a file, or the calibration file after its samples)
     * @param heldOutSequences held-out sequences evaluated per point
     */
    public static void addAutoAlpha(ObjectNode report, AlphaSearch.Outcome outcome, String heldOutSource,
            int heldOutSequences) {
        ObjectNode opt = (ObjectNode) report.get("options");
        putAlpha(opt, "alpha", outcome.chosen().alpha());
        opt.put("alphaChoice", "auto");
        ObjectNode a = report.putObject("autoAlpha");
        putAlpha(a, "chosen", outcome.chosen().alpha());
        a.put("criterion", "lowest held-out perplexity");
        a.put("statistics", outcome.statisticsOnce() ? "collected once, every alpha re-masks from them (one-shot)"
                : "collected again for every alpha (sequential: each layer's inputs depend on the earlier masks)");
        ObjectNode h = a.putObject("heldOut");
        h.put("source", heldOutSource);
        h.put("sequences", heldOutSequences);
        h.put("tokens", outcome.chosen().heldOutTokens());
        ArrayNode grid = a.putArray("grid");
        for (AlphaSearch.Point p : outcome.points()) {
            ObjectNode g = grid.addObject();
            putAlpha(g, "alpha", p.alpha());
            g.put("label", p.label());
            g.put("heldOutPerplexity", p.heldOutPerplexity());
            g.put("heldOutMeanNll", p.heldOutMeanNll());
            g.put("sparsity", p.sparsity());
            g.put("seconds", p.seconds());
        }
    }
}
