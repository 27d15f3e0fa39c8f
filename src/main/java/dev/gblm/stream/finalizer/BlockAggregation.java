package dev.gblm.stream.finalizer;

import dev.gblm.prune.MagnitudeThreshold;
import dev.gblm.prune.Mask;
import dev.gblm.prune.Pruner;
import dev.gblm.stats.ModuleStats;
import dev.gblm.stats.StatsCodec;
import dev.gblm.stream.JobSpec;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
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
        return sum(null, records);
    }

    /**
     * {@code base} (a stored base sum, {@link #encodeBase}; null = none) followed by every record, summed in that order:
     * the left fold of the base's slices and then these, so base + slices equals summing all of them one by one.
     */
    public static ModuleStats sum(byte[] base, List<byte[]> records) {
        ModuleStats acc = base == null ? null : decodeBase(base);
        for (byte[] r : records) {
            ModuleStats s = StatsCodec.decode(r);
            acc = acc == null ? s : acc.mergeInPlace(s);
        }
        if (acc == null) {
            throw new IllegalArgumentException("no statistics to sum");
        }
        return acc;
    }

    /** A block's base sum as stored: its version (the epoch it equals, 4 bytes big-endian), then the statistics. */
    public static byte[] encodeBase(int version, ModuleStats sum) {
        byte[] stats = StatsCodec.encode(sum);
        return ByteBuffer.allocate(Integer.BYTES + stats.length).putInt(version).put(stats).array();
    }

    /** The version of a stored base; 0 for none. */
    public static int baseVersion(byte[] base) {
        return base == null ? 0 : ByteBuffer.wrap(base).getInt();
    }

    public static ModuleStats decodeBase(byte[] base) {
        return StatsCodec.decode(Arrays.copyOfRange(base, Integer.BYTES, base.length));
    }

    /**
     * The block's mask for {@code spec}. {@code weights} are rows {@code [rowStart,rowEnd)}; {@code stats} may be null
     * for magnitude. {@code magnitudeThreshold} is required for unstructured magnitude (see {@link MagnitudeThreshold}).
     */
    public static Mask mask(JobSpec spec, float[] weights, int rowStart, int rowEnd, int in, ModuleStats stats,
            Float magnitudeThreshold) {
        return mask(spec, null, weights, rowStart, rowEnd, in, stats, magnitudeThreshold);
    }

    /**
     * As {@link #mask(JobSpec, float[], int, int, int, ModuleStats, Float)} for statistics collected at gradient scale
     * {@code gradScale} (the profile's {@code s}; needed when the job has an explicit alpha, null = unknown).
     */
    public static Mask mask(JobSpec spec, Float gradScale, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats, Float magnitudeThreshold) {
        if (spec.needsMatrixThreshold() && magnitudeThreshold == null) {
            // a row block cannot compute the matrix's threshold itself
            throw new IllegalArgumentException("unstructured magnitude needs the matrix threshold");
        }
        return Pruner.mask(spec.pruneSettings(), gradScale == null ? Float.NaN : gradScale, weights, rowStart, rowEnd, in,
                stats, magnitudeThreshold);
    }

    /**
     * The block's masks: for an {@code alpha=auto} job one per alpha of its grid, in grid order, all from the same
     * summed {@code stats} (only scoring and selection repeat); for every other job the one {@link #mask}.
     */
    public static List<Mask> masks(JobSpec spec, Float gradScale, float[] weights, int rowStart, int rowEnd, int in,
            ModuleStats stats, Float magnitudeThreshold) {
        List<Double> grid = spec.alphaGridValues();
        if (grid == null) {
            return List.of(mask(spec, gradScale, weights, rowStart, rowEnd, in, stats, magnitudeThreshold));
        }
        List<Mask> out = new ArrayList<>(grid.size());
        for (double alpha : grid) {
            out.add(Pruner.mask(spec.pruneSettings(alpha), gradScale == null ? Float.NaN : gradScale, weights, rowStart,
                    rowEnd, in, stats, magnitudeThreshold));
        }
        return out;
    }
}
