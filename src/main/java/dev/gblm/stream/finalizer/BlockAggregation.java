package dev.gblm.stream.finalizer;

import dev.gblm.prune.MagnitudeThreshold;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Pruner;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.JobSpec;
import java.util.List;

/**
 * The pure core of a block task: decode and sum one block's per-slice statistics records (in the epoch's order),
 * then select the block's mask through {@link Pruner#mask}, the one scoring/selection entry point the batch pruner
 * uses too. No Kafka here, so the processor, the tests and the benchmark run the same code.
 */
public final class BlockAggregation {
    private BlockAggregation() {}

    /** Decodes every record and sums them in list order (left fold, like merging slices one after another). */
    public static ModuleStats sum(List<byte[]> records) {
        if (records.isEmpty()) {
            throw new IllegalArgumentException("no statistics to sum");
        }
        ModuleStats acc = StatsCodec.decode(records.get(0));
        for (int i = 1; i < records.size(); i++) {
            acc.mergeInPlace(StatsCodec.decode(records.get(i)));
        }
        return acc;
    }

    /**
     * The block's mask for {@code spec}. {@code weights} are rows {@code [rowStart,rowEnd)}; {@code stats} may be null
     * for magnitude. {@code magnitudeThreshold} is required for unstructured magnitude (see {@link MagnitudeThreshold}).
     */
    public static Mask mask(JobSpec spec, float[] weights, int rowStart, int rowEnd, int in, ModuleStats stats,
            Float magnitudeThreshold) {
        if (spec.needsMatrixThreshold() && magnitudeThreshold == null) {
            // a row block cannot compute the matrix's threshold itself
            throw new IllegalArgumentException("unstructured magnitude needs the matrix threshold");
        }
        return Pruner.mask(spec.pruneSettings(), weights, rowStart, rowEnd, in, stats, magnitudeThreshold);
    }
}
