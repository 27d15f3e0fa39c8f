package dev.gblm.stream.exporter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gblm.prune.Mask;
import dev.gblm.prune.PruneSettings;
import dev.gblm.prune.batch.AlphaSearch;
import dev.gblm.prune.batch.MaskFile;
import dev.gblm.prune.batch.PruneReport;
import dev.gblm.stats.ModuleKey;
import dev.gblm.stream.EpochRecord;
import dev.gblm.stream.JobSpec;
import dev.gblm.stream.ModelReady;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The streaming part of an epoch's {@code report.json}: the batch report's fields ({@code method}, {@code options},
 * {@code mode}, {@code calibration}) filled from the epoch record, plus job, epoch, streams, slices, timestamps,
 * drift, and the declaration ({@code finalizer}, {@code declaration} = {@link EpochExports#declaration} of the
 * record) so a later exporter can tell which of two declarations of the epoch this directory holds.
 * {@link dev.gblm.prune.batch.PrunedModelWriter} adds source and sparsity, exactly as for a batch run.
 */
final class ExportReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ExportReport() {}

    static final String DECLARATION = "declaration";

    static ObjectNode of(EpochRecord e, Double drift, long exportedAt) {
        JobSpec j = e.spec();
        ObjectNode r = JSON.createObjectNode();
        r.put("tool", "gblm exporter");
        r.put("job", e.job());
        r.put("epoch", e.epoch());
        r.put("profile", e.profile());
        r.put("finalizer", e.finalizer());
        r.put(DECLARATION, EpochExports.declaration(e));
        r.put("method", j.method());
        ObjectNode opt = r.putObject("options");
        opt.put("method", j.method());
        opt.put("gradNorm", j.gradNorm());
        opt.put("sparsity", j.sparsity());
        opt.put("pattern", j.pattern());
        opt.put("tailRule", j.tailRule());
        opt.put("mode", "one-shot");
        opt.put("minSamples", j.minSamples());
        r.put("mode", "one-shot");
        ObjectNode cal = r.putObject("calibration");
        cal.put("samplesUsed", e.samples());
        cal.put("tokensUsed", e.tokens());
        ArrayNode streams = cal.putArray("streams");
        e.streams().forEach(streams::add);
        ArrayNode slices = cal.putArray("slices");
        e.sliceIds().forEach(slices::add);
        cal.put("slicesUsed", e.sliceIds().size());
        r.put("samples", e.samples());
        r.put("tokens", e.tokens());
        r.set("streams", streams.deepCopy());
        r.put("slicesUsed", e.sliceIds().size());
        if (drift == null) {
            r.putNull("drift");
        } else {
            r.put("drift", drift);
        }
        ObjectNode t = r.putObject("timestamps");
        t.put("lastSample", e.lastSampleTimestamp());
        t.put("declared", e.declaredAt());
        t.put("exported", exportedAt);
        return r;
    }

    /** The object of {@code report.json} that records an {@code alpha=auto} epoch's grid and choice. */
    static final String AUTO_ALPHA = "autoAlpha";

    /**
     * Adds the choice of an {@code alpha=auto} epoch in the batch report's shape ({@link PruneReport#addAutoAlpha}:
     * {@code options.alpha} = the chosen alpha, {@code autoAlpha} {chosen, criterion, heldOut, grid}), plus
     * {@code chosenIndex} and, when no grid point had a finite held-out perplexity, {@code fallback} saying the
     * smallest alpha was exported.
     *
     * @param heldOut the chosen point's {@code heldOut} object (null when nothing was evaluated)
     */
    static void addAutoAlpha(ObjectNode report, EpochRecord e, AlphaSearch.Outcome outcome, int chosenIndex,
            boolean fallback, JsonNode heldOut) {
        String set = heldOut == null ? "" : heldOut.path("set").asText("");
        PruneReport.addAutoAlpha(report, outcome, "held-out records of the job's streams (fraction " + e.spec().holdout()
                + (set.isEmpty() ? "" : ", set " + set) + ")", heldOut == null ? 0 : heldOut.path("samples").asInt(0));
        ObjectNode a = (ObjectNode) report.get(AUTO_ALPHA);
        a.put("chosenIndex", chosenIndex);
        if (fallback) {
            a.put("fallback", "no alpha of the grid had a finite held-out perplexity: the smallest alpha was exported");
        }
    }

    /** The chosen alpha and the grid's figures of a report's {@code autoAlpha} object, for the model-ready event. */
    static String chosenAlpha(JsonNode autoAlpha) {
        return autoAlpha == null ? null : alphaText(autoAlpha.get("chosen"));
    }

    static List<ModelReady.AlphaPoint> alphaGrid(JsonNode autoAlpha) {
        if (autoAlpha == null || !autoAlpha.path("grid").isArray()) {
            return null;
        }
        List<ModelReady.AlphaPoint> out = new ArrayList<>();
        for (JsonNode g : autoAlpha.get("grid")) {
            JsonNode p = g.get("heldOutPerplexity");
            boolean finite = p != null && p.isNumber() && Double.isFinite(p.asDouble());
            out.add(new ModelReady.AlphaPoint(alphaText(g.get("alpha")), finite ? p.asDouble() : null));
        }
        return out;
    }

    /** A report's alpha ({@code "inf"} or a number) as the job's alpha text. */
    private static String alphaText(JsonNode alpha) {
        if (alpha == null || alpha.isNull()) {
            return null;
        }
        return alpha.isNumber() ? PruneSettings.alphaText(alpha.asDouble()) : alpha.asText();
    }

    /**
     * Fraction of mask bits that differ from the previous epoch's {@code masks.bin}, or null when there is none
     * (first epoch) or its modules do not match.
     */
    static Double drift(Path previousMasks, Map<ModuleKey, Mask> masks) {
        if (previousMasks == null || !Files.isRegularFile(previousMasks)) {
            return null;
        }
        List<MaskFile.Entry> prev = MaskFile.read(previousMasks);
        long diff = 0;
        long total = 0;
        int matched = 0;
        for (MaskFile.Entry p : prev) {
            Mask now = null;
            for (Map.Entry<ModuleKey, Mask> e : masks.entrySet()) {
                if (e.getKey().layer() == p.layer() && e.getKey().kind().shortName().equals(p.module())) {
                    now = e.getValue();
                }
            }
            if (now == null || now.rows() != p.mask().rows() || now.cols() != p.mask().cols()) {
                return null;
            }
            diff += now.differences(p.mask());
            total += now.numel();
            matched++;
        }
        return matched != masks.size() || total == 0 ? null : (double) diff / total;
    }
}
