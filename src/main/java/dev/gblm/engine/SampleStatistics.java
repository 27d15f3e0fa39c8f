package dev.gblm.engine;

import dev.gblm.stats.ModuleStats;
import java.util.function.Consumer;

/**
 * Statistics of a growing set of samples, handed out one module at a time: what a streaming worker needs from the
 * engine for one slice. {@link StatsCollector} runs each sample as it is added (sums of the whole model kept between
 * samples); {@link LayerBatchCollector} keeps only the token ids and runs every sample at once, layer by layer, when
 * the statistics are asked for (one layer's sums at a time).
 */
public interface SampleStatistics extends AutoCloseable {
    /** Adds one sample (token ids, BOS included). */
    void addSample(int[] tokens);

    /** Samples added since the last reset. */
    long samples();

    /**
     * Hands every module's statistics of the samples added so far to {@code out}, one module on the heap at a time;
     * the order of modules is the implementation's. A module passed to {@code out} is not used again by the caller.
     */
    void forEachModule(Consumer<ModuleStats> out);

    /** Forgets every sample and sum. */
    void reset();

    @Override
    void close();
}
