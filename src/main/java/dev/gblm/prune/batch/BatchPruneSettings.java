package dev.gblm.prune.batch;

import dev.gblm.GblmException;
import dev.gblm.engine.SpillSettings;
import dev.gblm.engine.StatsPass;
import dev.gblm.prune.PruneSettings;
import java.util.Objects;

/**
 * What a {@link BatchPruner} run does.
 *
 * @param config    the pruning method, sparsity pattern, gradient norm and tail rule
 * @param mode      where each layer's activation statistics come from (one-shot or sequential)
 * @param gradScale gradient scale {@code s} of the gradient statistics
 * @param keepStats return the statistics used in the result (and collect ACT for SparseGPT too)
 * @param statsPass how gradient statistics are differentiated: layer by layer or over the whole model at once
 *                  (the same statistics; see {@link StatsPass})
 * @param spill     when and where the layer pass moves boundary activations and sequential mode's gradient sums to
 *                  disk ({@link SpillSettings})
 */
public record BatchPruneSettings(PruneSettings config, PruneMode mode, float gradScale, boolean keepStats,
        StatsPass statsPass, SpillSettings spill) {
    public static final float DEFAULT_GRAD_SCALE = 100f;

    public BatchPruneSettings {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(statsPass, "statsPass");
        Objects.requireNonNull(spill, "spill");
        if (!(gradScale > 0) || Float.isInfinite(gradScale)) {
            throw new GblmException("gradient scale must be a positive number, got " + gradScale);
        }
    }

    /** Settings with the default spill settings ({@link SpillSettings#defaults()}). */
    public BatchPruneSettings(PruneSettings config, PruneMode mode, float gradScale, boolean keepStats,
            StatsPass statsPass) {
        this(config, mode, gradScale, keepStats, statsPass, SpillSettings.defaults());
    }

    /** Settings with the default statistics pass ({@link StatsPass#DEFAULT}) and spill settings. */
    public BatchPruneSettings(PruneSettings config, PruneMode mode, float gradScale, boolean keepStats) {
        this(config, mode, gradScale, keepStats, StatsPass.DEFAULT);
    }

    public BatchPruneSettings withStatsPass(StatsPass pass) {
        return new BatchPruneSettings(config, mode, gradScale, keepStats, pass, spill);
    }

    public BatchPruneSettings withSpill(SpillSettings settings) {
        return new BatchPruneSettings(config, mode, gradScale, keepStats, statsPass, settings);
    }

    /** These settings with another pruning configuration and {@code keepStats} (an alpha search's runs). */
    public BatchPruneSettings with(PruneSettings cfg, boolean keep) {
        return new BatchPruneSettings(cfg, mode, gradScale, keep, statsPass, spill);
    }

    /** The default gradient scale, statistics not kept. */
    public static BatchPruneSettings of(PruneSettings config, PruneMode mode) {
        return new BatchPruneSettings(config, mode, DEFAULT_GRAD_SCALE, false);
    }
}
