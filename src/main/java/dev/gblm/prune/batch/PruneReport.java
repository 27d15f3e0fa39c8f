package dev.gblm.prune.batch;

import com.fasterxml.jackson.databind.ObjectMapper;
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
        opt.put("sparsity", c.pattern().sparsity());
        opt.put("pattern", c.pattern().patternName());
        opt.put("tailRule", c.tailRule().name().toLowerCase(java.util.Locale.ROOT));
        opt.put("mode", options.mode().cliName());
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
}
